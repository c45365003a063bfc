"""App config of working time: connects its receivers to the signals of the apps below it."""

from __future__ import annotations

from django.apps import AppConfig


class WorktimeConfig(AppConfig):
    name = "worktime"
    verbose_name = "Working time"

    def ready(self) -> None:
        from timesheets.signals import attendance_imported
        from worktime.receivers import attendance_imported_check

        attendance_imported.connect(attendance_imported_check, dispatch_uid="worktime.attendance_imported_check")
