"""Mail for account tests: a real SMTP server on loopback, and Celery tasks run where they are sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from hrms.celery import app
from tests.support.smtp import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """The SMTP server the product sends to (EMAIL_HOST/EMAIL_PORT point at it)."""
    with (
        SmtpServer() as server,
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=server.port,
            EMAIL_USE_TLS=False,
            EMAIL_TIMEOUT=5,
        ),
    ):
        yield server


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Tasks sent on commit run in this thread, inside the test's transaction (tests with `db`); tests that need
    a real worker start one instead."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False
