"""URLs of the people-and-access pages."""

from __future__ import annotations

from django.urls import path

from accounts import views_people as views
from accounts import views_sso, views_two_step

urlpatterns = [
    path("users", views.user_index, name="users"),
    path("users/<int:user_id>/deactivate", views.user_deactivate_page, name="user-deactivate-page"),
    path("users/<int:user_id>/reactivate", views.user_reactivate_page, name="user-reactivate-page"),
    path("users/<int:user_id>/role", views.user_role_page, name="user-role-page"),
    path("invitations/<uuid:invitation_id>/resend", views.invitation_resend_page, name="invitation-resend-page"),
    path("invitations/<uuid:invitation_id>/revoke", views.invitation_revoke_page, name="invitation-revoke-page"),
    path("invitations/<str:token>", views.invitation_accept_page, name="invitation-accept-page"),
    path("password-reset", views.password_reset_page, name="password-reset"),
    path("password-reset/<str:uid>/<str:token>", views.password_reset_confirm_page, name="password-reset-confirm"),
    path("account/password", views.password_change_page, name="password-change"),
    path("account/two-step", views_two_step.two_step_page, name="two-step"),
    path("account/two-step/off", views_two_step.two_step_off_page, name="two-step-off"),
    path(
        "account/two-step/recovery-codes",
        views_two_step.two_step_recovery_codes_page,
        name="two-step-recovery-codes",
    ),
    path("emails", views.email_index, name="emails-page"),
    path("settings", views.tenant_settings_page, name="tenant-settings-page"),
    path("settings/sso", views_sso.sso_settings_page, name="sso-settings-page"),
    path("sso/start", views_sso.sso_start, name="sso-start"),
    path("sso/callback", views_sso.sso_callback, name="sso-callback"),
]
