"""Production hardening on top of the environment-driven settings (`manage.py check --deploy` is clean)."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from hrms.deploy_checks import production_secret_problems
from hrms.env import env_bool, env_int, env_list
from hrms.settings import *  # noqa: F403
from hrms.settings import JIRA_ALLOW_PRIVATE_HOSTS

# Read from the environment itself: hrms.settings falls back to development values, which must not count here.
_problems = production_secret_problems(
    secret_key=os.environ.get("SECRET_KEY", ""),
    audit_key=os.environ.get("AUDIT_CHECKPOINT_KEY", ""),
    field_keys=env_list("FIELD_ENCRYPTION_KEYS", []),
    metrics_token=os.environ.get("METRICS_TOKEN", ""),
)
if _problems:
    raise ImproperlyConfigured("; ".join(_problems))
if JIRA_ALLOW_PRIVATE_HOSTS:
    raise ImproperlyConfigured(
        "JIRA_ALLOW_PRIVATE_HOSTS is a development setting (the local Jira stand-in); production refuses it"
    )
# Jira Cloud is https; a plain-http site would carry the tenant's API token in clear (docs/jira.md).
JIRA_REQUIRE_HTTPS = True
# A single sign-on provider's discovery, keys and code exchange only over https (docs/operations.md).
SSO_REQUIRE_HTTPS = True
# /metrics only with `Authorization: Bearer $METRICS_TOKEN`: behind a proxy on the same host every client's
# socket address is the proxy's, so the peer address proves nothing (docs/operations.md).
METRICS_REQUIRE_TOKEN = True

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
