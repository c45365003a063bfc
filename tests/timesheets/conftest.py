"""Fixtures the timesheet tests share with the account tests: the loopback SMTP server and eager tasks."""

from tests.accounts.conftest import eager_tasks, smtp  # noqa: F401 - fixtures for this package
