"""URLs of the users, invitations and password API."""

from __future__ import annotations

from django.urls import path

from accounts import api_settings, api_sso, api_tokens, api_two_step
from accounts import api_users as api

urlpatterns = [
    path("users", api.UserListApi.as_view(), name="users"),
    path("users/<int:user_id>", api.UserDetailApi.as_view(), name="user-detail"),
    path("users/<int:user_id>/deactivate", api.UserDeactivateApi.as_view(), name="user-deactivate"),
    path("users/<int:user_id>/reactivate", api.UserReactivateApi.as_view(), name="user-reactivate"),
    path("users/<int:user_id>/role", api.UserRoleApi.as_view(), name="user-role"),
    path("invitations", api.InvitationListApi.as_view(), name="invitations"),
    path("invitations/accept", api.InvitationAcceptApi.as_view(), name="invitation-accept"),
    path("invitations/<str:invitation_id>/resend", api.InvitationResendApi.as_view(), name="invitation-resend"),
    path("invitations/<str:invitation_id>/revoke", api.InvitationRevokeApi.as_view(), name="invitation-revoke"),
    path("auth/password-reset", api.PasswordResetApi.as_view(), name="password-reset-api"),
    path("auth/password-reset/confirm", api.PasswordResetConfirmApi.as_view(), name="password-reset-confirm-api"),
    path("auth/password", api.PasswordChangeApi.as_view(), name="password-change-api"),
    path("auth/two-step", api_two_step.TwoStepApi.as_view(), name="two-step-api"),
    path("auth/two-step/setup", api_two_step.TwoStepSetupApi.as_view(), name="two-step-setup-api"),
    path("auth/two-step/confirm", api_two_step.TwoStepConfirmApi.as_view(), name="two-step-confirm-api"),
    path("auth/two-step/disable", api_two_step.TwoStepDisableApi.as_view(), name="two-step-disable-api"),
    path(
        "auth/two-step/recovery-codes",
        api_two_step.TwoStepRecoveryCodesApi.as_view(),
        name="two-step-recovery-codes-api",
    ),
    path("tenant/settings", api_settings.TenantSettingsApi.as_view(), name="tenant-settings"),
    path("sso/provider", api_sso.SsoProviderApi.as_view(), name="sso-provider"),
    path("tokens", api_tokens.ApiTokenListApi.as_view(), name="api-tokens"),
    path("tokens/<str:token_id>/revoke", api_tokens.ApiTokenRevokeApi.as_view(), name="api-token-revoke"),
]
