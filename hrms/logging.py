"""JSON log lines (one per event) carrying request id, tenant schema and user, with secrets scrubbed.

`ContextFilter` stamps every record with the request id and user from hrms.request_context and the
connection's current schema. `RedactingFilter` is the second line of defence behind "never log PII or
secrets": it masks tokens, authorization headers, credentials in URLs, key-value pairs whose key names a
secret or PII (with any prefix or suffix: `db_password`, `jira_api_token`, `x_secret`), IBAN-shaped and long
digit strings wherever they appear in the message.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

REDACTED = "[redacted]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Token <key> / Bearer <key>, in headers or prose.
    (re.compile(r"(?i)\b(token|bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    # Credentials in a URL: scheme://user:password@host (database, broker and cache URLs).
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@"), rf"\1{REDACTED}@"),
    # key=value or "key": "value" for names that hold secrets or PII, prefixed or suffixed too
    # (db_password, jira_api_token, x_secret, client_secret, aws_secret_access_key, refresh_token).
    (
        re.compile(
            r"(?i)([\"']?\b[\w-]*?(?:password|passwd|passphrase|secret|token|api[_-]?key|authorization|"
            r"credential|private[_-]?key|session[_-]?id|national[_-]?id|bank[_-]?account|iban|salary|ssn)"
            r"[\w-]*\b[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
        ),
        rf"\1{REDACTED}",
    ),
    # DRF token keys and other 40-hex secrets.
    (re.compile(r"\b[0-9a-fA-F]{40}\b"), REDACTED),
    # IBAN-shaped account numbers.
    (re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"), REDACTED),
    # Long digit runs (account and national id numbers), with or without separators.
    (re.compile(r"(?<![\w.:-])\d(?:[ -]?\d){8,}(?![\w.:-])"), REDACTED),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# Field values repeat (routes, methods, tenants, users): short ones are redacted once per process, not per line.
_redact_short = lru_cache(maxsize=4096)(redact)


def _redact_field(value: str) -> str:
    return _redact_short(value) if len(value) <= 200 else redact(value)


def _context_value(key: str) -> Any:
    from hrms.request_context import current_request_id, current_user_id

    if key == "request_id":
        return current_request_id()
    if key == "user_id":
        return current_user_id()
    return _current_schema()


_CONTEXT_KEYS = ("request_id", "user_id", "tenant")


def _current_schema() -> str | None:
    try:
        from django.db import connection

        return getattr(connection, "schema_name", None)
    except Exception:
        return None


class ContextFilter(logging.Filter):
    """Adds request_id, user_id and tenant to records that do not carry them already."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in _CONTEXT_KEYS:
            if getattr(record, key, None) is None:
                setattr(record, key, _context_value(key))
        return True


class RedactingFilter(logging.Filter):
    """Rewrites the message (arguments merged in) with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        record._redacted = True  # the formatter need not scan the message again
        return True


# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage() if getattr(record, "_redacted", False) else redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _redact_field(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact("".join(traceback.format_exception(*record.exc_info)))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, default=str, ensure_ascii=False)
