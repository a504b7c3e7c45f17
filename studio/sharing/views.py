"""Share links: the page a link opens (no account needed; read-only; live), its media, its password
gate; and, for the team, making, listing and revoking links."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio.accounts import throttle
from studio.accounts.models import SharePolicy, User
from studio.accounts.selectors import team_for_member, writable_teams
from studio.accounts.views import client_ip, safe_next
from studio.chat import fragments
from studio.chat import selectors as chat_selectors
from studio.chat.ids import parse_id, require_id
from studio.chat.mediafiles import stored_file, thumbnail_file
from studio.chat.models import ImageVersion, Project, Reference, Response
from studio.chat.views import SUGGESTIONS_CSP, suggestions_document

from . import selectors, services
from .models import ShareLink

SESSION_KEY = "share_ok:{}"


@dataclass(frozen=True)
class ShareView:
    """What the page and its socket know of the link: the secret from the URL and the row."""

    token: str
    link: ShareLink


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _closed(request: HttpRequest, state: str) -> HttpResponse:
    return render(request, "sharing/closed.html", {"state": state}, status=410)


def _unlocked(request: HttpRequest, link: ShareLink) -> bool:
    return not link.has_password or bool(request.session.get(SESSION_KEY.format(link.pk)))


def _live_link(request: HttpRequest, token: str) -> ShareLink | HttpResponse:
    link = selectors.link_by_token(token)
    if link is None:
        raise Http404("No such link")
    if link.state != "live":
        return _closed(request, link.state)
    return link


def _open_link(request: HttpRequest, token: str) -> ShareLink:
    """The link behind a shared page's own requests (older turns, media): live and unlocked, else 404."""
    link = selectors.link_by_token(token)
    if link is None or link.state != "live" or not _unlocked(request, link):
        raise Http404("Not available")
    return link


@require_http_methods(["GET", "POST"])
def shared_page(request: HttpRequest, token: str) -> HttpResponse:
    link = _live_link(request, token)
    if isinstance(link, HttpResponse):
        return link
    if not _unlocked(request, link):
        return _password_gate(request, link)
    services.share_link_viewed(link=link)
    # The socket's snapshot resends what changed after this (less a margin covering the reads below).
    rendered_at = int(time.time() * 1000)
    steps = fragments.branch(conversation=link.conversation, leaf_id=link.leaf_turn_id, newest=fragments.NEWEST_SHOWN)
    context = {
        **fragments.turn_list_context(steps),
        "share": ShareView(token=token, link=link),
        "conversation": link.conversation,
        "can_write": False,
        "oob": False,
        "rendered_at": rendered_at,
        "copy_targets": _copy_targets(request, link),
    }
    return render(request, "sharing/shared.html", context)


@require_GET
def shared_older(request: HttpRequest, token: str) -> HttpResponse:
    """The shared branch's turns before `before`, a page at a time (scrolling up). Always the link's
    own branch: unlike a member's page, a visitor cannot name another leaf."""
    link = _open_link(request, token)
    before = require_id(request.GET.get("before"), "before")
    steps = fragments.branch(
        conversation=link.conversation, leaf_id=link.leaf_turn_id, before=before, newest=fragments.NEWEST_SHOWN
    )
    context = {
        **fragments.turn_list_context(steps),
        "share": ShareView(token=token, link=link),
        "conversation": link.conversation,
        "can_write": False,
    }
    return render(request, "chat/conversation.html#older-turns-page", context)


def _copy_targets(request: HttpRequest, link: ShareLink) -> list[Project]:
    """Projects a signed-in visitor may continue the conversation in (none if prompts are not shared)."""
    if not request.user.is_authenticated or not link.show_prompts:
        return []
    writable = writable_teams(user=_user(request))
    return list(Project.objects.filter(team__in=writable, archived_at__isnull=True).select_related("team")[:100])


def _password_gate(request: HttpRequest, link: ShareLink) -> HttpResponse:
    error = ""
    if request.method == "POST":
        wait = throttle.wait_seconds(request, throttle.SHARE_PASSWORD)
        if wait:
            return render(request, "sharing/password.html", {"error": throttle.refusal(wait)}, status=429)
        if link.password_matches(request.POST.get("password", "")):
            request.session[SESSION_KEY.format(link.pk)] = True
            return redirect(request.path)
        throttle.count(request, throttle.SHARE_PASSWORD)
        error = "That password is not right."
    return render(request, "sharing/password.html", {"error": error}, status=401 if error else 200)


def _in_shared_branch(link: ShareLink, turn_id: int) -> bool:
    return turn_id in fragments.branch_turn_ids(conversation=link.conversation, leaf_id=link.leaf_turn_id)


@require_GET
@xframe_options_sameorigin
@csp_override(SUGGESTIONS_CSP)
def shared_media(request: HttpRequest, token: str, kind: str, pk: int) -> HttpResponseBase:
    """An image (or grounding panel) of the shared branch, as the link allows."""
    link = _open_link(request, token)
    download = bool(request.GET.get("download"))
    if kind == "grounding":
        response = Response.objects.filter(pk=pk, turn__conversation=link.conversation).first()
        if response is None or not _in_shared_branch(link, response.turn_id):
            raise Http404("Not in the shared conversation")
        return HttpResponse(suggestions_document(response), content_type="text/html; charset=utf-8")
    if kind == "ref":
        reference = Reference.objects.filter(pk=pk, turn__conversation=link.conversation).first()
        if reference is None or not link.show_prompts or not _in_shared_branch(link, reference.turn_id):
            raise Http404("Not shared")
        return stored_file(reference.thumbnail_key, "image/webp")
    image = (
        ImageVersion.objects.select_related("response")
        .filter(pk=pk, response__turn__conversation=link.conversation)
        .first()
    )
    if image is None or not _in_shared_branch(link, image.response.turn_id):
        raise Http404("Not in the shared conversation")
    if image.is_thought and not link.show_thoughts:
        raise Http404("Drafts are not shared")
    if kind == "thumb":
        return thumbnail_file(image)
    if not link.allow_downloads:
        raise Http404("Downloads are not allowed on this link")
    if kind == "image":
        name = f"shared-{image.pk}.{image.extension}" if download else None
        return stored_file(image.storage_key, image.mime_type, filename=name, redirect=True)
    if kind == "rendition" and image.rendition_key:
        return stored_file(image.rendition_key, image.rendition_mime_type, redirect=True)
    raise Http404("No such file")


# -- for the team -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def conversation_share(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, membership = chat_selectors.conversation_for_member(
        user=_user(request), conversation_id=conversation_id
    )
    if request.method == "POST":
        leaf_id = parse_id(request.POST.get("leaf"))
        steps = fragments.branch(conversation=conversation, leaf_id=leaf_id)
        try:
            _, token = services.share_link_create(
                conversation=conversation,
                membership=membership,
                leaf=steps[-1].turn if steps else None,
                expiry=request.POST.get("expiry", "7"),
                show_prompts=bool(request.POST.get("show_prompts")),
                show_thoughts=bool(request.POST.get("show_thoughts")),
                allow_downloads=bool(request.POST.get("allow_downloads")),
                password=request.POST.get("password", ""),
                ip=client_ip(request),
            )
        except services.ShareError as error:
            messages.error(request, str(error))
        else:
            request.session[f"new_share_link:{conversation.pk}"] = request.build_absolute_uri(
                reverse("sharing:page", args=[token])
            )
            return redirect("sharing:conversation", conversation_id=conversation.pk)
    context = {
        "conversation": conversation,
        "project": conversation.project,
        "membership": membership,
        "links": conversation.share_links.select_related("created_by"),
        "new_link": request.session.pop(f"new_share_link:{conversation.pk}", ""),
        "policy": membership.team.share_links,
        "leaf": parse_id(request.GET.get("leaf")) or "",
    }
    return render(request, "sharing/conversation_links.html", context)


@login_required
@require_POST
def revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    link = ShareLink.objects.select_related("conversation__project").filter(pk=link_id).first()
    if link is None:
        raise Http404("No such link")
    membership = team_for_member(user=_user(request), team_id=link.conversation.project.team_id)
    try:
        services.share_link_revoke(link=link, membership=membership, ip=client_ip(request))
        messages.success(request, "Link revoked: it stops working now, open pages included.")
    except services.ShareError as error:
        messages.error(request, str(error))
    return redirect(safe_next(request, request.POST.get("back")))


@login_required
@require_http_methods(["GET", "POST"])
def team_links(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = team_for_member(user=_user(request), team_id=team_id)
    if request.method == "POST":
        try:
            services.team_set_share_policy(
                membership=membership, policy=request.POST.get("policy", ""), ip=client_ip(request)
            )
            messages.success(request, "Link policy saved.")
        except services.ShareError as error:
            messages.error(request, str(error))
        return redirect("sharing:team", team_id=team_id)
    context = {
        "team": membership.team,
        "membership": membership,
        "links": selectors.team_links(team=membership.team),
        "policies": SharePolicy.choices,
    }
    return render(request, "sharing/team_links.html", context)


@login_required
@require_POST
def copy_shared(request: HttpRequest, token: str) -> HttpResponse:
    """Continue as a copy, in a project of the signed-in visitor's own team."""
    link = _live_link(request, token)
    if isinstance(link, HttpResponse):
        return link
    if not _unlocked(request, link):
        raise Http404("Open the link with its password first")
    user = _user(request)
    project_id = require_id(request.POST.get("project"), "project")
    project = Project.objects.filter(pk=project_id, team__memberships__user=user).select_related("team").first()
    if project is None:
        raise Http404("No such project")
    membership = team_for_member(user=user, team_id=project.team_id)
    try:
        copy = services.share_link_copy(
            link=link, project=project, membership=membership, user=user, ip=client_ip(request)
        )
    except services.ShareError as error:
        messages.error(request, str(error))
        return redirect("sharing:page", token=token)
    messages.success(request, f"Copied into {project.name}. Edit on from here.")
    return redirect("chat:conversation", conversation_id=copy.pk)
