"""Settings of the bare comparison site: the product's database configuration (same pool) and nothing else.

No tenancy, no middleware, no authentication: what is left is the cost of Django, the WSGI server, one pooled
PostgreSQL round trip and JSON encoding, which the product's read path is measured against.
"""

from __future__ import annotations

from typing import Any

from hrms.settings import DATABASES as PRODUCT_DATABASES

SECRET_KEY = "bare-site-has-no-secrets"  # noqa: S105 -- the bare site serves one public row and nothing else
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "loadtests.bare.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True
DATABASES: dict[str, dict[str, Any]] = {
    "default": {**PRODUCT_DATABASES["default"], "ENGINE": "django.db.backends.postgresql"}
}
