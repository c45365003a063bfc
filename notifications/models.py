"""OutgoingEmail: one row per message, from queued to sent or failed, in the tenant's schema."""

from __future__ import annotations

import uuid

from django.db import models

from tenants.fields import EncryptedTextField


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutgoingEmail(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    to = models.EmailField(max_length=254)
    template = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    # The body carries one-time links (invitations, password resets): encrypted at rest like other secrets.
    body = EncryptedTextField()
    status = models.CharField(max_length=16, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="email_status_created_idx")]

    def __str__(self) -> str:
        return f"{self.template} to {self.to} ({self.status})"
