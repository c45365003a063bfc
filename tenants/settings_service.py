"""A tenant's own settings (display name, time zone, locale, work week, suggestion granularity, auto-accept
threshold, ML rate limit, whether Admins must use a second factor): validated, audited in the tenant's chain, and
forgotten by every process's tenant lookup."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict, cast

from django.db import connection, transaction

from audit.services import ActorLike, audit_append
from core.errors import ValidationFailed
from tenants.cache import tenant_cache_invalidate
from tenants.locales import LOCALES
from tenants.models import Domain, Tenant
from tenants.selectors import tenant_lookup_forget

DEFAULT_WORK_WEEK = [0, 1, 2, 3, 4]  # Monday to Friday
DEFAULT_GRANULARITY = Decimal("0.25")
GRANULARITIES = (Decimal("0.1"), Decimal("0.25"), Decimal("0.5"), Decimal("1"))
ML_RATE_LIMIT_MAX = 100_000


class TenantSettingsChanges(TypedDict, total=False):
    name: str
    timezone: str
    locale: str
    work_week: list[int]
    suggestion_granularity: Decimal
    auto_accept_threshold: Decimal
    ml_rate_limit_per_minute: int
    require_admin_two_step: bool


@dataclass(frozen=True)
class TenantSettings:
    name: str
    timezone: str
    locale: str
    work_week: list[int]
    suggestion_granularity: Decimal
    auto_accept_threshold: Decimal
    ml_rate_limit_per_minute: int
    require_admin_two_step: bool


def tenant_settings_of(tenant: Any) -> TenantSettings:
    extra = tenant.settings or {}
    return TenantSettings(
        name=tenant.name,
        timezone=tenant.timezone,
        locale=tenant.locale,
        work_week=list(extra.get("work_week", DEFAULT_WORK_WEEK)),
        suggestion_granularity=Decimal(str(extra.get("suggestion_granularity", DEFAULT_GRANULARITY))),
        auto_accept_threshold=Decimal(str(tenant.auto_accept_threshold)),
        ml_rate_limit_per_minute=int(tenant.ml_rate_limit_per_minute),
        require_admin_two_step=bool(tenant.require_admin_two_step),
    )


def _validate(changes: TenantSettingsChanges) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "name" in changes and not str(changes["name"]).strip():
        errors["name"] = ["Must not be blank."]
    if "timezone" in changes and changes["timezone"] not in zoneinfo.available_timezones():
        errors["timezone"] = [f"Unknown time zone '{changes['timezone']}'."]
    if "locale" in changes and changes["locale"] not in LOCALES:
        errors["locale"] = [f"One of {', '.join(LOCALES)}."]
    if "work_week" in changes:
        days = changes["work_week"]
        if not days or len(set(days)) != len(days) or any(not 0 <= day <= 6 for day in days):
            errors["work_week"] = ["One to seven distinct weekdays, 0 (Monday) to 6 (Sunday)."]
    if "suggestion_granularity" in changes and changes["suggestion_granularity"] not in GRANULARITIES:
        errors["suggestion_granularity"] = [f"One of {', '.join(str(g) for g in GRANULARITIES)} hours."]
    if "auto_accept_threshold" in changes and not Decimal(0) <= changes["auto_accept_threshold"] <= Decimal(1):
        errors["auto_accept_threshold"] = ["From 0 to 1."]
    if "ml_rate_limit_per_minute" in changes and not 1 <= changes["ml_rate_limit_per_minute"] <= ML_RATE_LIMIT_MAX:
        errors["ml_rate_limit_per_minute"] = [f"From 1 to {ML_RATE_LIMIT_MAX}."]
    if "require_admin_two_step" in changes and not isinstance(changes["require_admin_two_step"], bool):
        errors["require_admin_two_step"] = ["True or false."]
    return errors


@transaction.atomic
def tenant_settings_update(*, actor: ActorLike, changes: TenantSettingsChanges) -> TenantSettings:
    """Change the current tenant's settings; the other processes see them within TENANT_LOCAL_CACHE_SECONDS."""
    errors = _validate(changes)
    if errors:
        raise ValidationFailed("Invalid input.", fields=errors)
    # The public schema is on the tenant's search path: its own row is read and locked from here.
    tenant = Tenant.objects.select_for_update().get(pk=connection.tenant.pk)  # type: ignore[attr-defined]
    before = tenant_settings_of(tenant)
    extra = dict(tenant.settings or {})
    changed: list[str] = []
    for field, value in changes.items():
        if field == "work_week":
            value = sorted(int(day) for day in cast(list[int], value))
        if getattr(before, field) == value:
            continue
        changed.append(field)
        if field in ("work_week", "suggestion_granularity"):
            extra[field] = value if field == "work_week" else str(value)
        else:
            setattr(tenant, field, value.strip() if isinstance(value, str) else value)
    if not changed:
        return before
    tenant.settings = extra
    tenant.save(
        update_fields=[
            "name",
            "timezone",
            "locale",
            "auto_accept_threshold",
            "ml_rate_limit_per_minute",
            "require_admin_two_step",
            "settings",
            "updated_at",
        ]
    )
    audit_append(
        actor=actor,
        action="tenant.settings_update",
        object_type="tenant",
        object_id=tenant.id,
        data={field: str(changes[field]) for field in sorted(changed)},  # type: ignore[literal-required]
    )
    slug, hosts = tenant.slug, list(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True))

    def forget() -> None:
        tenant_lookup_forget(slug=slug, hosts=hosts)
        tenant_cache_invalidate()

    transaction.on_commit(forget)
    connection.tenant = tenant  # type: ignore[attr-defined]  # this request goes on with the new values
    return tenant_settings_of(tenant)
