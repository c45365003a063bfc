"""WSGI entry of the bare comparison site (`gunicorn loadtests.bare.wsgi:application`)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "loadtests.bare.settings"
application = get_wsgi_application()
