"""Reads of the e-mail record."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.models import OutgoingEmail


def email_list(*, status: str | None = None, to: str | None = None) -> QuerySet[OutgoingEmail]:
    """Messages, newest first; the body (encrypted, with one-time links) is never read here."""
    emails = OutgoingEmail.objects.defer("body")
    if status:
        emails = emails.filter(status=status)
    if to:
        emails = emails.filter(to__iexact=to.strip())
    return emails.order_by("-created_at", "id")
