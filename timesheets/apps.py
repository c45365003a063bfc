"""App config for the timesheet records."""

from __future__ import annotations

from django.apps import AppConfig


class TimesheetsConfig(AppConfig):
    name = "timesheets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.signals import invitation_accepted, sso_login_created
        from timesheets.services.logins import employee_link_on_acceptance, employee_link_on_sso_login

        invitation_accepted.connect(employee_link_on_acceptance, dispatch_uid="timesheets-employee-link")
        sso_login_created.connect(employee_link_on_sso_login, dispatch_uid="timesheets-employee-link-sso")
