"""Writes of e-mail: queue a message (sent by a Celery task once the transaction commits) and send queued ones.

This module is the only code that talks to the SMTP server, through Django's e-mail framework and the backend
the settings name (EMAIL_BACKEND, EMAIL_HOST...). A message is rendered and recorded in the caller's
transaction, so a rolled-back invitation leaves no e-mail behind and a committed one always has its row.
"""

from __future__ import annotations

import contextlib
import smtplib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context

from core.schema import current_schema
from notifications.models import EmailStatus, OutgoingEmail

# Messages handed to one SMTP connection by one task.
SEND_BATCH = 50


@dataclass(frozen=True)
class Recipient:
    """One addressee of a templated message and the values their copy is rendered with."""

    to: str
    context: dict[str, Any]


class EmailDeliveryError(Exception):
    """The SMTP server could not be reached or refused a message; the task tries again later."""


def _render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    subject = render_to_string(f"notifications/email/{template}_subject.txt", context)
    body = render_to_string(f"notifications/email/{template}.txt", context)
    return " ".join(subject.split())[:200], body


def emails_queue(*, template: str, recipients: Sequence[Recipient]) -> list[uuid.UUID]:
    """Render and record one message per recipient; they are sent after the caller's transaction commits."""
    rows = []
    for recipient in recipients:
        subject, body = _render(template, recipient.context)
        rows.append(OutgoingEmail(to=recipient.to, template=template, subject=subject, body=body))
    OutgoingEmail.objects.bulk_create(rows, batch_size=500)
    ids = [row.id for row in rows]
    if ids:
        schema = current_schema()
        transaction.on_commit(lambda: emails_send_later(ids=ids, schema=schema))
    return ids


def email_queue(*, template: str, to: str, context: dict[str, Any]) -> uuid.UUID:
    return emails_queue(template=template, recipients=[Recipient(to=to, context=context)])[0]


def emails_send_later(*, ids: Sequence[uuid.UUID], schema: str) -> None:
    """One Celery task per batch of messages (each batch shares an SMTP connection), sent in their tenant."""
    from notifications.tasks import emails_send_task  # the task module imports this one

    with schema_context(schema):
        for start in range(0, len(ids), SEND_BATCH):
            emails_send_task.delay([str(i) for i in ids[start : start + SEND_BATCH]])


def emails_send(*, ids: Iterable[uuid.UUID | str], final_attempt: bool) -> list[uuid.UUID]:
    """Send the queued messages among these ids over one connection; returns the ids that could not be sent.

    Each message's attempt is counted; when `final_attempt`, those not sent are marked failed with the error.
    """
    pending = list(OutgoingEmail.objects.filter(id__in=list(ids), status=EmailStatus.QUEUED).order_by("created_at"))
    if not pending:
        return []
    failed: list[uuid.UUID] = []
    errors: dict[uuid.UUID, str] = {}
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        errors = {row.id: f"{type(error).__name__}: {error}" for row in pending}
    else:
        try:
            for row in pending:
                message = EmailMessage(
                    subject=row.subject,
                    body=row.body,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[row.to],
                    connection=connection,
                )
                try:
                    message.send()
                except (smtplib.SMTPException, OSError) as error:
                    errors[row.id] = f"{type(error).__name__}: {error}"
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()
    now = timezone.now()
    sent = [row.id for row in pending if row.id not in errors]
    OutgoingEmail.objects.filter(id__in=sent).update(
        status=EmailStatus.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""
    )
    for email_id, text in errors.items():
        OutgoingEmail.objects.filter(id=email_id).update(
            status=EmailStatus.FAILED if final_attempt else EmailStatus.QUEUED,
            attempts=F("attempts") + 1,
            last_error=text[:2000],
        )
        failed.append(email_id)
    return failed
