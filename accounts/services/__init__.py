"""Writes of accounts: logins, invitations, users and their roles, passwords. Each writes its audit event."""

from accounts.services.auth import auth_login_record, auth_token_issue
from accounts.services.invitations import (
    InvitationRequest,
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    invitations_create_many,
)
from accounts.services.passwords import password_change, password_reset_confirm, password_reset_request
from accounts.services.users import user_deactivate, user_reactivate, user_role_set

__all__ = [
    "InvitationRequest",
    "auth_login_record",
    "auth_token_issue",
    "invitation_accept",
    "invitation_create",
    "invitation_resend",
    "invitation_revoke",
    "invitations_create_many",
    "password_change",
    "password_reset_confirm",
    "password_reset_request",
    "user_deactivate",
    "user_reactivate",
    "user_role_set",
]
