"""API token authentication with the token's user and roles remembered in process memory for a short while.

`Authorization: Token <key>` accepts a named API token (accounts.models.ApiToken: per user, with an expiry,
stored as a SHA-256 hash) or the login token `POST /api/auth/token` hands out (DRF's authtoken table).

Every API request authenticates, so a database lookup per request would cost two queries (the token with its
user, then the user's groups for the role checks). Here a hit costs none: the user, with its role names
attached, is kept per (tenant schema, token) for `AUTH_TOKEN_CACHE_SECONDS` (default 30 s).

A revoked token, a deactivated user or a role change bumps the tenant's credential generation
(accounts/revocation.py); an entry remembered under an older generation is not used, so such a change reaches
every process within `AUTH_REVOCATION_CHECK_SECONDS`. An expired token is refused by its remembered expiry.
Set `AUTH_TOKEN_CACHE_SECONDS` to 0 to read the database on every request.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from accounts.models import ApiToken, token_key_hash
from accounts.revocation import credentials_generation
from core.roles import user_roles
from core.schema import current_schema
from core.ttlcache import TtlCache

# A token's last use is written at most this often per process.
LAST_USED_SECONDS = 60


def _ttl() -> float:
    return float(getattr(settings, "AUTH_TOKEN_CACHE_SECONDS", 30))


@dataclass(frozen=True)
class _Known:
    generation: int
    user: Any
    expires_at: datetime | None
    api_token_id: Any


# (tenant schema, token key) -> what the database said about the token.
_users: TtlCache[tuple[str, str], _Known] = TtlCache("auth-tokens", maxsize=10_000, ttl=_ttl)
# (tenant schema, api token id) -> True once its last use was written recently.
_touched: TtlCache[tuple[str, str], bool] = TtlCache("auth-token-used", maxsize=10_000, ttl=LAST_USED_SECONDS)


def _load(key: str, generation: int) -> _Known:
    api_token = ApiToken.objects.select_related("user").filter(key_hash=token_key_hash(key)).first()
    if api_token is not None:
        if api_token.revoked_at is not None or api_token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("Invalid token.")
        user, expires_at, api_token_id = api_token.user, api_token.expires_at, api_token.id
    else:
        try:
            token = Token.objects.select_related("user").get(key=key)
        except Token.DoesNotExist as missing:
            raise exceptions.AuthenticationFailed("Invalid token.") from missing
        user, expires_at, api_token_id = token.user, None, None
    if not user.is_active:
        raise exceptions.AuthenticationFailed("User inactive or deleted.")
    user_roles(user)  # read the groups now, so that later requests carry them
    return _Known(generation=generation, user=user, expires_at=expires_at, api_token_id=api_token_id)


class CachedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, answered from process memory when the same token was seen recently."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        generation = credentials_generation()
        schema = current_schema()
        cache_key = (schema, key)
        known = _users.get(cache_key) if _ttl() > 0 and generation is not None else None
        now = timezone.now()
        if known is None or known.generation != generation:
            # Unknown generation (Redis unreadable): read the database and remember nothing.
            known = _load(key, generation if generation is not None else -1)
            if _ttl() > 0 and generation is not None:
                _users.put(cache_key, known)
        if known.expires_at is not None and known.expires_at <= now:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if known.api_token_id is not None and _touched.get((schema, str(known.api_token_id))) is None:
            # Imported here: DRF imports this module while core.errors (which services use) is loading.
            from accounts.services.tokens import api_token_touch

            api_token_touch(token_id=known.api_token_id, now=now)
            _touched.put((schema, str(known.api_token_id)), True)
        # A copy per request: whatever a view sets on request.user stays with that request.
        return copy.copy(known.user), Token(key=key, user_id=known.user.pk)
