"""Project package: settings, URLs, the Celery app and the API plumbing shared by every app."""

from __future__ import annotations

from hrms.celery import app as celery_app

__all__ = ["celery_app"]
