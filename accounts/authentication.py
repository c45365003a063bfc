"""API token authentication with the token's user and roles remembered in process memory for a short while.

Every API request authenticates, so DRF's TokenAuthentication would cost two queries per request (the token
with its user, then the user's groups for the role checks). Here a hit costs none: the user, with its role
names attached, is kept per (tenant schema, token) for `AUTH_TOKEN_CACHE_SECONDS` (default 30 s).

The price is that window: a deleted token or a deactivated user keeps working for up to that many seconds on
processes that had just seen it (`core.ttlcache.ttl_caches_forget` clears this process at once). Set the
setting to 0 to read the database on every request.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from core.roles import user_roles
from core.schema import current_schema
from core.ttlcache import TtlCache


def _ttl() -> float:
    return float(getattr(settings, "AUTH_TOKEN_CACHE_SECONDS", 30))


# (tenant schema, token key) -> the token's user with its roles read.
_users: TtlCache[tuple[str, str], Any] = TtlCache("auth-tokens", maxsize=10_000, ttl=_ttl)


class CachedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, answered from process memory when the same token was seen recently."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if _ttl() <= 0:
            return super().authenticate_credentials(key)
        cache_key = (current_schema(), key)
        user = _users.get(cache_key)
        if user is None:
            try:
                token = Token.objects.select_related("user").get(key=key)
            except Token.DoesNotExist as missing:
                raise exceptions.AuthenticationFailed("Invalid token.") from missing
            if not token.user.is_active:
                raise exceptions.AuthenticationFailed("User inactive or deleted.")
            user = token.user
            user_roles(user)  # read the groups now, so that later requests carry them
            _users.put(cache_key, user)
        # A copy per request: whatever a view sets on request.user stays with that request.
        return copy.copy(user), Token(key=key, user_id=user.pk)
