"""Settings of the bare comparison site: the product's production settings, minus everything per request.

Same logging, database pool and security settings; no tenancy, no middleware, no authentication, no apps.
What is left is the cost of Django, the WSGI server, one pooled PostgreSQL round trip and JSON encoding,
which the product's read path is measured against.
"""

from __future__ import annotations

from hrms.settings_production import *  # noqa: F403
from hrms.settings_production import DATABASES as PRODUCT_DATABASES

ROOT_URLCONF = "loadtests.bare.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASE_ROUTERS = []
DATABASES = {"default": {**PRODUCT_DATABASES["default"], "ENGINE": "django.db.backends.postgresql"}}
