"""Work patterns: rebuilt from allocations in one bulk statement, listed per employee, project and weekday."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle
from tests.timesheets.factories import (
    LIST_QUERY_BUDGET,
    auth,
    employee_user,
    make_allocation,
    make_employee,
    make_pattern,
    make_project,
    staff_token,
    warm_up,
)
from timesheets.models import WorkPattern
from timesheets.services import work_patterns_recompute

MONDAY, TUESDAY, WEDNESDAY = 0, 1, 2
AS_OF = date(2026, 3, 29)  # a Sunday; four weeks back starts on Monday 2 March


def _patterns(handle: TenantHandle) -> dict[tuple[Any, Any, int], WorkPattern]:
    with tenant_context(handle.tenant):
        return {(p.employee_id, p.project_id, p.day_of_week): p for p in WorkPattern.objects.all()}


def test_recompute_averages_the_hours_of_the_days_each_pattern_occurred(alpha: TenantHandle) -> None:
    ann, bob = make_employee(alpha), make_employee(alpha)
    apollo, gemini = make_project(alpha), make_project(alpha)
    for day, hours in ((date(2026, 3, 2), "4"), (date(2026, 3, 9), "6"), (date(2026, 3, 23), "8")):
        make_allocation(alpha, ann, apollo, day=day, hours=hours)
    make_allocation(alpha, ann, apollo, day=date(2026, 3, 3), hours="2.5")
    make_allocation(alpha, ann, gemini, day=date(2026, 2, 23), hours="8")  # before the window
    make_allocation(alpha, ann, gemini, day=date(2026, 3, 30), hours="8")  # after as_of
    stale = make_pattern(alpha, ann, gemini, day_of_week=WEDNESDAY)
    untouched = make_pattern(alpha, bob, gemini, day_of_week=MONDAY)

    with tenant_context(alpha.tenant), CaptureQueriesContext(connection) as queries:
        written = work_patterns_recompute(as_of=AS_OF, window_weeks=4, employee_ids=[ann.id])
    pattern_writes = [q["sql"] for q in queries.captured_queries if "timesheets_workpattern" in q["sql"]]
    assert len(pattern_writes) == 1  # one statement: the upsert and the deactivation

    assert written == 2
    patterns = _patterns(alpha)
    monday = patterns[(ann.id, apollo.id, MONDAY)]
    assert (monday.average_hours, monday.occurrences, monday.weeks_observed, monday.last_occurrence) == (
        Decimal("6.00"),
        3,
        3,
        date(2026, 3, 23),
    )
    assert monday.is_active
    tuesday = patterns[(ann.id, apollo.id, TUESDAY)]
    assert (tuesday.average_hours, tuesday.occurrences) == (Decimal("2.50"), 1)
    assert (ann.id, gemini.id, MONDAY) not in patterns
    assert patterns[(ann.id, gemini.id, WEDNESDAY)].id == stale.id
    assert not patterns[(ann.id, gemini.id, WEDNESDAY)].is_active
    assert patterns[(bob.id, gemini.id, MONDAY)].is_active  # another employee: out of scope
    assert patterns[(bob.id, gemini.id, MONDAY)].id == untouched.id


def test_recompute_updates_in_place_and_reactivates(alpha: TenantHandle) -> None:
    ann, apollo = make_employee(alpha), make_project(alpha)
    make_allocation(alpha, ann, apollo, day=date(2026, 3, 2), hours="4")
    with tenant_context(alpha.tenant):
        work_patterns_recompute(as_of=AS_OF, window_weeks=4)
        first = WorkPattern.objects.get()
        WorkPattern.objects.update(is_active=False)
    make_allocation(alpha, ann, apollo, day=date(2026, 3, 16), hours="6")
    with tenant_context(alpha.tenant):
        assert work_patterns_recompute(as_of=AS_OF, window_weeks=4) == 1
        again = WorkPattern.objects.get()
    assert again.id == first.id
    assert (again.average_hours, again.occurrences, again.is_active) == (Decimal("5.00"), 2, True)


def test_a_rerun_rewrites_only_the_patterns_that_changed(alpha: TenantHandle) -> None:
    ann, apollo, gemini = make_employee(alpha), make_project(alpha), make_project(alpha)
    make_allocation(alpha, ann, apollo, day=date(2026, 3, 2), hours="4")
    make_allocation(alpha, ann, gemini, day=date(2026, 3, 3), hours="3")
    with tenant_context(alpha.tenant):
        assert work_patterns_recompute(as_of=AS_OF, window_weeks=4) == 2
        before = _row_versions()
    make_allocation(alpha, ann, gemini, day=date(2026, 3, 10), hours="5")
    with tenant_context(alpha.tenant):
        assert work_patterns_recompute(as_of=AS_OF, window_weeks=4) == 2
        after = _row_versions()
        gemini_pattern = WorkPattern.objects.get(project=gemini)
    assert after[apollo.id] == before[apollo.id]  # nothing new on Mondays: the row was not rewritten
    assert after[gemini.id] != before[gemini.id]
    assert (gemini_pattern.average_hours, gemini_pattern.weeks_observed) == (Decimal("4.00"), 2)


def _row_versions() -> dict[Any, str]:
    """Each pattern's physical row (ctid): an UPDATE writes a new one, even inside the same transaction."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT project_id, ctid::text FROM {WorkPattern._meta.db_table}")
        return dict(cursor.fetchall())


def test_the_list_filters_by_employee_project_and_weekday(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, bob = make_employee(alpha), make_employee(alpha)
    apollo, gemini = make_project(alpha, code="APOLLO"), make_project(alpha)
    make_pattern(alpha, ann, apollo, day_of_week=MONDAY)
    make_pattern(alpha, ann, gemini, day_of_week=TUESDAY)
    make_pattern(alpha, bob, apollo, day_of_week=MONDAY)
    client = alpha.client()
    assert client.get("/api/work-patterns", **auth(token)).json()["count"] == 3
    rows = client.get(f"/api/work-patterns?employee={ann.id}&day_of_week=0", **auth(token)).json()["results"]
    assert [(row["employee"], row["project_code"], row["day_of_week"]) for row in rows] == [(str(ann.id), "APOLLO", 0)]
    assert client.get(f"/api/work-patterns?project={apollo.id}", **auth(token)).json()["count"] == 2


def test_bad_filters_answer_400_naming_the_field(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    for bad, field in (("day_of_week=7", "day_of_week"), ("employee=x", "employee"), ("project=1", "project")):
        response = alpha.client().get(f"/api/work-patterns?{bad}", **auth(token))
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]


def test_an_employee_sees_only_their_own_patterns(alpha: TenantHandle) -> None:
    _, own, token = employee_user(alpha)
    other, apollo = make_employee(alpha), make_project(alpha)
    make_pattern(alpha, own, apollo, day_of_week=MONDAY)
    make_pattern(alpha, other, apollo, day_of_week=MONDAY)
    rows = alpha.client().get("/api/work-patterns", **auth(token)).json()["results"]
    assert [row["employee"] for row in rows] == [str(own.id)]


def test_another_tenants_token_is_rejected_and_its_patterns_are_invisible(
    alpha: TenantHandle, beta: TenantHandle
) -> None:
    token = staff_token(alpha)
    make_pattern(beta, make_employee(beta), make_project(beta), day_of_week=MONDAY)
    assert beta.client().get("/api/work-patterns", **auth(token)).status_code == 401
    assert alpha.client().get("/api/work-patterns", **auth(token)).json()["count"] == 0


def test_the_list_costs_the_same_queries_for_3_or_30_patterns(
    alpha: TenantHandle, django_assert_max_num_queries: Any
) -> None:
    token = staff_token(alpha)
    ann = make_employee(alpha)
    projects = [make_project(alpha) for _ in range(5)]
    for day in range(3):
        make_pattern(alpha, ann, projects[0], day_of_week=day)
    warm_up(alpha, token)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as few:
        assert alpha.client().get("/api/work-patterns", **auth(token)).json()["count"] == 3
    for n in range(27):
        make_pattern(alpha, ann, projects[1 + n // 7], day_of_week=n % 7)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as many:
        assert alpha.client().get("/api/work-patterns", **auth(token)).json()["count"] == 30
    assert len(many.captured_queries) == len(few.captured_queries)
