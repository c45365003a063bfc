"""App config for tenant locks."""

from __future__ import annotations

from django.apps import AppConfig


class LocksConfig(AppConfig):
    name = "locks"
    default_auto_field = "django.db.models.BigAutoField"
