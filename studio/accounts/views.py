"""Accounts and teams: sign-up with email confirmation, invitations, the team page. Thin: parse,
authorise through selectors, call one service, render or redirect."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from studio.billing.selectors import team_budget
from studio.chat.ids import require_id

from . import mail, selectors, services, throttle
from .forms import ProfileForm, SignUpForm, TeamForm
from .models import Membership, Role, SitePolicy, User

CONFIRM_SALT = "studio.signup.confirm"
CONFIRM_MAX_AGE_S = 3 * 24 * 3600


def client_ip(request: HttpRequest) -> str | None:
    """For the audit log: the same address the throttles count (X-Forwarded-For behind a TLS proxy)."""
    return throttle.client_address(request) or None


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def safe_next(request: HttpRequest, value: str | None) -> str:
    """`value` when it is a URL on this site, else the home page (never an open redirect)."""
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
        return value
    return reverse("chat:home")


def _pending_invitation(request: HttpRequest) -> str:
    token = request.GET.get("invite") or request.POST.get("invite") or ""
    invitation = services.invitation_by_token(token) if token else None
    return token if invitation is not None and invitation.state == "pending" else ""


class ThrottledLoginView(auth_views.LoginView):
    """Wrong passwords count per account and per address; past the limit every try is refused, the
    right password too, until the window passes."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        wait = throttle.wait_seconds(request, throttle.LOGIN)
        if wait:
            form = self.get_form()
            form.is_bound = True
            form.errors.clear()
            form.add_error(None, throttle.refusal(wait))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        throttle.count(self.request, throttle.LOGIN)
        return super().form_invalid(form)


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        wait = throttle.wait_seconds(request, throttle.PASSWORD_RESET)
        if wait:
            messages.error(request, throttle.refusal(wait))
            return redirect("password_reset")
        throttle.count(request, throttle.PASSWORD_RESET)  # every request sends mail: each one counts
        return super().post(request, *args, **kwargs)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ProfileForm(request.POST or None, initial={"display_name": user.display_name})
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(user=user, display_name=form.cleaned_data["display_name"])
        messages.success(request, "Profile saved.")
        return redirect("profile")
    memberships = user.memberships.select_related("team").order_by("-team__is_personal", "team__name")
    return render(request, "accounts/profile.html", {"form": form, "memberships": memberships})


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    """The answer is the same whether or not the email already has an account: both get a message
    (a confirmation link, or a reminder to log in), so sign-up never tells who is registered."""
    if request.user.is_authenticated:
        return redirect("chat:home")
    invite = _pending_invitation(request)
    if not SitePolicy.current().open_sign_up and not invite:
        return render(request, "accounts/sign_up_closed.html", status=403)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and (wait := throttle.wait_seconds(request, throttle.SIGN_UP)):
        form.is_valid()
        form.add_error(None, throttle.refusal(wait))
        return render(request, "accounts/sign_up.html", {"form": form, "invite": invite}, status=429)
    if request.method == "POST" and form.is_valid():
        throttle.count(request, throttle.SIGN_UP)  # each sign-up sends mail: each one counts
        email = form.cleaned_data["email"]
        next_url = reverse("accept_invitation", args=[invite]) if invite else reverse("chat:home")
        if User.objects.filter(email__iexact=email).exists():
            mail.send_plain(
                to=email,
                subject="You already have a Studio account",
                body=(
                    "Someone (perhaps you) tried to sign up to Studio with this address, which already has an "
                    f"account. Log in: {request.build_absolute_uri(reverse('login'))}\n"
                    f"Forgot the password? {request.build_absolute_uri(reverse('password_reset'))}\n"
                    "If it was not you, ignore this message."
                ),
            )
        else:
            user = services.user_sign_up(**form.cleaned_data, is_active=False)
            token = signing.dumps({"user": user.pk, "next": next_url}, salt=CONFIRM_SALT)
            link = request.build_absolute_uri(reverse("sign_up_confirm", args=[token]))
            mail.send_plain(
                to=email,
                subject="Confirm your Studio account",
                body=f"Welcome to Studio. Confirm your address to start: {link}\n\nThe link works for 3 days.",
            )
        return render(request, "accounts/check_email.html", {"email": email, "local_mail": _local_mail()})
    return render(request, "accounts/sign_up.html", {"form": form, "invite": invite})


def _local_mail() -> bool:
    return bool(settings.MAILERS["default"]["BACKEND"] == "studio.accounts.mail.ConsoleAndFileBackend")


def sign_up_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE_S)
        user = User.objects.get(pk=data["user"])
    except (signing.BadSignature, User.DoesNotExist, KeyError, TypeError):
        messages.error(request, "That confirmation link is not valid or has expired. Sign up again.")
        return redirect("sign_up")
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, "Your address is confirmed. Welcome to Studio.")
    return redirect(safe_next(request, data.get("next")))


# -- invitations -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_by_token(token)
    if invitation is None:
        raise Http404("No such invitation")
    user = _user(request) if request.user.is_authenticated else None
    problem = services.invitation_problem(invitation, user)
    if request.method == "POST" and user is not None and not problem:
        try:
            services.invitation_accept(invitation=invitation, user=user, ip=client_ip(request))
        except services.TeamError as error:
            problem = str(error)
        else:
            messages.success(request, f"You joined {invitation.team.name} as {invitation.get_role_display().lower()}.")
            return redirect("team", team_id=invitation.team_id)
    context = {"invitation": invitation, "token": token, "problem": problem, "signed_in": user is not None}
    return render(request, "accounts/invitation.html", context, status=410 if problem and user is None else 200)


# -- teams -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def teams(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = services.team_create(user=user, name=form.cleaned_data["name"], ip=client_ip(request))
        messages.success(request, f"Created {team.name}. Invite people to it below.")
        return redirect("team", team_id=team.pk)
    memberships = user.memberships.select_related("team").order_by("-team__is_personal", "team__name")
    return render(request, "accounts/teams.html", {"memberships": memberships, "form": form})


@login_required
def team(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = selectors.team_for_member(user=_user(request), team_id=team_id)
    context = {
        "membership": membership,
        "team": membership.team,
        "members": selectors.team_members(team=membership.team),
        "invitations": selectors.team_invitations(team=membership.team) if membership.can_manage else [],
        "audit": selectors.team_audit(team=membership.team) if membership.can_manage else [],
        "roles": [(value, label) for value, label in Role.choices if membership.is_owner or value != Role.OWNER],
        "new_link": request.session.pop(f"new_invitation_link:{team_id}", ""),
        "invitation_days": services.INVITATION_DAYS,
        "budget": team_budget(membership.team) if membership.can_manage else None,
    }
    return render(request, "accounts/team.html", context)


def _team_action(request: HttpRequest, team_id: int) -> tuple[User, Membership]:
    user = _user(request)
    return user, selectors.team_for_member(user=user, team_id=team_id)


@login_required
@require_POST
def team_invite(request: HttpRequest, team_id: int) -> HttpResponse:
    _, actor = _team_action(request, team_id)
    days = require_id(request.POST.get("days"), "expiry")
    email = request.POST.get("email", "").strip()
    try:
        invitation, token = services.invitation_create(
            actor=actor, role=request.POST.get("role", Role.MEMBER), email=email, days=days, ip=client_ip(request)
        )
    except services.TeamError as error:
        messages.error(request, str(error))
        return redirect("team", team_id=team_id)
    link = request.build_absolute_uri(reverse("accept_invitation", args=[token]))
    if invitation.email:
        mail.send_invitation(invitation=invitation, link=link)
        messages.success(request, f"Invitation sent to {invitation.email}.")
    request.session[f"new_invitation_link:{team_id}"] = link  # shown once, on the next page
    return redirect("team", team_id=team_id)


@login_required
@require_POST
def team_revoke_invitation(request: HttpRequest, team_id: int, invitation_id: int) -> HttpResponse:
    _, actor = _team_action(request, team_id)
    invitation = selectors.invitation_in_team(team=actor.team, invitation_id=invitation_id)
    try:
        services.invitation_revoke(actor=actor, invitation=invitation, ip=client_ip(request))
        messages.success(request, "Invitation withdrawn: its link no longer works.")
    except services.TeamError as error:
        messages.error(request, str(error))
    return redirect("team", team_id=team_id)


@login_required
@require_POST
def team_member(request: HttpRequest, team_id: int, membership_id: int, action: str) -> HttpResponse:
    _, actor = _team_action(request, team_id)
    target = selectors.membership_in_team(team=actor.team, membership_id=membership_id)
    ip = client_ip(request)
    try:
        if action == "role":
            services.membership_change_role(actor=actor, target=target, role=request.POST.get("role", ""), ip=ip)
            messages.success(request, f"{target.user.username} is now {target.get_role_display().lower()}.")
        elif action == "remove":
            services.membership_remove(actor=actor, target=target, ip=ip)
            messages.success(request, f"Removed {target.user.username} from {actor.team.name}.")
        elif action == "owner":
            services.team_transfer_ownership(actor=actor, target=target, ip=ip)
            messages.success(request, f"{target.user.username} is now an owner; you are an admin.")
        else:
            raise Http404("No such action")
    except services.TeamError as error:
        messages.error(request, str(error))
    return redirect("team", team_id=team_id)


@login_required
@require_POST
def team_delete(request: HttpRequest, team_id: int) -> HttpResponse:
    from studio.chat.services import ChatError, team_delete  # chat's data goes with the team

    _, membership = _team_action(request, team_id)
    name = membership.team.name
    try:
        team_delete(membership=membership, typed=request.POST.get("confirm", ""), ip=client_ip(request))
    except ChatError as error:
        messages.error(request, str(error))
        return redirect("team", team_id=team_id)
    messages.success(request, f"Deleted the team {name} and everything in it.")
    return redirect("teams")


@login_required
@require_POST
def team_leave(request: HttpRequest, team_id: int) -> HttpResponse:
    _, membership = _team_action(request, team_id)
    try:
        services.team_leave(membership=membership, ip=client_ip(request))
    except services.TeamError as error:
        messages.error(request, str(error))
        return redirect("team", team_id=team_id)
    messages.success(request, f"You left {membership.team.name}.")
    return redirect("teams")
