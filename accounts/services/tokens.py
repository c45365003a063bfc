"""Named API tokens: create (the key is shown once), revoke; a revocation reaches every process within a second."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, token_key_hash
from accounts.revocation import credentials_changed
from audit.services import ActorLike, audit_append
from core.errors import Conflict


def default_token_days() -> int:
    return int(getattr(settings, "API_TOKEN_DEFAULT_DAYS", 90))


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str


@transaction.atomic
def api_token_create(*, actor: ActorLike, user: User, name: str, expires_in_days: int | None = None) -> IssuedToken:
    key = secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        key_hash=token_key_hash(key),
        prefix=key[:8],
        expires_at=timezone.now() + timedelta(days=expires_in_days or default_token_days()),
    )
    audit_append(
        actor=actor,
        action="token.create",
        object_type="api_token",
        object_id=token.id,
        data={"user_id": user.pk, "name": token.name, "expires_at": token.expires_at.isoformat()},
    )
    return IssuedToken(token=token, key=key)


@transaction.atomic
def api_token_revoke(*, actor: ActorLike, token: ApiToken) -> ApiToken:
    """The token stops working in every process within AUTH_REVOCATION_CHECK_SECONDS."""
    token = ApiToken.objects.select_for_update().get(id=token.id)
    if token.revoked_at is not None:
        raise Conflict("This token was already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    credentials_changed()
    audit_append(
        actor=actor, action="token.revoke", object_type="api_token", object_id=token.id, data={"user_id": token.user_id}
    )
    return token


def api_token_touch(*, token_id: uuid.UUID, now: datetime) -> None:
    """Record a use (at most once a minute per token and process: the caller remembers; no audit event)."""
    ApiToken.objects.filter(id=token_id).update(last_used_at=now)
