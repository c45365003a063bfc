"""App config of working time: its receivers of the signals below it, and its panels on the timesheet pages."""

from __future__ import annotations

from django.apps import AppConfig


class WorktimeConfig(AppConfig):
    name = "worktime"
    verbose_name = "Working time"

    def ready(self) -> None:
        from timesheets.signals import attendance_imported
        from worktime.panels import panels_register
        from worktime.receivers import attendance_imported_check

        attendance_imported.connect(attendance_imported_check, dispatch_uid="worktime.attendance_imported_check")
        panels_register()
