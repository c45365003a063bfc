"""Schemathesis against `/api/schema/` for two tenants: every check, positive and negative data, and no
response of one tenant that carries an id of the other."""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.apps import apps
from django.core.wsgi import get_wsgi_application
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from intelligence.generation import JOB_TYPE, timesheets_generate
from jobs.services import job_create
from tests.conftest import TenantHandle
from tests.intelligence.builders import build_world
from tests.reliability.conftest import hr_headers

pytestmark = pytest.mark.slow

# Examples per operation and generation mode; with the schema's operations this exceeds 1,000 cases a tenant.
MAX_EXAMPLES = 26
MIN_CASES_PER_TENANT = 1000
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TENANT_APPS = ("timesheets", "worktime", "jira_sync", "intelligence", "jobs")


def _seed(handle: TenantHandle) -> None:
    with tenant_context(handle.tenant):
        world = build_world(employees=3, days=2)
        job = job_create(
            job_type=JOB_TYPE,
            parameters={
                "start_date": world.start.isoformat(),
                "end_date": world.end.isoformat(),
                "auto_accept_high_confidence": True,
            },
        )
        timesheets_generate(job_id=job.id)


def _tenant_ids(handle: TenantHandle) -> set[str]:
    """Every UUID primary key and UUID-looking value stored in the tenant's domain tables."""
    ids: set[str] = set()
    with tenant_context(handle.tenant):
        for app_label in _TENANT_APPS:
            for model in apps.get_app_config(app_label).get_models():
                if model._meta.pk is not None and model._meta.pk.get_internal_type() == "UUIDField":
                    ids.update(str(pk) for pk in model._default_manager.values_list("pk", flat=True))
    return ids


def _readable_text(response: Any) -> str:
    """The response as text; an XLSX export is a zip of XML parts, read part by part."""
    types = [value for key, values in response.headers.items() if key.lower() == "content-type" for value in values]
    if types and types[0].startswith("application/vnd.openxmlformats"):
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return str(response.text or "")


def _no_foreign_ids(foreign: set[str]) -> Any:
    def no_ids_of_another_tenant(ctx: Any, response: Any, case: Any) -> bool | None:
        leaked = set(_UUID.findall(_readable_text(response))) & foreign
        if leaked:
            raise AssertionError(f"the response carries ids of another tenant: {sorted(leaked)[:5]}")
        return None

    return no_ids_of_another_tenant


# Rules an OpenAPI schema cannot state, by which the API refuses (400) a request that matches its schema: a
# referenced record must exist in the tenant, one date may not precede another, a period is at most 62 days,
# `ids` or (non-empty) `items` but not both, a unique value may not repeat, and a Jira sync needs an enabled connection.
# For these operations only, the positive-data check lets a 400 through when every field it names (for row
# imports: every field of every refused row) is one of the fields these rules are about.
_RULES_BEYOND_THE_SCHEMA: dict[str, set[str]] = {
    "GET /api/allocations": {"date_to"},
    "GET /api/attendance": {"date_to"},
    "GET /api/jira/worklogs": {"date_to"},
    "GET /api/timesheet-intelligence/suggestions/pending": {"date_to"},
    "POST /api/allocations": {"employee", "project", "hours"},
    "POST /api/attendance": {"employee", "check_out", "date", "break_minutes"},
    "POST /api/employees": {"user", "manager", "email", "national_id"},
    "PATCH /api/employees/{employee_id}": {"user", "manager", "email", "national_id"},
    "POST /api/projects": {"code", "ends_on"},
    "PATCH /api/projects/{project_id}": {"code", "ends_on"},
    "POST /api/timesheet-intelligence/generate": {"start_date", "end_date", "employee_ids"},
    "POST /api/timesheet-intelligence/suggestions/accept": {"ids", "items"},
    "POST /api/timesheet-intelligence/suggestions/accept-confident": {"date_to"},
    "POST /api/jira/sync": {"connection"},
    # Working time and reports: a referenced employee or leave type must exist, a code must be a known country,
    # subdivision or free, weekdays may not repeat, hours lie in their range, a period is ordered and at most a
    # year, staff name the employee a leave entry is for, a contract starts on or after its employee's start
    # date, and a CSV import holds 1 to 10,000 rows.
    "GET /api/leave": {"date_to"},
    "POST /api/leave": {"employee", "leave_type", "start_date", "end_date", "hours"},
    "POST /api/leave/import": {"rows", "employee", "leave_type", "start_date", "end_date", "hours"},
    "POST /api/leave-types": {"code"},
    "PUT /api/leave/entitlements": {"employee", "leave_type"},
    "GET /api/leave/balances": {"employee"},
    "POST /api/contracts": {
        "employee",
        "starts_on",
        "ends_on",
        "work_days",
        "weekly_hours",
        "daily_hours",
        "country",
        "subdivision",
    },
    "PUT /api/worktime/calendar": {"country", "subdivision"},
    "GET /api/worktime/expected-hours": {"employee", "date_to"},
    "PUT /api/compliance/rules": {"thresholds"},
    "POST /api/compliance/check": {"date_to"},
    "GET /api/compliance/violations": {"date_to"},
    "GET /api/reports/hours": {"date_to"},
    "GET /api/reports/utilisation": {"date_to"},
    "GET /api/reports/overtime": {"date_to"},
    "GET /api/reports/leave": {"date_to"},
    "GET /api/reports/compliance": {"date_to"},
    # The timesheet lifecycle: a monthly period starts on day 1 to 28, closing over unapproved weeks needs a
    # reason, a week starts on a Monday, a day's split names existing projects once each and sums to 24 h at most.
    "GET /api/pay-periods": {"date_to"},
    "PUT /api/pay-periods/policy": {"anchor_date"},
    "POST /api/pay-periods/close": {"override_reason"},
    "GET /api/timesheets/{employee_id}/week": {"week_start"},
    "POST /api/timesheets/{employee_id}/submit": {"week_start", "days"},
    "PUT /api/timesheets/{employee_id}/day": {"allocations"},
    "GET /api/weeks": {"date_to"},
    "GET /api/unallocated-days": {"date_to"},
    # People and access: a link's secret must be a live one, a password must pass Django's validators and the
    # current password must be right; an address with a login is a 409, not a 400.
    "POST /api/invitations/accept": {"token", "password"},
    "POST /api/auth/password-reset/confirm": {"token", "password"},
    "POST /api/auth/password": {"old_password", "new_password"},
    "PATCH /api/tenant/settings": {"work_week", "name"},
    # Two-step sign-in: a code must be the app's current one, a password the caller's own.
    "POST /api/auth/two-step/confirm": {"code"},
    "POST /api/auth/two-step/disable": {"code", "password"},
    "POST /api/auth/two-step/recovery-codes": {"code"},
    # Single sign-on: the issuer must be http(s) (https in production), and the first save needs the secret.
    "PUT /api/sso/provider": {"issuer", "client_secret", "allowed_domains"},
}
# Unknown credentials are a 400 `invalid_credentials`; schemathesis accepts that from a token endpoint it
# knows of, but an API-key scheme has no `tokenUrl` to name it.
_CREDENTIALS_OPERATION = "POST /api/auth/token"


def _fields_named(fields: dict[str, Any]) -> set[str]:
    rows = fields.get("rows")
    if isinstance(rows, dict):
        return {name for row in rows.values() if isinstance(row, dict) for name in row}
    return set(fields)


def _refused_by_a_rule_beyond_the_schema(label: str, response: Any) -> bool:
    if response.status_code != 400:
        return False
    error = response.json()["error"]
    if label == _CREDENTIALS_OPERATION:
        return bool(error["code"] == "invalid_credentials")
    named = _fields_named(error["fields"])
    return bool(named) and named <= _RULES_BEYOND_THE_SCHEMA.get(label, set())


def positive_data_accepted_unless_a_rule_beyond_the_schema_refuses(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' positive_data_acceptance, except for the refusals listed in _RULES_BEYOND_THE_SCHEMA."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _refused_by_a_rule_beyond_the_schema(case.operation.label, response):
            return None
        raise


def _recorder(
    label: str,
    mode_name: str,
    counted: Counter[str],
    failures: list[str],
    headers: dict[str, str],
    checks: list[Any],
    extra: list[Any],
) -> Any:
    """One generated case: call the API, run the checks, record failures instead of stopping at the first."""

    def record(case: Any) -> None:
        counted[mode_name] += 1
        try:
            case.call_and_validate(headers=headers, checks=checks, additional_checks=extra)
        except (Exception, BaseExceptionGroup) as exc:
            for error in getattr(exc, "exceptions", [exc]):
                lines = [line for line in str(error).splitlines() if line.strip()]
                failures.append(f"{label}: {' | '.join(lines[:4])}"[:400])

    return record


def _fuzz(
    handle: TenantHandle, auth: dict[str, str], foreign: set[str], *, max_examples: int
) -> tuple[Counter[str], list[str]]:
    """Run every operation in both generation modes with every registered check."""
    app = get_wsgi_application()
    headers = {"Host": handle.host, **auth}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app, headers=headers)
    load_all_checks()
    checks = [check for check in CHECKS.get_all() if check is not positive_data_acceptance]
    checks.append(positive_data_accepted_unless_a_rule_beyond_the_schema_refuses)
    extra = [_no_foreign_ids(foreign)]
    counted: Counter[str] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            record = _recorder(
                f"{operation.label} [{mode.value}]", mode.value, counted, failures, headers, checks, extra
            )
            run = given(case=operation.as_strategy(generation_mode=mode))(record)
            run = hypothesis.settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[hypothesis.Phase.generate],
            )(run)
            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                # No invalid variant exists (an operation without parameters or body): nothing to negate.
                assert mode is GenerationMode.NEGATIVE, operation.label
    return counted, failures


def _fuzz_tenant(committed: dict[str, TenantHandle], slug: str) -> None:
    handle = committed[slug]
    other = committed["beta" if slug == "alpha" else "alpha"]
    for tenant in (handle, other):
        _seed(tenant)
    foreign = _tenant_ids(other)
    assert len(foreign) > 20
    assert not foreign & _tenant_ids(handle)
    counted, failures = _fuzz(handle, hr_headers(handle), foreign, max_examples=MAX_EXAMPLES)
    assert failures == [], "\n".join(f"{n} x {f}" for f, n in Counter(failures).most_common(60))
    assert counted["positive"] > 0
    assert counted["negative"] > 0
    assert sum(counted.values()) >= MIN_CASES_PER_TENANT, counted
    print(f"fuzzed {handle.tenant.slug}: {dict(counted)}")


@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_fuzzing_a_tenants_api_with_every_check_finds_no_failure_and_no_id_of_the_other(
    committed: dict[str, TenantHandle], slug: str
) -> None:
    _fuzz_tenant(committed, slug)
