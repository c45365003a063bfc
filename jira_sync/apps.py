"""App config for the Jira integration."""

from __future__ import annotations

from django.apps import AppConfig


class JiraSyncConfig(AppConfig):
    name = "jira_sync"
    default_auto_field = "django.db.models.BigAutoField"
