"""What production refuses to start with: placeholder, development or short secrets (hrms/settings_production.py).

A warning from `check --deploy` is easy to miss in a container log, and a product started with the example
SECRET_KEY from docker-compose.yml signs sessions and password-reset links with a key anyone can read. So the
production settings raise ImproperlyConfigured instead. Messages name the setting, never its value.
"""

from __future__ import annotations

import base64
import binascii

# Substrings that mark an example value (docker-compose.yml, docs, Django's startproject, our dev defaults).
# Long and distinctive on purpose: a random key must never match one by chance.
PLACEHOLDER_MARKERS = (
    "change-me",
    "changeme",
    "change_me",
    "replace-with",
    "replace_with",
    "replaceme",
    "placeholder",
    "not-for-production",
    "insecure",
    "example",
    "your-secret",
    "secret-key-here",
)
# hrms/settings.py's development field key ("dev-only-master-key-32-bytes-000").
DEVELOPMENT_FIELD_KEYS = frozenset({"ZGV2LW9ubHktbWFzdGVyLWtleS0zMi1ieXRlcy0wMDA="})
SECRET_KEY_MIN_LENGTH = 50
# Django's own check asks for 5 distinct characters; a random key of 50+ characters has dozens.
SECRET_KEY_MIN_DISTINCT = 10
AUDIT_KEY_MIN_LENGTH = 32
METRICS_TOKEN_MIN_LENGTH = 32
FIELD_KEY_BYTES = 32
HOW_TO_GENERATE = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def secret_problem(name: str, value: str, *, min_length: int, min_distinct: int = 1) -> str | None:
    """Why `value` is not fit to be the production `name`; None when it is."""
    if not value:
        return f"{name} must be set in production"
    if _placeholder(value):
        return f"{name} is a placeholder value; {HOW_TO_GENERATE}"
    if len(value) < min_length:
        return f"{name} is shorter than {min_length} characters; {HOW_TO_GENERATE}"
    if len(set(value)) < min_distinct:
        return f"{name} repeats too few distinct characters to be random; {HOW_TO_GENERATE}"
    return None


def field_keys_problem(entries: list[str]) -> str | None:
    """Why FIELD_ENCRYPTION_KEYS ("id:base64(32 bytes)", comma separated) is not fit for production."""
    name = "FIELD_ENCRYPTION_KEYS"
    how = (
        "each entry is 'id:' and 32 random bytes in base64 "
        "(python -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())')"
    )
    if not entries:
        return f"{name} must be set in production"
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        key_id, separator, encoded = entry.partition(":")
        if not separator or not key_id:
            return f"{name} entry {position} has no key id; {how}"
        if key_id in seen:
            return f"{name} names key id {key_id!r} twice"
        seen.add(key_id)
        if _placeholder(entry) or encoded in DEVELOPMENT_FIELD_KEYS:
            return f"{name} entry {key_id!r} is a placeholder or the development key; {how}"
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return f"{name} entry {key_id!r} is not base64; {how}"
        if len(raw) != FIELD_KEY_BYTES:
            return f"{name} entry {key_id!r} is not {FIELD_KEY_BYTES} bytes; {how}"
        if len(set(raw)) < SECRET_KEY_MIN_DISTINCT:
            return f"{name} entry {key_id!r} is not random; {how}"
    return None


def production_secret_problems(
    *, secret_key: str, audit_key: str, field_keys: list[str], metrics_token: str
) -> list[str]:
    """Every reason the production secrets are unfit (empty when they are all fine)."""
    problems = [
        secret_problem(
            "SECRET_KEY", secret_key, min_length=SECRET_KEY_MIN_LENGTH, min_distinct=SECRET_KEY_MIN_DISTINCT
        ),
        secret_problem("AUDIT_CHECKPOINT_KEY", audit_key, min_length=AUDIT_KEY_MIN_LENGTH, min_distinct=8),
        field_keys_problem(field_keys),
        # An empty metrics token is allowed: /metrics then answers no one (production needs the token).
        secret_problem("METRICS_TOKEN", metrics_token, min_length=METRICS_TOKEN_MIN_LENGTH, min_distinct=8)
        if metrics_token
        else None,
    ]
    return [problem for problem in problems if problem is not None]
