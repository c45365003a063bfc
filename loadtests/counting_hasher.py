"""The production password hasher (PBKDF2, Django's default cost), counting every hash it computes in Redis.

Used only by the login-protection benchmark (loadtests/login_settings.py), to count what a burst of guesses
costs the server: each `encode` (a login check or the dummy hash of an unknown user) adds one.
"""

from __future__ import annotations

import os

import redis
from django.contrib.auth.hashers import PBKDF2PasswordHasher

COUNTER_KEY = "bench:login:password-hashes"


def _client() -> redis.Redis:
    return redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


def hashes_count() -> int:
    return int(_client().get(COUNTER_KEY) or 0)


def hashes_reset() -> None:
    _client().delete(COUNTER_KEY)


class CountingPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        _client().incr(COUNTER_KEY)
        return super().encode(password, salt, iterations)
