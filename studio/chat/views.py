"""Thin views: parse, authorise through selectors, call one service, render a page or partial."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio.accounts.middleware import HtmxHttpRequest
from studio.accounts.models import Membership, User
from studio.accounts.selectors import teams_for_user, writable_teams
from studio.accounts.views import client_ip
from studio.catalogue.models import GeminiModel
from studio.catalogue.selectors import CatalogueError, default_model
from studio.generation import fairness
from studio.generation.history import context_preview
from studio.ops.streaming import download

from . import fragments, search, selectors, services, versions
from .branches import BranchStep
from .costs import SendCost, send_cost
from .forms import ComposerForm, ProjectForm
from .ids import parse_id, require_id
from .imagestore import MIME_EXTENSION
from .mediafiles import stored_file, thumbnail_file
from .models import Conversation, ImageVersion, Response, Turn
from .options import GenerationOptions, InvalidOptions
from .references import MAX_UPLOAD_BYTES, ReferenceInput, accepted_types


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _studio_default() -> Any:
    try:
        return default_model()
    except CatalogueError as error:
        raise services.ChatError(str(error)) from None


@login_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    teams = list(writable_teams(user=user))  # the form offers only teams the person may create in
    studio_default = _studio_default()
    form = ProjectForm(
        request.POST or None,
        initial={**GenerationOptions().to_dict(), "name": ""},
        model=studio_default,
        default_model=studio_default,
    )
    if request.method == "POST" and form.is_valid():
        if not teams:
            raise Http404("No team you can create projects in")
        team_id = require_id(request.POST.get("team") or str(teams[0].pk), "team")
        membership = next((t.memberships.get(user=user) for t in teams if t.pk == team_id), None)
        if membership is None:
            raise Http404("No such team")
        try:
            project = services.project_create(
                team=membership.team,
                membership=membership,
                user=user,
                name=form.cleaned_data["name"],
                system_instruction=form.cleaned_data["system_instruction"],
                options=form.options(),
                model=form.cleaned_data["gemini_model"],
            )
        except (services.ChatError, InvalidOptions) as error:
            form.add_error(None, str(error))
        else:
            return redirect("chat:project", project_id=project.pk)
    projects = selectors.projects_for_user(user=user)
    shown_team = None
    if (shown_id := parse_id(request.GET.get("team"))) is not None:
        shown_team = next((t for t in teams_for_user(user=user) if t.pk == shown_id), None)
        if shown_team is None:
            raise Http404("No such team")
        projects = projects.filter(team=shown_team)
    archived = selectors.archived_projects_for_user(user=user, team_id=shown_team.pk if shown_team else None)
    context = {"projects": projects, "teams": teams, "form": form, "shown_team": shown_team, "archived": archived}
    return render(request, "chat/home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project(request: HttpRequest, project_id: int) -> HttpResponse:
    user = _user(request)
    project, membership = selectors.project_for_member(user=user, project_id=project_id)
    choice = services.project_model(project)
    form = ProjectForm(
        request.POST or None,
        initial={
            **project.options.to_dict(),
            "name": project.name,
            "system_instruction": project.system_instruction,
            "gemini_model": project.model_id,
        },
        model=choice.model,
        default_model=_studio_default(),
    )
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "new-conversation":
                conversation = services.conversation_start(project=project, membership=membership, user=user)
                return redirect("chat:conversation", conversation_id=conversation.pk)
            if action == "archive":
                services.project_archive(project=project, membership=membership, ip=client_ip(request))
                offer_undo(request, f"Archived “{project.name}”.", reverse("chat:project", args=[project.pk]))
                return redirect("chat:home")
            if action == "restore":
                services.project_restore(project=project, membership=membership, ip=client_ip(request))
                messages.success(request, f"Restored “{project.name}”.")
                return redirect("chat:project", project_id=project.pk)
            if action == "delete":
                typed = request.POST.get("confirm", "")
                services.project_delete(project=project, membership=membership, typed=typed, ip=client_ip(request))
                messages.success(request, f"Deleted “{project.name}” and all its images.")
                return redirect("chat:home")
            if action == "restore-conversation":
                archived = selectors.archived_conversations(project=project)
                chosen = archived.filter(pk=require_id(request.POST.get("conversation"), "conversation")).first()
                if chosen is None:
                    raise Http404("No such archived conversation")
                services.conversation_restore(conversation=chosen, membership=membership)
                messages.success(request, f"Restored “{chosen.title}”.")
                return redirect("chat:conversation", conversation_id=chosen.pk)
            if form.is_valid():
                services.project_update(
                    project=project,
                    membership=membership,
                    name=form.cleaned_data["name"],
                    system_instruction=form.cleaned_data["system_instruction"],
                    options=form.options(),
                    model=form.cleaned_data["gemini_model"],
                )
                messages.success(request, "Project settings saved.")
                return redirect("chat:project", project_id=project.pk)
        except (services.ChatError, InvalidOptions) as error:
            form.add_error(None, str(error))
    conversations = selectors.conversations_for_project(project=project, viewer=user)
    context = {
        "archived_conversations": selectors.archived_conversations(project=project),
        "project": project,
        "membership": membership,
        "conversations": conversations,
        "form": form,
        "model_choice": choice,
    }
    return render(request, "chat/project.html", context)


def _leaf(request: HttpRequest) -> int | None:
    return parse_id(request.GET.get("leaf") or request.POST.get("leaf"))


def _composer_context(
    conversation: Conversation, membership: Membership, steps: list[BranchStep], form: ComposerForm | None = None
) -> dict[str, Any]:
    leaf = steps[-1].turn.pk if steps else None
    archived = selectors.is_archived(conversation)
    choice = services.project_model(conversation.project)
    if form is None:
        form = composer_form(
            conversation, initial={**conversation.project.options.to_dict(), "parent_response": "latest"}
        )
    return {
        "conversation": conversation,
        "composer": form,
        "cost": _send_cost(conversation, choice.model, form, steps),
        "model_choice": choice,
        "can_write": membership.can_write and not archived,
        "archived": archived,
        "membership": membership,
        "leaf": leaf,
        "versions": selectors.project_versions(project_id=conversation.project_id),
        # The tray checks these before anything is uploaded; the server checks them again.
        "reference_max_bytes": MAX_UPLOAD_BYTES,
        "reference_accept": ",".join(sorted(accepted_types())),
    }


@login_required
@require_GET
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, membership = selectors.conversation_for_member(user=_user(request), conversation_id=conversation_id)
    # `?turn=` (a search result) opens the newest branch through that turn.
    through = parse_id(request.GET.get("turn"))
    steps = fragments.branch(
        conversation=conversation, leaf_id=_leaf(request), through=through, newest=fragments.NEWEST_SHOWN
    )
    return _conversation_page(request, conversation, membership, steps)


@login_required
@require_GET
def queue_positions(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Where this page's queued responses stand in the (fair) queue; the page asks every few seconds."""
    conversation, _ = selectors.conversation_for_member(user=_user(request), conversation_id=conversation_id)
    ids = [n for value in request.GET.get("ids", "").split(",")[:200] if (n := parse_id(value)) is not None]
    waiting = list(
        Response.objects.filter(pk__in=ids, turn__conversation=conversation).select_related(
            "turn__conversation__project"
        )
    )
    positions = fairness.queue_positions(waiting)
    return render(request, "chat/conversation.html#queue-positions", {"positions": sorted(positions.items())})


@login_required
@require_GET
def older_turns(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The turns before `before` on the branch ending at `leaf`, a page at a time (scrolling up)."""
    conversation, membership = selectors.conversation_for_member(user=_user(request), conversation_id=conversation_id)
    before = require_id(request.GET.get("before"), "before")
    steps = fragments.branch(
        conversation=conversation, leaf_id=_leaf(request), before=before, newest=fragments.NEWEST_SHOWN
    )
    context = {
        **fragments.turn_list_context(steps),
        "conversation": conversation,
        "can_write": membership.can_write and not selectors.is_archived(conversation),
        "leaf": steps[-1].turn.pk if steps else None,
    }
    return render(request, "chat/conversation.html#older-turns-page", context)


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    results = search.search(user=_user(request), query=query)
    return render(request, "chat/search.html", {"results": results, "query": results.query})


def composer_form(
    conversation: Conversation, data: Any = None, *, initial: dict[str, Any] | None = None
) -> ComposerForm:
    """The composer offers only what the conversation's model (from the catalogue) supports."""
    return ComposerForm(data, initial=initial, model=services.project_model(conversation.project).model)


def _conversation_page(
    request: HttpRequest,
    conversation: Conversation,
    membership: Membership,
    steps: list[BranchStep],
    form: ComposerForm | None = None,
    status: int = 200,
    confirm: str = "",
) -> HttpResponse:
    # The socket's snapshot resends what changed after this (less a margin covering the reads above).
    rendered_at = int(time.time() * 1000)
    context = {
        **_composer_context(conversation, membership, steps, form),
        **fragments.turn_list_context(steps),
        "project": conversation.project,
        "rendered_at": rendered_at,
        "oob": False,
        "confirm": confirm,
    }
    return render(request, "chat/conversation.html", context, status=status)


def _send_cost(
    conversation: Conversation,
    model: GeminiModel,
    form: ComposerForm,
    steps: list[BranchStep],
    roles: Sequence[str] = (),
) -> SendCost | None:
    """The composer's estimate for what it holds now (None while its settings are invalid). A form
    refused for its prompt (or the quota) still has valid settings: the estimate is for those."""
    if form.is_bound:
        form.is_valid()
        if form.option_errors:
            return None
        data: dict[str, Any] = dict(getattr(form, "cleaned_data", {}))
    else:
        data = dict(form.initial)
    try:
        options = GenerationOptions.from_dict(data)
    except InvalidOptions:
        return None
    choice = str(data.get("parent_response") or "latest")
    parent = fragments.default_parent(steps) if choice == "latest" else None
    if (chosen := parse_id(choice)) is not None:
        parent = Response.objects.filter(pk=chosen, turn__conversation=conversation).first()
    prompt = str(data.get("prompt") or "") if form.is_bound else ""
    return send_cost(
        conversation=conversation,
        model=model,
        options=options,
        prompt=prompt,
        parent=parent,
        reference_roles=list(roles),
    )


@login_required
@require_POST
def composer_estimate(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The composer's cost line and settings summary, for what it holds now (htmx, on every change)."""
    conversation, membership = selectors.conversation_for_member(user=_user(request), conversation_id=conversation_id)
    form = composer_form(conversation, request.POST)
    steps = fragments.branch(conversation=conversation, leaf_id=_leaf(request))
    choice = services.project_model(conversation.project)
    cost = _send_cost(conversation, choice.model, form, steps, request.POST.getlist("reference_role"))
    context = {"conversation": conversation, "composer": form, "cost": cost, "membership": membership, "oob": True}
    return HttpResponse(render_to_string("chat/conversation.html#composer-cost-body", context, request=request))


def _chosen_parent(user: User, shown: list[BranchStep], choice: str) -> tuple[Response | None, Turn | None]:
    """The image a new turn edits and the turn it follows. A number ("Edit this"): that image, after
    its own turn (a branch when it is older); "latest": the shown branch's newest image, after the
    branch's last turn; "none": a fresh image, after the last turn."""
    leaf_turn = shown[-1].turn if shown else None
    if (chosen := parse_id(choice)) is not None:
        parent = selectors.response_for_member(user=user, response_id=chosen)
        return parent, parent.turn
    return (fragments.default_parent(shown) if choice == "latest" else None), leaf_turn


def _references(request: HttpRequest, user: User) -> list[ReferenceInput]:
    """The composer sends `reference_order` ("file:N" or "version:ID") with a parallel `reference_role`."""
    files = request.FILES.getlist("reference_files")
    roles = request.POST.getlist("reference_role")
    items = []
    for position, entry in enumerate(request.POST.getlist("reference_order")):
        kind, _, value = entry.partition(":")
        role = roles[position] if position < len(roles) else ""
        number = parse_id(value)
        if kind == "file" and number is not None and number < len(files):
            items.append(ReferenceInput(role=role, upload=files[number]))
        elif kind == "version" and number is not None:
            items.append(ReferenceInput(role=role, version=selectors.version_for_member(user=user, image_id=number)))
    return items


@login_required
@require_POST
def turn_create(request: HtmxHttpRequest, conversation_id: int) -> HttpResponse:
    user = _user(request)
    conversation, membership = selectors.conversation_for_member(user=user, conversation_id=conversation_id)
    leaf = _leaf(request)
    form = composer_form(conversation, request.POST)
    # The composer is a plain form underneath (sent before htmx took over a freshly swapped composer,
    # or with scripts off): answer that with whole pages, and htmx with fragments.
    htmx = bool(request.htmx)
    status = 200
    turn_fragment = ""
    confirm = ""
    if form.is_valid():
        shown = fragments.branch(conversation=conversation, leaf_id=leaf)
        leaf_turn = shown[-1].turn if shown else None
        parent, after = _chosen_parent(user, shown, form.cleaned_data.get("parent_response") or "latest")
        try:
            turn = services.turn_submit(
                conversation=conversation,
                membership=membership,
                user=user,
                prompt=form.cleaned_data["prompt"],
                options=form.options(),
                parent_response=parent,
                after_turn=after,
                references=_references(request, user),
                confirmed=bool(request.POST.get("confirm_cost")),
            )
        except services.CostNeedsConfirmation as error:
            confirm = str(error)
            status = 422
        except (services.ChatError, InvalidOptions) as error:
            form.add_error("prompt", str(error))
            status = 422
        else:
            branch_url = f"{reverse('chat:conversation', args=[conversation.pk])}?leaf={turn.pk}"
            if not htmx:
                return redirect(branch_url)
            if leaf_turn is not None and turn.parent_turn_id != leaf_turn.pk:
                # Editing an older version starts a branch: show that branch.
                response = HttpResponse(status=204)
                response["HX-Redirect"] = branch_url
                return response
            shown = fragments.branch(conversation=conversation, leaf_id=turn.pk)
            turn_fragment = fragments.turn_html(step=shown[-1], can_write=membership.can_write, append=True)
            kept = {k: v for k, v in form.cleaned_data.items() if k not in {"prompt", "parent_response"}}
            form = composer_form(conversation, initial={**kept, "parent_response": "latest"})
    else:
        status = 422
        shown = fragments.branch(conversation=conversation, leaf_id=leaf)
    if not htmx:
        return _conversation_page(request, conversation, membership, shown, form, status, confirm=confirm)
    context = _composer_context(conversation, membership, shown, form) | {"confirm": confirm}
    html = render_to_string("chat/conversation.html#composer", context, request=request)
    return HttpResponse(html + turn_fragment, status=status)


ACTIONS = {
    "regenerate": services.response_regenerate,
    "retry": services.response_retry,
    "cancel": services.response_cancel,
}


@login_required
@require_POST
def response_action(request: HttpRequest, response_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action")
    user = _user(request)
    response = selectors.response_for_member(user=user, response_id=response_id)
    conversation, membership = selectors.conversation_for_member(
        user=user, conversation_id=response.turn.conversation_id
    )
    try:
        ACTIONS[action](response=response, membership=membership)
    except services.ChatError as error:
        return HttpResponse(f'<p class="field-error" role="alert">{escape(str(error))}</p>', status=422)
    steps = fragments.branch(conversation=conversation, leaf_id=response.turn_id)
    html = fragments.turn_html(step=steps[-1], can_write=membership.can_write, append=False)
    return HttpResponse(html)


@login_required
@require_POST
def conversation_rename(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, membership = selectors.conversation_for_member(user=_user(request), conversation_id=conversation_id)
    try:
        services.conversation_rename(
            conversation=conversation, membership=membership, title=request.POST.get("title", "")
        )
    except services.ChatError as error:
        messages.error(request, str(error))
    return redirect("chat:conversation", conversation_id=conversation.pk)


def offer_undo(request: HttpRequest, text: str, restore_page: str) -> None:
    """A notice on the next page with an Undo button (it posts the restore action of that page)."""
    request.session["undo"] = {"text": text, "action": restore_page}


@login_required
@require_POST
def conversation_archive(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, membership = selectors.conversation_for_member(user=_user(request), conversation_id=conversation_id)
    services.conversation_archive(conversation=conversation, membership=membership)
    offer_undo(
        request, f"Archived “{conversation.title}”.", reverse("chat:conversation_restore", args=[conversation.pk])
    )
    return redirect("chat:project", project_id=conversation.project_id)


@login_required
@require_POST
def conversation_restore(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, membership = selectors.conversation_for_member(user=_user(request), conversation_id=conversation_id)
    try:
        services.conversation_restore(conversation=conversation, membership=membership)
    except services.ChatError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Restored “{conversation.title}”.")
    return redirect("chat:conversation", conversation_id=conversation.pk)


@login_required
@require_POST
def conversation_delete(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, membership = selectors.conversation_for_member(user=_user(request), conversation_id=conversation_id)
    try:
        services.conversation_delete(
            conversation=conversation,
            membership=membership,
            typed=request.POST.get("confirm", ""),
            ip=client_ip(request),
        )
    except services.ChatError as error:
        messages.error(request, str(error))
        return redirect("chat:conversation", conversation_id=conversation.pk)
    messages.success(request, f"Deleted “{conversation.title}” and its images.")
    return redirect("chat:project", project_id=conversation.project_id)


# -- media: every image URL checks team membership -----------------------------------------------


def _download_name(image: ImageVersion, extension: str) -> str:
    return f"studio-{image.response.turn.conversation_id}-{image.response_id}-{image.pk}.{extension}"


@login_required
@require_GET
def image_original(request: HttpRequest, image_id: int) -> HttpResponseBase:
    image = selectors.image_for_member(user=_user(request), image_id=image_id)
    filename = _download_name(image, image.extension) if request.GET.get("download") else None
    return stored_file(image.storage_key, image.mime_type, filename=filename, redirect=True)


@login_required
@require_GET
def image_thumbnail(request: HttpRequest, image_id: int) -> HttpResponseBase:
    image = selectors.image_for_member(user=_user(request), image_id=image_id)
    return thumbnail_file(image)


@login_required
@require_GET
def image_rendition(request: HttpRequest, image_id: int) -> HttpResponseBase:
    image = selectors.image_for_member(user=_user(request), image_id=image_id)
    if not image.rendition_key:
        raise Http404("This image has no converted copy; download the original.")
    extension = MIME_EXTENSION[image.rendition_mime_type]
    filename = _download_name(image, extension) if request.GET.get("download") else None
    return stored_file(image.rendition_key, image.rendition_mime_type, filename=filename, redirect=True)


@login_required
@require_GET
def next_call_context(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """What the next call would send: the turns, how each image travels, and the input token cost."""
    user = _user(request)
    conversation, _ = selectors.conversation_for_member(user=user, conversation_id=conversation_id)
    shown = fragments.branch(conversation=conversation, leaf_id=_leaf(request))
    parent, _ = _chosen_parent(user, shown, request.GET.get("parent_response", "latest"))
    preview = context_preview(parent)
    return render(request, "chat/conversation.html#next-call", {"preview": preview})


@login_required
@require_GET
def reference_thumbnail(request: HttpRequest, reference_id: int) -> HttpResponseBase:
    reference = selectors.reference_for_member(user=_user(request), reference_id=reference_id)
    return stored_file(reference.thumbnail_key, "image/webp")


@login_required
@require_GET
def version_history(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, _ = selectors.conversation_for_member(user=_user(request), conversation_id=conversation_id)
    every = versions.conversation_versions(conversation=conversation)
    start = parse_id(request.GET.get("from")) or 0
    groups = versions.branch_groups(conversation=conversation, versions=every)
    slices, next_start = versions.page_of(groups, start)
    context = {
        "conversation": conversation,
        "project": conversation.project,
        "versions": every,
        "slices": slices,
        "next_start": next_start,
        "remaining": len(every) - next_start if next_start is not None else 0,
        "branch_count": len(groups),
    }
    page = "chat/versions.html#version-page" if start else "chat/versions.html"
    return render(request, page, context)


@login_required
@require_GET
def version_compare(request: HttpRequest, conversation_id: int) -> HttpResponse:
    user = _user(request)
    conversation, _ = selectors.conversation_for_member(user=user, conversation_id=conversation_id)
    picked = [number for value in request.GET.getlist("v") if (number := parse_id(value)) is not None][:2]
    if len(picked) != 2:
        messages.error(request, "Pick exactly two versions to compare.")
        return redirect("chat:versions", conversation_id=conversation.pk)
    left, right = (selectors.image_for_member(user=user, image_id=number) for number in picked)
    context = {"conversation": conversation, "project": conversation.project, "left": left, "right": right}
    return render(request, "chat/compare.html", context)


@login_required
@require_GET
def lineage_download(request: HttpRequest, image_id: int) -> StreamingHttpResponse:
    image = selectors.image_for_member(user=_user(request), image_id=image_id)
    name = f"studio-lineage-{image.response.turn.conversation_id}-{image.pk}.zip"
    return download(request, versions.lineage_zip(image), content_type="application/zip", filename=name)


# Google's Search Suggestions must be shown exactly as sent: its own document, its own CSP,
# framed only by us and sandboxed by the iframe (no scripts, links open a new tab).
SUGGESTIONS_CSP = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["https:", "data:"],
    "base-uri": ["'self'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'self'"],
}


@login_required
@require_GET
@xframe_options_sameorigin
@csp_override(SUGGESTIONS_CSP)
def search_suggestions(request: HttpRequest, response_id: int) -> HttpResponse:
    response = selectors.response_for_member(user=_user(request), response_id=response_id)
    return HttpResponse(suggestions_document(response), content_type="text/html; charset=utf-8")


def suggestions_document(response: Response) -> str:
    """Google's Search Suggestions HTML exactly as sent, as its own document (404 when there is none)."""
    rendered = ((response.grounding or {}).get("search_entry_point") or {}).get("rendered_content")
    if not rendered:
        raise Http404("This response has no search suggestions.")
    return (
        '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
        '<meta name="referrer" content="no-referrer"></head><body style="margin:0">'
        f"{rendered}</body></html>"
    )
