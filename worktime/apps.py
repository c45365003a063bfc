from __future__ import annotations

from django.apps import AppConfig


class WorktimeConfig(AppConfig):
    name = "worktime"
    verbose_name = "Working time"
