"""The operator console: django.contrib.admin on the public host, for the people who run the service.

Operators are accounts of the public schema (`manage.py createsuperuser` on the public schema), distinct from
every tenant's users, who live in their tenant's schema and cannot sign in here. The console shows tenants and
their domains, suspends and resumes them (through tenants.services, audited), counts each tenant's users,
employees and jobs, and lists recent failed jobs across tenants by type and time. It never shows a tenant's
personal data: no names, e-mail addresses, job parameters or error texts leave the tenant schemas here.
"""

from __future__ import annotations

from datetime import timedelta
from functools import update_wrapper
from types import SimpleNamespace
from typing import Any

from django.contrib import admin, messages
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from tenants.models import Domain, Tenant, TenantStatus
from tenants.services import tenant_set_status

FAILED_JOBS_DAYS = 7
FAILED_JOBS_LIMIT = 100


class OperatorConsole(admin.AdminSite):
    site_header = "HRMS operator console"
    site_title = "HRMS operators"
    index_title = "Tenants and jobs"

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def public(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # django-tenants' admin templates ask whether the request's tenant is public: here it is.
            if getattr(request, "tenant", None) is None:
                request.tenant = SimpleNamespace(schema_name=get_public_schema_name())  # type: ignore[attr-defined]
            return inner(request, *args, **kwargs)  # type: ignore[no-any-return]

        return update_wrapper(public, inner)

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        extra = [path("failed-jobs/", self.admin_view(self.failed_jobs), name="failed-jobs")]
        return extra + super().get_urls()

    def failed_jobs(self, request: HttpRequest) -> HttpResponse:
        """Failed jobs of the last days across tenants: tenant, job type and times only."""
        rows = failed_jobs_recent(days=FAILED_JOBS_DAYS, limit=FAILED_JOBS_LIMIT)
        context = {**self.each_context(request), "title": f"Failed jobs, last {FAILED_JOBS_DAYS} days", "rows": rows}
        return TemplateResponse(request, "admin/failed_jobs.html", context)


console = OperatorConsole(name="console")


def _quoted(schema: str) -> str:
    return connection.ops.quote_name(schema)


def tenant_counts(schema: str) -> dict[str, int]:
    """Users, employees and jobs of one tenant schema (one query; no row is read)."""
    q = _quoted(schema)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {q}.auth_user), (SELECT count(*) FROM {q}.timesheets_employee), "  # noqa: S608 - quoted schema names
            f"(SELECT count(*) FROM {q}.jobs_backgroundjob)"
        )
        users, employees, jobs = cursor.fetchone()
    return {"users": users, "employees": employees, "jobs": jobs}


def failed_jobs_recent(*, days: int, limit: int) -> list[dict[str, Any]]:
    tenants = list(Tenant.objects.exclude(schema_name="public").values_list("slug", "schema_name"))
    if not tenants:
        return []
    since = timezone.now() - timedelta(days=days)
    parts = [
        f"SELECT %s AS tenant, job_type, created_at, finished_at FROM {_quoted(schema)}.jobs_backgroundjob "  # noqa: S608
        "WHERE status = 'failed' AND created_at >= %s"
        for _, schema in tenants
    ]
    params: list[Any] = []
    for slug, _ in tenants:
        params += [slug, since]
    sql = " UNION ALL ".join(f"({part})" for part in parts) + " ORDER BY created_at DESC LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


class DomainInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Domain
    extra = 0
    fields = ("domain", "is_primary")
    readonly_fields = ("domain", "is_primary")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tenant, site=console)
class TenantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("slug", "name", "status", "primary_domain", "users", "employees", "jobs", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name")
    list_per_page = 50
    ordering = ("slug",)
    readonly_fields = (
        "slug",
        "name",
        "schema_name",
        "status",
        "timezone",
        "auto_accept_threshold",
        "ml_rate_limit_per_minute",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    exclude = ("settings",)
    inlines = [DomainInline]
    actions = ["suspend", "resume"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return super().get_queryset(request).exclude(schema_name="public").prefetch_related("domains")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # provisioning is `manage.py create_tenant` (atomic, cloned schema)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # `manage.py delete_tenant` shreds the data key first

    def _counts(self, tenant: Tenant) -> dict[str, int]:
        cached: dict[str, int] | None = getattr(tenant, "_console_counts", None)
        if cached is None:
            cached = tenant_counts(tenant.schema_name)
            tenant._console_counts = cached
        return cached

    @admin.display(description="domain")
    def primary_domain(self, tenant: Tenant) -> str:
        domains = sorted(tenant.domains.all(), key=lambda d: not d.is_primary)
        return domains[0].domain if domains else "—"

    @admin.display(description="users")
    def users(self, tenant: Tenant) -> int:
        return self._counts(tenant)["users"]

    @admin.display(description="employees")
    def employees(self, tenant: Tenant) -> int:
        return self._counts(tenant)["employees"]

    @admin.display(description="jobs")
    def jobs(self, tenant: Tenant) -> int:
        return self._counts(tenant)["jobs"]

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Tenant], status: TenantStatus) -> None:
        for tenant in queryset:
            tenant_set_status(slug=tenant.slug, status=status)
        verb = "suspended" if status == TenantStatus.SUSPENDED else "resumed"
        self.message_user(request, f"{queryset.count()} tenant(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Suspend the selected tenants")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._set_status(request, queryset, TenantStatus.SUSPENDED)

    @admin.action(description="Resume the selected tenants")
    def resume(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._set_status(request, queryset, TenantStatus.ACTIVE)
