"""Tenant, Domain and wrapped per-tenant data keys, all in the public schema."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from tenants.locales import DEFAULT_LOCALE, LOCALE_CHOICES

SLUG_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"
slug_validator = RegexValidator(SLUG_PATTERN, "Lower-case letters, digits and dashes; starts with a letter.")


class TenantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class Tenant(TenantMixin):  # type: ignore[misc]
    # Provisioning clones the base schema itself, inside its own transaction.
    auto_create_schema = False
    auto_drop_schema = False

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(max_length=40, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC")
    status = models.CharField(max_length=16, choices=TenantStatus.choices, default=TenantStatus.ACTIVE)
    auto_accept_threshold = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.90"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    ml_rate_limit_per_minute = models.PositiveIntegerField(default=100)
    # Admins must sign in with a second factor (docs/accounts.md); one without a device is sent to set it up.
    require_admin_two_step = models.BooleanField(default=False)
    # How pages write dates and numbers (tenants/locales.py).
    locale = models.CharField(max_length=5, choices=LOCALE_CHOICES, default=DEFAULT_LOCALE)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE

    def cache_payload(self) -> dict[str, Any]:
        """The fields a request needs, in a form that survives a JSON round trip through Redis."""
        return {
            "id": str(self.id),
            "schema_name": self.schema_name,
            "slug": self.slug,
            "name": self.name,
            "timezone": self.timezone,
            "status": self.status,
            "auto_accept_threshold": str(self.auto_accept_threshold),
            "ml_rate_limit_per_minute": self.ml_rate_limit_per_minute,
            "require_admin_two_step": self.require_admin_two_step,
            "locale": self.locale,
            "settings": self.settings,
        }

    @classmethod
    def from_cache_payload(cls, payload: dict[str, Any]) -> Tenant:
        tenant = cls(
            id=uuid.UUID(payload["id"]),
            schema_name=payload["schema_name"],
            slug=payload["slug"],
            name=payload["name"],
            timezone=payload["timezone"],
            status=payload["status"],
            auto_accept_threshold=Decimal(payload["auto_accept_threshold"]),
            ml_rate_limit_per_minute=payload["ml_rate_limit_per_minute"],
            # A payload cached before the field existed: the default.
            require_admin_two_step=bool(payload.get("require_admin_two_step", False)),
            locale=payload.get("locale", DEFAULT_LOCALE),
            settings=payload["settings"],
        )
        tenant._state.adding = False
        tenant._state.db = "default"
        return tenant


class Domain(DomainMixin):  # type: ignore[misc]
    pass


class TenantDataKey(models.Model):
    """A tenant's data-encryption key, stored only wrapped (AES-GCM) by a master key from the environment.

    Destroying the row makes every encrypted field of the tenant unreadable, backups included.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="data_keys")
    key_id = models.CharField(max_length=32)
    master_key_id = models.CharField(max_length=32)
    wrapped_key = models.BinaryField()
    is_primary = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key_id"], name="tenant_data_key_unique_id"),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_primary=True), name="tenant_data_key_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.key_id}"
