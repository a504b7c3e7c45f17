"""Who gets what, for every URL and websocket route: one table. Another team's objects are always
404 (never 403, so nobody learns what exists); signed-out visitors go to log in; share-link visitors
see only what a live link shows."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from studio.accounts.models import Role, User
from studio.accounts.services import team_add_member, team_create
from studio.chat.models import ImageVersion, Reference
from studio.chat.references import ReferenceInput
from studio.realtime.routing import websocket_urlpatterns
from studio.sharing.models import ShareLink
from studio.sharing.services import share_link_create
from tests.chat.test_references import png
from tests.live_emulator import LiveEmulator
from tests.studio_world import make_user, run_all, submit

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = ("anonymous", "stranger", "viewer", "member", "admin", "owner")
LOGIN = "login"  # a redirect to the login page


@dataclass
class World:
    users: dict[str, User | None] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)


def build(gemini: LiveEmulator) -> World:
    world = World()
    owner = make_user("own")
    team = team_create(user=owner, name="Studio team")
    world.users = {"anonymous": None, "stranger": make_user("str"), "owner": owner}
    for role in ("viewer", "member", "admin"):
        world.users[role] = make_user(role[:3] + "x")
        team_add_member(team=team, user=world.users[role], role=Role(role))
    from studio.chat import services

    membership = owner.memberships.get(team=team)
    project = services.project_create(team=team, membership=membership, user=owner, name="Posters")
    conversation = services.conversation_create(project=project, membership=membership, user=owner)
    upload = SimpleUploadedFile("ref.png", png(), content_type="image/png")
    turn = submit(
        conversation,
        owner,
        "a lighthouse",
        references=[ReferenceInput(role="style", upload=upload)],
        grounding=True,
        output_format="png",
    )
    run_all()
    image = ImageVersion.objects.get(is_thought=False)
    links: dict[str, str] = {}
    for name, kwargs in {
        "valid": {},
        "expired": {},
        "revoked": {},
        "password": {"password": "a long password"},
    }.items():
        link, token = share_link_create(
            conversation=conversation,
            membership=membership,
            leaf=turn,
            expiry="7",
            show_prompts=True,
            show_thoughts=False,
            allow_downloads=False,
            **kwargs,
        )
        links[name] = token
        if name == "expired":
            ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
        if name == "revoked":
            ShareLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    world.ids = {
        "team": team.pk,
        "project": project.pk,
        "conversation": conversation.pk,
        "response": turn.responses.get().pk,
        "turn": turn.pk,
        "image": image.pk,
        "reference": Reference.objects.get().pk,
        "link": ShareLink.objects.get(password_hash="", expires_at__gt=timezone.now(), revoked_at=None).pk,
        **{f"share_{k}": v for k, v in links.items()},
    }
    return world


def all_roles(anonymous: object, stranger: object, others: object) -> dict[str, object]:
    return {"anonymous": anonymous, "stranger": stranger, **{r: others for r in ROLES[2:]}}


# (what, path template, expected per role). The team's pages: anonymous -> login, stranger -> 404.
TEAM_PAGES = [
    ("project page", "/p/{project}/"),
    ("conversation page", "/c/{conversation}/"),
    ("next-call context", "/c/{conversation}/context"),
    ("versions", "/c/{conversation}/versions"),
    ("image original", "/media/v/{image}"),
    ("image download", "/media/v/{image}?download=1"),
    ("image thumbnail", "/media/v/{image}/thumb"),
    ("image rendition", "/media/v/{image}/rendition"),
    ("lineage zip", "/media/v/{image}/lineage.zip"),
    ("reference thumbnail", "/media/ref/{reference}/thumb"),
    ("grounding panel", "/grounding/{response}"),
    ("team page", "/teams/{team}/"),
    ("team links", "/teams/{team}/links/"),
    ("share page of the conversation", "/c/{conversation}/share"),
    ("projects of the team", "/?team={team}"),
]
MATRIX: list[tuple[str, str, dict[str, object]]] = [
    (what, path, all_roles(LOGIN, 404, 200)) for what, path in TEAM_PAGES
] + [
    ("compare two", "/c/{conversation}/compare?v={image}&v={image}", all_roles(LOGIN, 404, 200)),
    ("home", "/", all_roles(LOGIN, 200, 200)),
    ("search", "/search/?q=lighthouse", all_roles(LOGIN, 200, 200)),
    ("your usage", "/usage/", all_roles(LOGIN, 200, 200)),
    ("your usage CSV", "/usage.csv", all_roles(LOGIN, 200, 200)),
    *(
        (what, path, {"anonymous": LOGIN, "stranger": 404, "viewer": 403, "member": 403, "admin": 200, "owner": 200})
        for what, path in (("team usage", "/teams/{team}/usage/"), ("team usage CSV", "/teams/{team}/usage.csv"))
    ),
    ("teams", "/teams/", all_roles(LOGIN, 200, 200)),
    ("profile", "/profile/", all_roles(LOGIN, 200, 200)),
    # Share links: no account needed; the link's state decides.
    ("share link (valid)", "/s/{share_valid}/", all_roles(200, 200, 200)),
    ("share link (expired)", "/s/{share_expired}/", all_roles(410, 410, 410)),
    ("share link (revoked)", "/s/{share_revoked}/", all_roles(410, 410, 410)),
    ("share link (password, not given)", "/s/{share_password}/", all_roles(200, 200, 200)),
    ("share link (unknown)", "/s/nothing-here/", all_roles(404, 404, 404)),
    ("share older turns (valid)", "/s/{share_valid}/older?before={turn}", all_roles(200, 200, 200)),
    ("share older turns (revoked)", "/s/{share_revoked}/older?before={turn}", all_roles(404, 404, 404)),
    ("share older turns (expired)", "/s/{share_expired}/older?before={turn}", all_roles(404, 404, 404)),
    ("share older turns (password, not given)", "/s/{share_password}/older?before={turn}", all_roles(404, 404, 404)),
    ("share thumbnail (valid)", "/s/{share_valid}/m/thumb/{image}", all_roles(200, 200, 200)),
    ("share original (no downloads)", "/s/{share_valid}/m/image/{image}", all_roles(404, 404, 404)),
    ("share reference (valid)", "/s/{share_valid}/m/ref/{reference}", all_roles(200, 200, 200)),
    ("share grounding (valid)", "/s/{share_valid}/m/grounding/{response}", all_roles(200, 200, 200)),
    ("share thumbnail (revoked)", "/s/{share_revoked}/m/thumb/{image}", all_roles(404, 404, 404)),
    ("share thumbnail (expired)", "/s/{share_expired}/m/thumb/{image}", all_roles(404, 404, 404)),
    ("share thumbnail (password, not given)", "/s/{share_password}/m/thumb/{image}", all_roles(404, 404, 404)),
]


def client_for(user: User | None) -> Client:
    client = Client()
    client.raise_request_exception = False
    if user is not None:
        client.force_login(user)
    return client


def outcome(response: Any) -> object:
    if response.status_code == 302 and response["Location"].startswith("/login/"):
        return LOGIN
    return response.status_code


def test_every_page_and_file_answers_each_visitor_as_the_table_says(gemini: LiveEmulator) -> None:
    world = build(gemini)
    wrong: list[str] = []
    for what, template, expected in MATRIX:
        path = template.format(**world.ids)
        for role in ROLES:
            got = outcome(client_for(world.users[role]).get(path))
            if got != expected[role]:
                wrong.append(f"{what} as {role}: got {got}, want {expected[role]} ({path})")
    assert wrong == []


def test_every_write_answers_each_role_as_the_table_says(gemini: LiveEmulator) -> None:
    """Writes by role: viewers are refused in words, strangers get 404, signed-out visitors log in."""
    world = build(gemini)
    ids = world.ids
    composer = {
        "prompt": "more",
        "aspect_ratio": "auto",
        "image_size": "1K",
        "count": "1",
        "output_format": "jpeg",
        "safety": "default",
        "retries": "0",
    }
    writes: list[tuple[str, str, dict[str, str], dict[str, object]]] = [
        (
            "send a turn",
            "/c/{conversation}/turns",
            composer,
            {"anonymous": LOGIN, "stranger": 404, "viewer": 422, "member": 302, "admin": 302, "owner": 302},
        ),
        (
            "composer estimate",
            "/c/{conversation}/estimate",
            composer,
            {"anonymous": LOGIN, "stranger": 404, "viewer": 200, "member": 200, "admin": 200, "owner": 200},
        ),
        (
            "regenerate",
            "/r/{response}/regenerate",
            {},
            {"anonymous": LOGIN, "stranger": 404, "viewer": 422, "member": 200, "admin": 200, "owner": 200},
        ),
        (
            "invite",
            "/teams/{team}/invite",
            {"role": "viewer", "days": "7"},
            {"anonymous": LOGIN, "stranger": 404, "viewer": 302, "member": 302, "admin": 302, "owner": 302},
        ),
        (
            "revoke a link",
            "/links/{link}/revoke",
            {},
            {"anonymous": LOGIN, "stranger": 404, "viewer": 302, "member": 302, "admin": 302, "owner": 302},
        ),
    ]
    wrong = []
    for what, template, data, expected in writes:
        for role in ROLES:
            got = outcome(client_for(world.users[role]).post(template.format(**ids), data))
            if got != expected[role]:
                wrong.append(f"{what} as {role}: got {got}, want {expected[role]}")
    assert wrong == []
    # Refusals changed nothing: only admins' and owners' invitations exist; only they revoked the link.
    from studio.accounts.models import Invitation

    assert sorted(Invitation.objects.values_list("created_by__username", flat=True)) == ["admx", "own"]
    assert ShareLink.objects.get(pk=ids["link"]).revoked_at is not None
    delete = {"confirm": "a lighthouse"}
    for role in ("viewer", "member"):
        client_for(world.users[role]).post(f"/c/{ids['conversation']}/delete", delete)
    from studio.chat.models import Conversation

    assert Conversation.objects.filter(pk=ids["conversation"]).exists(), "viewers and members cannot delete"
    assert client_for(world.users["stranger"]).post(f"/c/{ids['conversation']}/delete", delete).status_code == 404
    client_for(world.users["admin"]).post(f"/c/{ids['conversation']}/delete", delete)
    assert not Conversation.objects.filter(pk=ids["conversation"]).exists()


async def _socket(path: str, user: Any, session: dict[str, Any] | None = None) -> tuple[str, object]:
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = user
    socket.scope["session"] = session or {}
    await socket.connect()
    while True:  # a closed link first says so ("This link was revoked"), then closes
        message = await socket.receive_output(timeout=10)
        if message["type"] == "websocket.close":
            return "closed", message["code"]
        text = message.get("text", "")
        if 'hx-swap-oob="beforeend:#turns"' in text:
            break
    kind = "snapshot with controls" if "Regenerate" in text else "snapshot read-only"
    await socket.disconnect()
    return kind, 0


def test_every_socket_answers_each_visitor_as_the_table_says(gemini: LiveEmulator) -> None:
    world = build(gemini)
    ids = world.ids
    conversation = f"/ws/conversations/{ids['conversation']}/"
    expected: dict[tuple[str, str], tuple[str, object]] = {
        (conversation, "anonymous"): ("closed", 4401),
        (conversation, "stranger"): ("closed", 4403),
        (conversation, "viewer"): ("snapshot read-only", 0),
        (conversation, "member"): ("snapshot with controls", 0),
        (conversation, "admin"): ("snapshot with controls", 0),
        (conversation, "owner"): ("snapshot with controls", 0),
    }
    share_cases: tuple[tuple[str, tuple[str, object]], ...] = (
        ("valid", ("snapshot read-only", 0)),
        ("expired", ("closed", 4410)),
        ("revoked", ("closed", 4410)),
        ("password", ("closed", 4403)),
    )
    for role in ROLES:
        for name, share_want in share_cases:
            expected[(f"/ws/share/{ids['share_' + name]}/", role)] = share_want
    wrong = []
    for (path, role), want in expected.items():
        user = world.users[role] or AnonymousUser()
        got = asyncio.run(_socket(path, user))
        if got != want:
            wrong.append(f"{path} as {role}: got {got}, want {want}")
    assert wrong == []
    # With the password given (the session remembers it), the protected link's socket opens.
    password_link = ShareLink.objects.exclude(password_hash="").get()
    unlocked = asyncio.run(
        _socket(f"/ws/share/{ids['share_password']}/", AnonymousUser(), {f"share_ok:{password_link.pk}": True})
    )
    assert unlocked == ("snapshot read-only", 0)
    wrong_password = client_for(None).post(f"/s/{ids['share_password']}/", {"password": "not it"})
    assert wrong_password.status_code == 401
