"""WSGI entry point for gunicorn."""

from __future__ import annotations

import gc
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings")
django_application = get_wsgi_application()

# Every view imported and the URL resolvers built now, in the master when gunicorn preloads: a new or recycled
# worker answers its first request at full speed instead of stalling its connections for a second or two.
for _urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
    get_resolver(_urlconf).reverse_dict  # noqa: B018 -- populating the resolver is the point

# Imported once Django is set up. A tenant flooding the ML endpoints past its budget is refused before Django
# runs (hrms/ratelimits.py).
from core.ratelimits import MlLoadSheddingWSGI  # noqa: E402

application = MlLoadSheddingWSGI(django_application)

# Everything imported so far lives as long as the process: moved out of the garbage collector's generations, so
# the full collections a worker runs under load no longer walk the whole of Django, DRF and scikit-learn (and
# forked workers keep sharing those pages instead of copying them when the collector touches them).
gc.freeze()
