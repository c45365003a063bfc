"""Invitations to join a tenant (one-time, expiring links), named API tokens and the single sign-on provider."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from tenants.fields import EncryptedTextField


class Invitation(models.Model):
    """An e-mail address invited with a role. Only a hash of the link's secret is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=32)
    token_hash = models.CharField(max_length=64, unique=True)
    # The employee record the new login is linked to on acceptance (timesheets, a layer above, links it).
    employee_id = models.UUIDField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            # One open invitation per address: a second invite of the same address is a resend.
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role})"

    @property
    def status(self) -> str:
        from django.utils import timezone

        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


def token_key_hash(key: str) -> str:
    """How a secret (an API token key, an invitation link's secret) is stored: its SHA-256, never itself."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A named API token of a user, with an expiry. Only a SHA-256 hash of the key is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the key, so its owner can tell tokens apart.
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_created_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def status(self) -> str:
        from django.utils import timezone

        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"


class SsoProvider(models.Model):
    """The tenant's OpenID Connect provider (at most one row per tenant schema).

    The client secret is encrypted with the tenant's data key and never leaves the server in a response, page
    or log line; reading it is only for the token request.
    """

    SINGLETON = "default"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # A fixed key so a tenant schema holds at most one provider (a unique constraint, not a convention).
    key = models.CharField(max_length=16, default=SINGLETON, unique=True, editable=False)
    display_name = models.CharField(max_length=100)
    issuer = models.URLField(max_length=500)
    client_id = models.CharField(max_length=255)
    client_secret = EncryptedTextField()
    # Lower-case domains; a login whose e-mail is in none of them is refused.
    allowed_domains = models.JSONField(default=list)
    # The ID token claim naming the user's role; absent or empty means `default_role`.
    role_claim = models.CharField(max_length=100, blank=True, default="")
    default_role = models.CharField(max_length=32)
    enabled = models.BooleanField(default=True)
    # Password logins are refused for everyone but Admins.
    require_sso = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.display_name} ({self.issuer})"
