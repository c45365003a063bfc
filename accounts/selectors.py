"""Reads of accounts: users with their roles, invitations, tokens, second factors."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, Invitation, SsoProvider
from core.errors import NotFound
from core.roles import is_admin_user


def user_list(*, active: bool | None = None, role: str | None = None, search: str | None = None) -> QuerySet[User]:
    """Users by username, their roles prefetched (two queries for any page)."""
    users = User.objects.prefetch_related(Prefetch("groups", queryset=Group.objects.only("id", "name")))
    if active is not None:
        users = users.filter(is_active=active)
    if role:
        users = users.filter(groups__name=role)
    if search:
        users = users.filter(Q(username__icontains=search) | Q(email__icontains=search))
    return users.order_by("username", "id")


def user_get(*, user_id: Any) -> User:
    text = str(user_id)
    pk = int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**31 else None
    user = User.objects.filter(pk=pk).first() if pk is not None else None
    if user is None:
        raise NotFound("No such user.")
    return user


def user_role_names(user: User) -> list[str]:
    return sorted(group.name for group in user.groups.all())


def invitation_list(*, status: str | None = None) -> QuerySet[Invitation]:
    invitations = Invitation.objects.all()
    now = timezone.now()
    if status == "pending":
        invitations = invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
    elif status == "expired":
        invitations = invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
    elif status == "accepted":
        invitations = invitations.filter(accepted_at__isnull=False)
    elif status == "revoked":
        invitations = invitations.filter(revoked_at__isnull=False)
    return invitations.order_by("-created_at", "id")


def invitation_get(*, invitation_id: Any) -> Invitation:
    try:
        key = uuid.UUID(str(invitation_id))
    except (TypeError, ValueError, AttributeError):
        key = None
    invitation = Invitation.objects.filter(id=key).first() if key is not None else None
    if invitation is None:
        raise NotFound("No such invitation.")
    return invitation


def api_token_list(*, user: Any, owner_id: int | None = None) -> QuerySet[ApiToken]:
    """The user's own tokens; an Admin may ask for another user's (`owner_id`) or, with -1, everyone's."""
    tokens = ApiToken.objects.select_related("user").only(
        "id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "user__id", "user__username"
    )
    if not is_admin_user(user):
        return tokens.filter(user=user).order_by("-created_at", "id")
    if owner_id is None:
        return tokens.filter(user=user).order_by("-created_at", "id")
    if owner_id == ALL_OWNERS:
        return tokens.order_by("-created_at", "id")
    return tokens.filter(user_id=owner_id).order_by("-created_at", "id")


ALL_OWNERS = -1


def api_token_get(*, token_id: Any, user: Any) -> ApiToken:
    """A token the user may see: their own, or any for an Admin; NotFound otherwise."""
    try:
        key = uuid.UUID(str(token_id))
    except (TypeError, ValueError, AttributeError):
        key = None
    tokens = ApiToken.objects.all() if is_admin_user(user) else ApiToken.objects.filter(user=user)
    token = tokens.filter(id=key).first() if key is not None else None
    if token is None:
        raise NotFound("No such token.")
    return token


def two_step_enabled(*, user: Any) -> bool:
    """The user signs in with a second factor: a confirmed authenticator app."""
    return bool(user.pk) and TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_step_pending_device(*, user: Any) -> Any:
    """The unconfirmed authenticator device of a set-up under way, or None."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).select_related("user").first()


def two_step_recovery_codes_left(*, user: Any) -> int:
    return int(StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


def sso_provider_get() -> SsoProvider | None:
    """The tenant's single sign-on provider, configured or not."""
    return SsoProvider.objects.filter(key=SsoProvider.SINGLETON).first()
