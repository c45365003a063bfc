"""Production hardening on top of the environment-driven settings (`manage.py check --deploy` is clean)."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from hrms.env import env_bool, env_int
from hrms.settings import *  # noqa: F403

if not os.environ.get("SECRET_KEY"):
    raise ImproperlyConfigured("SECRET_KEY must be set in production")
if not os.environ.get("AUDIT_CHECKPOINT_KEY"):
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_KEY must be set in production")
if not os.environ.get("FIELD_ENCRYPTION_KEYS"):
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set in production")

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
