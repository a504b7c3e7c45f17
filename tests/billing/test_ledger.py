"""The ledger through real sends: the pipeline against the emulator, real services and counters.
Every reserve ends in exactly one settle or release, whatever the outcome."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.accounts.models import Membership, Role, Team
from studio.billing import services as ledger
from studio.billing.models import EntryKind, Quota, SpendPeriod, UsageEntry
from studio.billing.pricing import response_cost
from studio.billing.selectors import prices_for_response, team_budget
from studio.catalogue.models import GeminiModel
from studio.chat import services
from studio.chat.models import Conversation, Response, ResponseStatus, Turn
from studio.chat.services import ChatError
from studio.generation import records
from tests.live_emulator import LiveEmulator
from tests.studio_world import join, make_conversation, make_user, personal_membership, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)


def entries(response: Response) -> list[tuple[str, Decimal]]:
    return list(UsageEntry.objects.filter(response_ref=response.pk).order_by("pk").values_list("kind", "amount_usd"))


def committed(team: Team) -> tuple[Decimal, int]:
    budget = team_budget(team)
    return budget.spent, budget.images


def unlimited(team: Team) -> Quota:
    quota = Quota.objects.get(team=team)
    quota.spend_limit_usd = quota.image_limit = None
    quota.save()
    return quota


def test_a_send_reserves_its_bound_and_settles_what_gemini_reported(gemini: LiveEmulator) -> None:
    user = make_user("ada")
    conversation = make_conversation(user)
    team = conversation.project.team
    turn = submit(conversation, user, "a lighthouse at dusk", count=2, image_size="2K", grounding=True)
    reserves = UsageEntry.objects.filter(kind=EntryKind.RESERVE, team=team)
    assert reserves.count() == 2
    bound = reserves.first().amount_usd
    assert committed(team) == (bound * 2, 2), "reserved at once, before any call"
    run_all()
    for response in turn.responses.all():
        assert response.status == ResponseStatus.SUCCEEDED
        queries = len(response.grounding["web_search_queries"])
        model = GeminiModel.objects.get(model_id=turn.model_id)
        cost = response_cost(prices_for_response(response.pk, model), response.usage, queries)
        assert cost == response.cost_usd and Decimal("0.13") < cost <= bound, "settled within the stated bound"
        assert entries(response) == [(EntryKind.RESERVE, bound), (EntryKind.SETTLE, cost)]
        settle = UsageEntry.objects.get(response_ref=response.pk, kind=EntryKind.SETTLE)
        assert settle.images == 1 and settle.search_queries == queries and settle.usage == response.usage
        assert settle.price_version_id is not None and not settle.estimated
    total = sum(turn.responses.values_list("cost_usd", flat=True), Decimal(0))
    assert committed(team) == (total, 2), "the counter now holds what was billed"


@pytest.mark.parametrize(
    ("marker", "kind", "images", "reason"),
    [
        ("image_safety", EntryKind.SETTLE, 0, "image_safety"),  # input and thinking billed, no image
        ("prompt_block", EntryKind.SETTLE, 0, "prompt_blocked"),  # input billed
        ("error=500", EntryKind.RELEASE, 0, "server"),  # nothing came back: nothing billed
    ],
)
def test_blocked_and_failed_sends_cost_what_google_bills(
    gemini: LiveEmulator, marker: str, kind: str, images: int, reason: str
) -> None:
    user = make_user("bo")
    conversation = make_conversation(user)
    turn = submit(conversation, user, f"a cat [[emulator: {marker}]]", retries=0)
    run_all()
    response = turn.responses.get()
    closing = UsageEntry.objects.get(response_ref=response.pk, kind__in=(EntryKind.SETTLE, EntryKind.RELEASE))
    assert (closing.kind, closing.images, closing.reason) == (kind, images, reason)
    if kind == EntryKind.SETTLE:
        assert closing.amount_usd == response.cost_usd > 0
        assert closing.amount_usd < Decimal("0.01"), "no image tokens billed"
    else:
        assert closing.amount_usd == 0
    assert committed(conversation.project.team) == (closing.amount_usd, 0)


def test_a_stream_broken_after_output_is_charged_its_reserved_bound(gemini: LiveEmulator) -> None:
    user = make_user("cy")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "a cat [[emulator: midstream_error=503@9]]", retries=3)
    run_all()
    response = turn.responses.get()
    assert response.error_code == "stream_broken"
    (reserved, reserve_amount), (kind, amount) = entries(response)
    assert (reserved, kind, amount) == (EntryKind.RESERVE, EntryKind.SETTLE, reserve_amount)
    assert UsageEntry.objects.get(response_ref=response.pk, kind=EntryKind.SETTLE).estimated


def test_retry_and_regenerate_reserve_anew_and_close_each_once(gemini: LiveEmulator) -> None:
    user = make_user("di")
    conversation = make_conversation(user)
    membership = personal_membership(user)
    turn = submit(conversation, user, "a cat")
    response = services.response_cancel(response=turn.responses.get(), membership=membership)
    services.response_retry(response=response, membership=membership)
    sibling = services.response_regenerate(response=response, membership=membership)
    run_all()
    assert [kind for kind, _ in entries(response)] == ["reserve", "release", "reserve", "settle"]
    assert [kind for kind, _ in entries(sibling)] == ["reserve", "settle"]
    reserves = UsageEntry.objects.filter(kind=EntryKind.RESERVE)
    assert all(r.closings.count() == 1 for r in reserves), "one closing per reserve"
    spent, images = committed(conversation.project.team)
    assert images == 2 and spent == sum(Response.objects.values_list("cost_usd", flat=True), Decimal(0))


def test_cancel_releases_before_output_and_charges_after(gemini: LiveEmulator) -> None:
    user = make_user("ed")
    conversation = make_conversation(user)
    membership = personal_membership(user)
    turn = submit(conversation, user, "two cats", count=2)
    quiet, started = turn.responses.order_by("index")
    records.response_claim(worker_id="w", limit=2, lease_seconds=30)
    records.response_save_progress(
        response_id=started.pk, worker_id="w", conversation_id=conversation.pk, billable=True, thoughts_text="…"
    )
    services.response_cancel(response=quiet, membership=membership)
    services.response_cancel(response=started, membership=membership)
    assert [kind for kind, _ in entries(quiet)] == ["reserve", "release"]
    (_, bound), (kind, amount) = entries(started)
    assert kind == EntryKind.SETTLE and amount == bound, "Gemini bills a call it started answering"
    assert committed(conversation.project.team) == (bound, 0)


def test_the_reaper_settles_an_interrupted_billable_response_and_requeues_a_quiet_one(
    gemini: LiveEmulator,
) -> None:
    user = make_user("fay")
    conversation = make_conversation(user)
    turn = submit(conversation, user, "two cats", count=2)
    quiet, billed = records.response_claim(worker_id="dead", limit=2, lease_seconds=30)
    Response.objects.filter(pk=billed).update(billable=True)
    Response.objects.filter(pk__in=[quiet, billed]).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    records.response_reap()
    assert [k for k, _ in entries(Response.objects.get(pk=billed))] == ["reserve", "settle"]
    assert [k for k, _ in entries(Response.objects.get(pk=quiet))] == ["reserve"], "still owed: it runs again"
    run_all()
    assert [k for k, _ in entries(Response.objects.get(pk=quiet))] == ["reserve", "settle"]
    assert turn.responses.filter(status=ResponseStatus.SUCCEEDED).count() == 1


def test_the_database_refuses_a_second_closing() -> None:
    user = make_user("gil")
    conversation = make_conversation(user)
    response = submit(conversation, user, "a cat").responses.get()
    with transaction.atomic():
        ledger.close(response_id=response.pk, billed=False, reason="test")
    reserve = UsageEntry.objects.get(kind=EntryKind.RESERVE)
    assert ledger.close(response_id=response.pk, billed=True, reason="again") is None, "nothing left open"
    with pytest.raises(IntegrityError), transaction.atomic():
        UsageEntry.objects.create(
            kind=EntryKind.SETTLE,
            reservation=reserve,
            team_name="x",
            amount_usd=Decimal("1"),
            period_start=reserve.period_start,
            day=reserve.day,
        )


def test_closings_in_one_batch_move_the_counters_by_their_sum_and_close_each_once() -> None:
    user = make_user("gia")
    conversation = make_conversation(user)
    team = conversation.project.team
    unlimited(team)
    first, second, third = submit(conversation, user, "a cat", count=3).responses.order_by("pk")
    bound = UsageEntry.objects.filter(response_ref=first.pk).get().amount_usd
    with transaction.atomic():
        ledger.close(response_id=third.pk, billed=False, reason="closed before")
    closings = [
        ledger.Closing(first.pk, billed=True, reason="succeeded", cost=Decimal("0.1340"), images=1),
        ledger.Closing(second.pk, billed=True, reason="interrupted"),  # no usage came: the bound, estimated
        ledger.Closing(first.pk, billed=True, reason="twice", cost=Decimal("9")),  # listed again: ignored
        ledger.Closing(third.pk, billed=True, reason="nothing open", cost=Decimal("9")),
    ]
    with transaction.atomic():
        outcomes = ledger.close_many(closings)
    assert [entry is not None for entry in outcomes] == [True, True, False, False]
    assert entries(first) == [(EntryKind.RESERVE, bound), (EntryKind.SETTLE, Decimal("0.1340"))]
    assert entries(second) == [(EntryKind.RESERVE, bound), (EntryKind.SETTLE, bound)]
    assert UsageEntry.objects.get(response_ref=second.pk, kind=EntryKind.SETTLE).estimated
    assert committed(team) == (Decimal("0.1340") + bound, 1), "one image billed; the interrupted one costs its bound"


def test_deleting_a_conversation_releases_what_never_ran() -> None:
    user = make_user("hu")
    conversation = make_conversation(user)
    submit(conversation, user, "a cat", count=3)
    team = conversation.project.team
    assert committed(team)[1] == 3
    services.conversation_delete(
        conversation=conversation, membership=personal_membership(user), typed=conversation.title
    )
    assert UsageEntry.objects.filter(kind=EntryKind.RELEASE).count() == 3
    assert committed(team) == (Decimal(0), 0)


def test_limits_refuse_in_words_and_leave_nothing_behind(gemini: LiveEmulator) -> None:
    user = make_user("ike")
    conversation = make_conversation(user)
    team = conversation.project.team
    quota = Quota.objects.get(team=team)
    quota.spend_limit_usd, quota.image_limit = Decimal("0.50"), None
    quota.reset_day = 1
    quota.save()
    submit(conversation, user, "one", count=2)  # about $0.32 reserved
    with pytest.raises(ChatError) as refused:
        submit(conversation, user, "two", count=2, image_size="4K")
    message = str(refused.value)
    assert "This send can cost up to $" in message and "for 2 images" in message
    assert "left of its $0.50 for this period" in message and "resets on 1 " in message
    assert Turn.objects.filter(prompt="two").count() == 0 and UsageEntry.objects.count() == 2
    quota.spend_limit_usd, quota.image_limit = None, 3
    quota.save()
    with pytest.raises(ChatError, match="the team has 1 of its 3 images left"):
        submit(conversation, user, "three", count=2)
    submit(conversation, user, "four", count=1)


def test_member_daily_limits_count_each_person_separately() -> None:
    owner, member = make_user("jan"), make_user("kim")
    team = Team.objects.create(name="Studio A")
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    join(team, member)
    Quota.objects.create(team=team, member_daily_images=2)
    project = services.project_create(
        team=team, membership=Membership.objects.get(team=team, user=owner), user=owner, name="Shared"
    )
    conversation = make_conversation(owner, project)
    submit(conversation, member, "one", count=2)
    with pytest.raises(ChatError, match="you have 0 of your 2 images a day left"):
        submit(conversation, member, "two")
    submit(conversation, owner, "mine", count=2)


def test_credit_lets_the_team_continue_and_is_an_adjust_entry_with_who_and_why() -> None:
    user, admin = make_user("lou"), make_user("root")
    conversation = make_conversation(user)
    team = conversation.project.team
    quota = Quota.objects.get(team=team)
    quota.spend_limit_usd = Decimal("0.20")
    quota.save()
    submit(conversation, user, "one")
    with pytest.raises(ChatError):
        submit(conversation, user, "two")
    with pytest.raises(ValueError, match="needs a reason"):
        ledger.adjust(team=team, amount=Decimal("-1"), reason=" ", by=admin)
    entry = ledger.grant_credit(team=team, amount=Decimal("1.00"), reason="launch week", by=admin)
    assert (entry.kind, entry.amount_usd, entry.created_by, entry.reason) == (
        EntryKind.ADJUST,
        Decimal("-1.00"),
        admin,
        "Credit: launch week",
    )
    submit(conversation, user, "two")
    assert team.audit_events.filter(action="billing.adjusted").exists()


def test_admins_are_warned_at_80_and_100_percent_once_each() -> None:
    user, colleague = make_user("max"), make_user("ned")
    conversation = make_conversation(user)
    team = conversation.project.team
    join(team, colleague, Role.ADMIN)
    quota = unlimited(team)
    quota.image_limit = 5
    quota.save()
    mail.outbox.clear()
    submit(conversation, user, "one", count=3)
    assert mail.outbox == []
    submit(conversation, user, "two")  # 4 of 5: 80%
    submit(conversation, user, "three")  # 5 of 5: 100%
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        f"Studio: {team.name} has used 80% of its budget for this period",
        f"Studio: {team.name} has reached its limit for this period",
    ]
    assert set(mail.outbox[0].to) == {"max@example.com", "ned@example.com"}
    assert "4 of 5 images" in mail.outbox[0].body
    assert SpendPeriod.objects.get(team=team).warned_percent == 100


def test_the_ledger_is_append_only() -> None:
    user = make_user("oz")
    submit(make_conversation(user), user, "a cat")
    entry = UsageEntry.objects.get()
    entry.amount_usd = Decimal("0")
    with pytest.raises(Exception, match="append-only"):
        entry.save()
    with pytest.raises(Exception, match="append-only"):
        entry.delete()


def test_new_teams_start_with_the_sites_default_quota() -> None:
    user = make_user("pia")
    quota = Quota.objects.get(team=personal_membership(user).team)
    assert quota.spend_limit_usd == Decimal("10.00") and quota.confirm_above_usd == Decimal("1.00")
    assert Conversation.objects.count() == 0


# The reserve of "a cat" at 1K with no system instruction, worked out by hand: the input bound is
# the prompt's 5 bytes (5 tokens at most), plus the image's tokens, plus 2,000 tokens of thinking.
# The prompt with the emulator's marker, "a cat [[emulator: midstream_error=503@9]]", is 41 bytes.
HAND_BOUNDS = {
    # 5 x $2/1M + 1120 x $120/1M + 2000 x $12/1M = 0.00001 + 0.1344 + 0.024; with 41 bytes 0.000082
    "gemini-3-pro-image": (Decimal("0.158410"), Decimal("0.158482")),
    # 5 x $0.50/1M + 1120 x $60/1M + 2000 x $3/1M = 0.0000025 + 0.0672 + 0.006 = 0.0732025 -> 0.073203;
    # with 41 bytes 0.0000205 -> 0.0732205 -> 0.073221 (half up, to the micro-dollar)
    "gemini-3.1-flash-image": (Decimal("0.073203"), Decimal("0.073221")),
}


@pytest.mark.parametrize("model_id", sorted(HAND_BOUNDS))
def test_reserves_failures_cancels_and_regenerations_match_hand_figures_for_each_model(
    gemini: LiveEmulator, model_id: str
) -> None:
    user = make_user("quin")
    membership = personal_membership(user)
    project = services.project_create(
        team=membership.team,
        membership=membership,
        user=user,
        name="Priced",
        model=GeminiModel.objects.get(model_id=model_id),
    )
    conversation = make_conversation(user, project)
    bound, marked_bound = HAND_BOUNDS[model_id]
    before = submit(conversation, user, "a cat [[emulator: error=500]]", retries=0).responses.get()
    after = submit(conversation, user, "a cat [[emulator: midstream_error=503@9]]", retries=0).responses.get()
    queued = submit(conversation, user, "a cat").responses.get()
    services.response_cancel(response=queued, membership=membership)
    prompts = dict(UsageEntry.objects.filter(kind=EntryKind.RESERVE).values_list("response_ref", "amount_usd"))
    assert prompts[queued.pk] == bound, "the plain prompt's reserve is the hand-computed bound"
    run_all()
    done = submit(conversation, user, "a cat").responses.get()
    run_all()
    again = services.response_regenerate(response=Response.objects.get(pk=done.pk), membership=membership)
    run_all()

    def closing(response: Response) -> tuple[str, Decimal]:
        row = UsageEntry.objects.get(response_ref=response.pk, kind__in=(EntryKind.SETTLE, EntryKind.RELEASE))
        return row.kind, row.amount_usd

    assert closing(before) == (EntryKind.RELEASE, Decimal(0)), "failed before output: nothing billed"
    assert closing(after) == (EntryKind.SETTLE, marked_bound), "failed after output: the reserved bound"
    assert closing(queued) == (EntryKind.RELEASE, Decimal(0)), "cancelled before it ran"
    for response in (done, again):
        response.refresh_from_db()
        kind, amount = closing(response)
        assert kind == EntryKind.SETTLE and amount == response.cost_usd and 0 < amount <= bound
    assert UsageEntry.objects.get(response_ref=again.pk, kind=EntryKind.RESERVE).amount_usd == bound
    assert Response.objects.get(pk=after.pk).cost_usd == marked_bound, "the failed image shows its charge"
