"""Writes of authentication: API token issue and session logins, each with its audit event."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token

from audit.services import Actor, audit_append


@transaction.atomic
def auth_token_issue(*, user: Any, second_factor: str | None = None) -> str:
    """The user's API token (created on first request)."""
    token, created = Token.objects.get_or_create(user=user)
    data: dict[str, Any] = {"created": created}
    if second_factor is not None:
        data["second_factor"] = second_factor
    audit_append(
        actor=Actor(kind="user", id=str(user.pk), label=user.get_username()),
        action="auth.token_issue",
        object_type="user",
        object_id=user.pk,
        data=data,
    )
    return str(token.key)


@transaction.atomic
def auth_login_record(*, user: Any, second_factor: str | None = None) -> None:
    data = {"via": "session"} if second_factor is None else {"via": "session", "second_factor": second_factor}
    audit_append(actor=user, action="auth.login", object_type="user", object_id=user.pk, data=data)
