from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views
from .forms import LoginForm

urlpatterns = [
    path("signup/", views.sign_up, name="sign_up"),
    path("signup/confirm/<str:token>/", views.sign_up_confirm, name="sign_up_confirm"),
    path("invite/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:team_id>/", views.team, name="team"),
    path("teams/<int:team_id>/invite", views.team_invite, name="team_invite"),
    path("teams/<int:team_id>/leave", views.team_leave, name="team_leave"),
    path("teams/<int:team_id>/delete", views.team_delete, name="team_delete"),
    path(
        "teams/<int:team_id>/invitations/<int:invitation_id>/revoke",
        views.team_revoke_invitation,
        name="team_revoke_invitation",
    ),
    path("teams/<int:team_id>/members/<int:membership_id>/<str:action>", views.team_member, name="team_member"),
    path(
        "login/",
        views.ThrottledLoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/form_page.html",
            success_url=reverse_lazy("password_change_done"),
            extra_context={"heading": "Change your password", "button": "Change password"},
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/form_page.html",
            extra_context={"heading": "Password changed", "after": "Other sessions stay signed in until they log out."},
        ),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        views.ThrottledPasswordResetView.as_view(
            template_name="accounts/form_page.html",
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            extra_context={
                "heading": "Reset your password",
                "intro": "Give the email address of your account; we send a link to choose a new password.",
                "button": "Send the link",
            },
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="accounts/form_page.html",
            extra_context={
                "heading": "Check your email",
                "intro": "If an account uses that address, a link to reset its password is on its way.",
            },
        ),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/form_page.html",
            extra_context={"heading": "Choose a new password", "button": "Set password"},
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/form_page.html",
            extra_context={"heading": "Password set", "intro": "Log in with your new password."},
        ),
        name="password_reset_complete",
    ),
]
