"""Passwords: reset by a link sent to the login's address (on the tenant's own host), change one's own."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.protection import login_failures_forget
from accounts.revocation import credentials_changed
from audit.services import audit_append
from core.errors import ValidationFailed
from notifications.services import email_queue


class ResetLinkRefused(ValidationFailed):
    code = "reset_link_invalid"


def _validated(password: str, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise ValidationFailed("Choose another password.", fields={field: list(error.messages)}) from error


@transaction.atomic
def password_reset_request(*, email: str, link_base: str) -> bool:
    """Send a reset link to the active login with this address, if there is one. The caller answers the same
    either way (no account enumeration); True when a message was queued."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).order_by("pk").first()
    if user is None:
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    email_queue(
        template="password_reset",
        to=user.email,
        context={
            "username": user.get_username(),
            "tenant_name": str(getattr(getattr(connection, "tenant", None), "name", "")),
            "link": f"{link_base}/password-reset/{uid}/{token}",
            "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        },
    )
    audit_append(actor=user, action="auth.password_reset_request", object_type="user", object_id=user.pk)
    return True


def password_reset_user(*, uid: str, token: str) -> User | None:
    """The active login a reset link is valid for, or None."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, OverflowError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, password: str) -> User:
    """Set a new password through a reset link; the link then stops working (it is bound to the old hash)."""
    user = password_reset_user(uid=uid, token=token)
    if user is None:
        raise ResetLinkRefused(
            "This password reset link is not valid: it was used or has expired. Ask for a new one.",
            fields={"token": ["Not a valid reset link."]},
        )
    _validated(password, user, "password")
    user.set_password(password)
    user.save(update_fields=["password"])
    credentials_changed()
    username = user.get_username()
    transaction.on_commit(lambda: login_failures_forget(username=username))
    audit_append(actor=user, action="auth.password_reset", object_type="user", object_id=user.pk)
    return user


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> User:
    if not user.check_password(old_password):
        raise ValidationFailed("Invalid input.", fields={"old_password": ["This is not your current password."]})
    _validated(new_password, user, "new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    credentials_changed()
    audit_append(actor=user, action="auth.password_change", object_type="user", object_id=user.pk)
    return user
