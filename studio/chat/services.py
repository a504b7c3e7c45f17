"""Writes for projects, conversations and turns. Each validates, writes in one transaction and
announces the change on commit."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from studio.accounts.models import Membership, Team, User
from studio.accounts.services import audit
from studio.billing import services as ledger
from studio.billing.pricing import Estimate, cents
from studio.billing.selectors import PricesMissing, price_list, price_version, send_estimate, team_budget
from studio.catalogue.capabilities import check_options, fit_options, reference_limits
from studio.catalogue.models import GeminiModel
from studio.catalogue.selectors import CatalogueError, ModelChoice, model_for
from studio.emulator.scenario import PROMPT_MARKER
from studio.generation.limits import InputTooLong, check_input_tokens, turn_input
from studio.realtime.events import publish_on_commit, wake_runners_on_commit

from .imagefiles import FILE_FIELDS, files_delete, files_delete_unused, images_discard
from .models import Conversation, ImageVersion, Project, Reference, Response, ResponseStatus, Turn
from .options import MAX_PROMPT_CHARS, GenerationOptions
from .references import (
    CheckedReference,
    ReferenceError,
    ReferenceInput,
    check_references,
    store_references,
)


class ChatError(ValueError):
    """A request we refuse, with a message fit for the person who made it."""


class CostNeedsConfirmation(ChatError):
    """The send's estimate is above the team's confirmation threshold: ask first."""

    def __init__(self, estimate: Estimate, threshold: Decimal) -> None:
        self.estimate, self.threshold = estimate, threshold
        super().__init__(
            f"This send is estimated at ${cents(estimate.expected)} (at most ${cents(estimate.bound, up=True)}), "
            f"above the team's ${threshold} confirmation threshold. Send it anyway?"
        )


def _require_writer(membership: Membership) -> None:
    if not membership.can_write:
        raise ChatError("Viewers can look but not change anything in this team.")


def _require_manager(membership: Membership) -> None:
    if not membership.can_manage:
        raise ChatError("Only the team's admins and owners can delete.")


def _require_open(conversation: Conversation) -> None:
    """Archived work is read-only: restore it to change it."""
    if conversation.project.archived_at is not None:
        raise ChatError(f"The project “{conversation.project.name}” is archived. Restore it to continue.")
    if conversation.archived_at is not None:
        raise ChatError("This conversation is archived. Restore it to continue.")


def project_model(project: Project) -> ModelChoice:
    """The model a project's turns run on today (its own, or the studio default; past shutdowns, the
    replacement)."""
    try:
        return model_for(project.model)
    except CatalogueError as error:
        raise ChatError(str(error)) from None


def _model_of(model: GeminiModel | None) -> GeminiModel:
    try:
        return model_for(model).model
    except CatalogueError as error:
        raise ChatError(str(error)) from None


@transaction.atomic
def project_create(
    *,
    team: Team,
    membership: Membership,
    user: User,
    name: str,
    system_instruction: str = "",
    options: GenerationOptions | None = None,
    model: GeminiModel | None = None,
) -> Project:
    """`model` None follows the studio default; settings the model lacks fall back to its defaults."""
    _require_writer(membership)
    name = name.strip()
    if not name:
        raise ChatError("Give the project a name.")
    return Project.objects.create(
        team=team,
        name=name[:120],
        system_instruction=system_instruction.strip(),
        default_settings=fit_options(_model_of(model), options or GenerationOptions()).to_dict(),
        model=model,
        created_by=user,
    )


@transaction.atomic
def project_update(
    *,
    project: Project,
    membership: Membership,
    name: str,
    system_instruction: str,
    options: GenerationOptions,
    model: GeminiModel | None = None,
) -> Project:
    _require_writer(membership)
    if project.archived_at is not None:
        raise ChatError("This project is archived. Restore it to change its settings.")
    if not name.strip():
        raise ChatError("Give the project a name.")
    project.name = name.strip()[:120]
    project.system_instruction = system_instruction.strip()
    project.model = model
    project.default_settings = fit_options(_model_of(model), options).to_dict()
    project.save(update_fields=["name", "system_instruction", "default_settings", "model", "updated_at"])
    return project


@transaction.atomic
def project_archive(*, project: Project, membership: Membership, ip: str | None = None) -> Project:
    _require_writer(membership)
    project.archived_at = timezone.now()
    project.save(update_fields=["archived_at", "updated_at"])
    audit(team=project.team, actor=membership.user, action="project.archived", target=project.name, ip=ip)
    return project


@transaction.atomic
def project_restore(*, project: Project, membership: Membership, ip: str | None = None) -> Project:
    _require_writer(membership)
    project.archived_at = None
    project.save(update_fields=["archived_at", "updated_at"])
    audit(team=project.team, actor=membership.user, action="project.restored", target=project.name, ip=ip)
    return project


def _stored_files(conversations: list[int]) -> set[str]:
    keys: set[str] = set()
    images = ImageVersion.objects.filter(response__turn__conversation_id__in=conversations)
    references = Reference.objects.filter(turn__conversation_id__in=conversations)
    for queryset, fields in ((images, FILE_FIELDS[ImageVersion]), (references, FILE_FIELDS[Reference])):
        keys.update(key for row in queryset.values_list(*fields) for key in row if key)
    return keys


def _delete_conversations(conversations: list[int]) -> None:
    """Delete the conversations' rows now and, once that commits, the files no other row uses (a
    reference elsewhere that was made from one of these images keeps its file)."""
    keys = _stored_files(conversations)
    unfinished = Response.objects.filter(
        turn__conversation_id__in=conversations, status__in=(ResponseStatus.QUEUED, ResponseStatus.RUNNING)
    )
    for response_id, billable in unfinished.values_list("pk", "billable"):
        ledger.close(response_id=response_id, billed=billable, reason="deleted")
    turns = Turn.objects.filter(conversation_id__in=conversations)
    turns.update(parent_response=None, parent_turn=None)  # the tree's own links protect it from itself
    Conversation.objects.filter(pk__in=conversations).delete()
    if keys:
        transaction.on_commit(lambda: files_delete_unused(keys), robust=True)


def _typed(expected: str, typed: str, what: str) -> None:
    if typed.strip() != expected.strip():
        raise ChatError(f"To delete, type the {what} exactly: “{expected}”.")


@transaction.atomic
def conversation_delete(
    *, conversation: Conversation, membership: Membership, typed: str, ip: str | None = None
) -> None:
    """Delete a conversation, its images and their files, for good (admins and owners)."""
    _require_manager(membership)
    _typed(conversation.title, typed, "conversation's title")
    _delete_conversations([conversation.pk])
    audit(team=membership.team, actor=membership.user, action="conversation.deleted", target=conversation.title, ip=ip)


@transaction.atomic
def team_delete(*, membership: Membership, typed: str, ip: str | None = None) -> None:
    """An owner deletes a shared team with everything in it: projects, conversations, images and their
    files, memberships, invitations and links. Personal teams stay with their person."""
    team = Team.objects.select_for_update().get(pk=membership.team_id)
    if not membership.is_owner:
        raise ChatError("Only the team's owners can delete it.")
    if team.is_personal:
        raise ChatError("A personal team stays with its person; delete its projects instead.")
    _typed(team.name, typed, "team's name")
    _delete_conversations(list(Conversation.objects.filter(project__team=team).values_list("pk", flat=True)))
    Project.objects.filter(team=team).delete()
    audit(team=team, actor=membership.user, action="team.deleted", target=team.name, ip=ip)
    team.delete()


@transaction.atomic
def project_delete(*, project: Project, membership: Membership, typed: str, ip: str | None = None) -> None:
    _require_manager(membership)
    _typed(project.name, typed, "project's name")
    _delete_conversations(list(project.conversations.values_list("pk", flat=True)))
    project.delete()
    audit(team=membership.team, actor=membership.user, action="project.deleted", target=project.name, ip=ip)


def _project_touched(project_id: int) -> None:
    """Work in a conversation is work on its project: the lists sort and say "updated" by this."""
    Project.objects.filter(pk=project_id).update(updated_at=timezone.now())


@transaction.atomic
def conversation_create(*, project: Project, membership: Membership, user: User, title: str = "") -> Conversation:
    _require_writer(membership)
    if project.archived_at is not None:
        raise ChatError("This project is archived. Restore it to start conversations in it.")
    _project_touched(project.pk)
    return Conversation.objects.create(
        project=project, created_by=user, title=title.strip()[:200] or "New conversation"
    )


@transaction.atomic
def conversation_start(*, project: Project, membership: Membership, user: User) -> Conversation:
    """ "New conversation": the person's own empty one in this project if they left one (so clicking
    it again does not leave empty conversations behind), else a new one."""
    _require_writer(membership)
    empty = (
        Conversation.objects.filter(project=project, created_by=user, archived_at=None, turns__isnull=True)
        .order_by("-created_at", "-pk")
        .first()
    )
    if empty is not None:
        return empty
    return conversation_create(project=project, membership=membership, user=user)


@transaction.atomic
def conversation_rename(*, conversation: Conversation, membership: Membership, title: str) -> Conversation:
    _require_writer(membership)
    _require_open(conversation)
    if not title.strip():
        raise ChatError("A conversation needs a title.")
    conversation.title = title.strip()[:200]
    conversation.save(update_fields=["title", "updated_at"])
    publish_on_commit(conversation.pk, "conversation")
    return conversation


@transaction.atomic
def conversation_archive(*, conversation: Conversation, membership: Membership) -> Conversation:
    _require_writer(membership)
    conversation.archived_at = timezone.now()
    conversation.save(update_fields=["archived_at", "updated_at"])
    publish_on_commit(conversation.pk, "conversation")
    return conversation


@transaction.atomic
def conversation_restore(*, conversation: Conversation, membership: Membership) -> Conversation:
    _require_writer(membership)
    conversation.archived_at = None
    conversation.save(update_fields=["archived_at", "updated_at"])
    publish_on_commit(conversation.pk, "conversation")
    return conversation


def turn_submit(
    *,
    conversation: Conversation,
    membership: Membership,
    user: User,
    prompt: str,
    options: GenerationOptions,
    parent_response: Response | None = None,
    after_turn: Turn | None = None,
    references: Sequence[ReferenceInput] = (),
    confirmed: bool = True,
) -> Turn:
    """Create the turn, its references and its queued responses at once; the runner picks them up
    after commit. Everything is checked before anything is stored; a failure leaves nothing behind.
    `confirmed` False: a send estimated above the team's threshold raises CostNeedsConfirmation."""
    _require_writer(membership)
    _require_open(conversation)
    if after_turn is not None and after_turn.conversation_id != conversation.pk:
        raise ChatError("That turn belongs to another conversation.")
    prompt = prompt.strip()
    if not prompt:
        raise ChatError("Write a prompt first: describe the image you want, or the change to make.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ChatError(f"The prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}. Shorten it.")
    if parent_response is not None:
        if parent_response.turn.conversation_id != conversation.pk:
            raise ChatError("You can only continue from an image of this conversation.")
        if parent_response.status != ResponseStatus.SUCCEEDED:
            raise ChatError("That response did not finish, so it cannot be continued. Pick another image.")
    choice = project_model(conversation.project)
    check_options(choice.model, options)
    try:
        checked = check_references(list(references), reference_limits(choice.model))
    except ReferenceError as error:
        raise ChatError(str(error)) from None
    project_id = conversation.project_id
    for item in checked:
        if item.version is not None and item.version.response.turn.conversation.project_id != project_id:
            raise ChatError("References can only come from conversations of this project.")
    labels = [f"Reference image {n} ({item.role}):" for n, item in enumerate(checked, 1)]
    planned = turn_input(
        parent=parent_response,
        prompt=prompt,
        system_instruction=conversation.project.system_instruction,
        reference_labels=labels,
    )
    try:
        input_tokens = check_input_tokens(choice.model, planned)
    except InputTooLong as error:
        raise ChatError(str(error)) from None
    cost = _estimate(choice.model, options, input_tokens, options.count)
    if not confirmed:
        budget = team_budget(conversation.project.team)
        threshold = budget.confirm_above
        if threshold is not None and budget.asks_first(cost):
            raise CostNeedsConfirmation(cost, threshold)
    written: list[str] = []
    try:
        return _turn_create(
            conversation=conversation,
            user=user,
            prompt=prompt,
            options=options,
            parent_response=parent_response,
            after_turn=after_turn,
            checked=checked,
            written=written,
            model=choice,
            cost=cost,
        )
    except ledger.QuotaExceeded as error:
        files_delete(written)
        raise ChatError(str(error)) from None
    except BaseException:
        files_delete(written)  # the rows were rolled back; the new files go too
        raise


@transaction.atomic
def _turn_create(
    *,
    conversation: Conversation,
    user: User,
    prompt: str,
    options: GenerationOptions,
    parent_response: Response | None,
    after_turn: Turn | None,
    checked: list[CheckedReference],
    written: list[str],
    model: ModelChoice,
    cost: Estimate,
) -> Turn:
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    # The turn's place in the tree: after `after_turn` when given; else after the image's own turn
    # (editing an older image starts a branch); else after the conversation's newest turn.
    if after_turn is not None:
        parent_turn: Turn | None = after_turn
    elif parent_response is not None:
        parent_turn = parent_response.turn
    else:
        parent_turn = Turn.objects.filter(conversation=locked).order_by("-created_at", "-pk").first()
    turn = Turn.objects.create(
        conversation=locked,
        parent_response=parent_response,
        parent_turn=parent_turn,
        author=user,
        prompt=prompt,
        settings=options.to_dict(),
        model_id=model.model.model_id,
        model_note=model.note,
    )
    responses = Response.objects.bulk_create([Response(turn=turn, index=i) for i in range(options.count)])
    store_references(turn=turn, checked=checked, written=written)
    if locked.title == "New conversation":
        locked.title = title_from(prompt)
    locked.save(update_fields=["title", "updated_at"])
    _project_touched(locked.project_id)
    # Last, so the team's counter is locked only for the few statements left before commit.
    _reserve(turn, user, [r.pk for r in responses], cost)
    publish_on_commit(conversation.pk, "turn", turn_id=turn.pk)
    wake_runners_on_commit()
    return turn


def title_from(prompt: str) -> str:
    """A conversation's title from its first prompt, without the emulator's [[emulator: ...]] markers."""
    words = " ".join(PROMPT_MARKER.sub(" ", prompt).split()) or "New conversation"
    return words[:80] + ("…" if len(words) > 80 else "")


def _estimate(model: GeminiModel, options: GenerationOptions, input_tokens: int, images: int) -> Estimate:
    try:
        prices = price_list(price_version(model))
    except PricesMissing as error:
        raise ChatError(str(error)) from None
    return send_estimate(
        model,
        prices=prices,
        images=images,
        size=options.image_size,
        grounding=options.grounding,
        input_tokens=input_tokens,
    )


def _reserve(turn: Turn, user: User, response_ids: list[int], cost: Estimate) -> None:
    """Hold the responses' cost against the team's (and the member's) quota, in the transaction
    creating them."""
    project = turn.conversation.project
    ledger.reserve(
        team=project.team,
        user=user,
        project=project,
        model_id=turn.model_id,
        image_size=turn.options.image_size,
        estimate=cost,
        response_ids=response_ids,
    )


def turn_estimate(turn: Turn, images: int = 1) -> Estimate:
    """Another response of an existing turn: its input as sent (bounded), at the prices in force."""
    from studio.generation.history import run_model

    project = turn.conversation.project
    try:
        model = run_model(turn.model_id)
    except CatalogueError as error:
        raise ChatError(str(error)) from None
    labels = [f"Reference image {n} ({r.role}):" for n, r in enumerate(turn.references.all(), 1)]
    planned = turn_input(
        parent=turn.parent_response,
        prompt=turn.prompt,
        system_instruction=project.system_instruction,
        reference_labels=labels,
    )
    return _estimate(model, turn.options, planned.bound(model), images)


def _reserve_again(response: Response, user: User) -> None:
    turn = response.turn
    try:
        _reserve(turn, user, [response.pk], turn_estimate(turn))
    except ledger.QuotaExceeded as error:
        raise ChatError(str(error)) from None


MAX_RESPONSES_PER_TURN = 8


@transaction.atomic
def response_regenerate(*, response: Response, membership: Membership) -> Response:
    """Another take on the same turn: a new sibling response with its own seed."""
    _require_writer(membership)
    _require_open(response.turn.conversation)
    turn = Turn.objects.select_for_update().get(pk=response.turn_id)
    taken = list(turn.responses.values_list("index", flat=True))
    if len(taken) >= MAX_RESPONSES_PER_TURN:
        raise ChatError(f"This turn already has {len(taken)} images, the most it keeps. Start a new turn instead.")
    sibling = Response.objects.create(turn=turn, index=max(taken) + 1)
    _reserve_again(sibling, membership.user)
    publish_on_commit(turn.conversation_id, "turn", turn_id=turn.pk)
    wake_runners_on_commit()
    return sibling


@transaction.atomic
def response_retry(*, response: Response, membership: Membership) -> Response:
    """Run a failed, blocked or cancelled response again, from a clean slate."""
    _require_writer(membership)
    _require_open(response.turn.conversation)
    locked = Response.objects.select_for_update().get(pk=response.pk)
    if locked.status not in (ResponseStatus.FAILED, ResponseStatus.BLOCKED, ResponseStatus.CANCELLED):
        raise ChatError("Only a failed, blocked or cancelled image can be retried.")
    images_discard(locked.images.all())
    blank: dict[str, object] = {
        "status": ResponseStatus.QUEUED,
        "error_code": "",
        "error_message": "",
        "finish_reason": "",
        "thoughts_text": "",
        "text": "",
        "parts": [],
        "usage": {},
        "grounding": None,
        "billable": False,
        "cost_usd": Decimal(0),
        "retry_note": "",
        "retry_at": None,
        "retry_number": 0,
        "started_at": None,
        "first_event_at": None,
        "finished_at": None,
    }
    for field, empty in blank.items():
        setattr(locked, field, empty)
    locked.save()
    _reserve_again(locked, membership.user)
    publish_on_commit(locked.turn.conversation_id, "response", response_id=locked.pk)
    wake_runners_on_commit()
    return locked


@transaction.atomic
def response_cancel(*, response: Response, membership: Membership) -> Response:
    """Stop a queued or running response. A worker's next fenced write fails and it lets go."""
    _require_writer(membership)
    locked = Response.objects.select_for_update().get(pk=response.pk)
    if locked.status not in (ResponseStatus.QUEUED, ResponseStatus.RUNNING):
        raise ChatError("Only a queued or running image can be cancelled.")
    images_discard(locked.images.all())
    # Once Gemini has started answering it bills the call whatever we do; before that, nothing.
    charged = ledger.close(response_id=locked.pk, billed=locked.billable, reason="cancelled")
    if charged is not None and charged.estimated:
        locked.cost_usd = charged.amount_usd
    locked.status = ResponseStatus.CANCELLED
    locked.error_code = "cancelled"
    locked.error_message = "Cancelled. Retry to generate it again."
    locked.parts, locked.text = [], ""
    locked.lease_owner, locked.lease_expires_at = "", None
    locked.finished_at = timezone.now()
    locked.save()
    publish_on_commit(locked.turn.conversation_id, "response", response_id=locked.pk)
    return locked
