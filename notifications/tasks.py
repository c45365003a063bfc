"""Send queued e-mail (a batch per task), retrying with back-off; the last failure is recorded on the message."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from notifications.services import emails_send


@shared_task(bind=True, name="notifications.emails_send", max_retries=None, acks_late=True)
def emails_send_task(self: Any, ids: list[str]) -> int:
    """Retries only the messages that failed, after EMAIL_RETRY_SECONDS doubling each time."""
    retries = int(self.request.retries or 0)
    final = retries >= settings.EMAIL_SEND_RETRIES
    failed = emails_send(ids=ids, final_attempt=final)
    if failed and not final:
        countdown = settings.EMAIL_RETRY_SECONDS * (2**retries)
        raise self.retry(args=[[str(i) for i in failed]], countdown=countdown)
    return len(ids) - len(failed)
