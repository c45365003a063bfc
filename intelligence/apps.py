"""App config for the intelligence layer."""

from __future__ import annotations

from django.apps import AppConfig


class IntelligenceConfig(AppConfig):
    name = "intelligence"
    default_auto_field = "django.db.models.BigAutoField"
