"""WSGI entry point for gunicorn."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings")
django_application = get_wsgi_application()

# Imported once Django is set up. A tenant flooding the ML endpoints past its budget is refused before Django
# runs (hrms/ratelimits.py).
from hrms.ratelimits import MlLoadSheddingWSGI  # noqa: E402

application = MlLoadSheddingWSGI(django_application)
