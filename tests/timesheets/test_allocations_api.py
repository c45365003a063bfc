"""Allocations: paginated JSON or streamed CSV, and a bulk upsert of manual entries or historical imports."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

from django_tenants.utils import tenant_context

from tests.conftest import TenantHandle
from tests.timesheets.factories import (
    LIST_QUERY_BUDGET,
    auth,
    employee_user,
    make_allocation,
    make_employee,
    make_project,
    make_suggestion,
    staff_token,
    warm_up,
)
from timesheets.models import TimesheetProjectAllocation


def _post(handle: TenantHandle, token: str, body: Any) -> Any:
    return handle.client().post("/api/allocations", body, content_type="application/json", **auth(token))


def _row(employee: Any, project: Any, day: str = "2026-03-02", hours: str = "4.5") -> dict[str, str]:
    return {"employee": str(employee.id), "project": str(project.id), "date": day, "hours": hours}


def _stored(handle: TenantHandle) -> list[tuple[date, Decimal | None]]:
    with tenant_context(handle.tenant):
        return list(TimesheetProjectAllocation.objects.order_by("date").values_list("date", "hours"))


def _csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_list_filters_by_employee_project_and_period(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, bob = make_employee(alpha, name="Ann"), make_employee(alpha)
    apollo, gemini = make_project(alpha, code="APOLLO"), make_project(alpha)
    make_allocation(alpha, ann, apollo, day=date(2026, 3, 2))
    make_allocation(alpha, ann, gemini, day=date(2026, 3, 3))
    make_allocation(alpha, bob, apollo, day=date(2026, 3, 4))
    client = alpha.client()
    rows = client.get(f"/api/allocations?employee={ann.id}&project={apollo.id}", **auth(token)).json()["results"]
    assert [(row["date"], row["employee_name"], row["project_code"], row["hours"]) for row in rows] == [
        ("2026-03-02", "Ann", "APOLLO", "8.00")
    ]
    period = client.get("/api/allocations?date_from=2026-03-03&date_to=2026-03-04", **auth(token)).json()
    assert period["count"] == 2


def test_format_csv_streams_every_row_as_csv(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann = make_employee(alpha, name="=HYPERLINK(evil)")
    apollo = make_project(alpha, code="APOLLO")
    make_allocation(alpha, ann, apollo, day=date(2026, 3, 2), hours="3.25")
    suggestion = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 3))
    with tenant_context(alpha.tenant):
        TimesheetProjectAllocation.objects.create(
            employee=ann,
            project=apollo,
            date=date(2026, 3, 3),
            hours=Decimal(4),
            suggestion=suggestion,
            suggestion_accepted=True,
        )
    response = alpha.client().get("/api/allocations?format=csv", **auth(token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert _csv(response) == [
        ["date", "employee_id", "employee_name", "project_code", "hours", "source"],
        ["2026-03-02", str(ann.id), "'=HYPERLINK(evil)", "APOLLO", "3.25", "manual"],
        ["2026-03-03", str(ann.id), "'=HYPERLINK(evil)", "APOLLO", "4.00", "suggestion"],
    ]
    filtered = alpha.client().get("/api/allocations?format=csv&date_from=2026-03-03", **auth(token))
    assert len(_csv(filtered)) == 2


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def test_no_csv_field_reads_as_a_formula_whatever_separator_the_spreadsheet_splits_on(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    names = ["Bob;=1+1;@SUM(2+2)", "Ann|+cmd", "Eve\t-2+3", "Max -1+1", "Zoe,=1", '"=HYPERLINK(x)"', "Anne-Marie"]
    apollo = make_project(alpha, code="APOLLO")
    for offset, name in enumerate(names):
        make_allocation(alpha, make_employee(alpha, name=name), apollo, day=date(2026, 3, 2 + offset))
    response: Any = alpha.client().get("/api/allocations?format=csv", **auth(token))
    text = b"".join(response.streaming_content).decode()
    for separator in (",", ";", "\t", "|", " ", ":"):
        for line in text.splitlines()[1:]:
            for field in line.split(separator):
                # Quotes and surrounding blanks, which a spreadsheet may strip, do not hide a formula either.
                assert not field.strip(' "').startswith(_FORMULA_STARTS), (separator, line)
    # The names themselves survive, readable: only the formula openings are escaped.
    exported = sorted(row[2] for row in csv.reader(io.StringIO(text)) if row[0] != "date")
    assert "Anne-Marie" in exported
    assert "Bob;'=1+1;'@SUM(2+2)" in exported


def test_format_json_or_none_answers_json_and_other_formats_are_bad_input(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    assert alpha.client().get("/api/allocations?format=json", **auth(token)).json()["count"] == 0
    response = alpha.client().get("/api/allocations?format=xml", **auth(token))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "format" in response.json()["error"]["fields"]


def test_an_employee_reads_only_their_own_allocations_in_json_and_csv(alpha: TenantHandle) -> None:
    _, own, token = employee_user(alpha)
    other, apollo = make_employee(alpha), make_project(alpha)
    make_allocation(alpha, own, apollo, day=date(2026, 3, 2))
    make_allocation(alpha, other, apollo, day=date(2026, 3, 2))
    rows = alpha.client().get("/api/allocations", **auth(token)).json()["results"]
    assert [row["employee"] for row in rows] == [str(own.id)]
    exported = _csv(alpha.client().get("/api/allocations?format=csv", **auth(token)))
    assert [row[1] for row in exported[1:]] == [str(own.id)]
    assert _post(alpha, token, [_row(own, apollo)]).status_code == 403


def test_import_upserts_per_employee_project_and_date(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, apollo, gemini = make_employee(alpha), make_project(alpha), make_project(alpha)
    first = _post(alpha, token, [_row(ann, apollo), _row(ann, gemini), _row(ann, apollo, "2026-03-03")])
    assert first.status_code == 200, first.json()
    assert first.json() == {"created": 3, "updated": 0}
    again = _post(alpha, token, [_row(ann, apollo, hours="6"), _row(ann, apollo, "2026-03-04", "1")])
    assert again.json() == {"created": 1, "updated": 1}
    assert sorted(_stored(alpha)) == [
        (date(2026, 3, 2), Decimal("4.50")),
        (date(2026, 3, 2), Decimal("6.00")),
        (date(2026, 3, 3), Decimal("4.50")),
        (date(2026, 3, 4), Decimal("1.00")),
    ]


def test_a_bad_row_names_its_index_and_field_and_nothing_is_written(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, apollo = make_employee(alpha), make_project(alpha)
    theirs = make_employee(beta)
    response = _post(
        alpha,
        token,
        [
            _row(ann, apollo),
            _row(ann, apollo, hours="0"),
            _row(ann, apollo, "2026-03-03", hours="25"),
            _row(theirs, apollo, "2026-03-04"),
            {**_row(ann, apollo, "2026-03-05"), "project": "nope"},
            _row(ann, apollo, "31/03/2026"),
            _row(ann, apollo),
        ],
    )
    assert response.status_code == 400
    errors = response.json()["error"]["fields"]["rows"]
    assert errors == {
        "1": {"hours": ["Must be more than 0 and at most 24."], "date": ["Same employee, project and date as row 0."]},
        "2": {"hours": ["Must be more than 0 and at most 24."]},
        "3": {"employee": ["No such employee."]},
        "4": {"project": ["Must be a valid UUID."]},
        "5": {"date": errors["5"]["date"]},
        "6": {"date": ["Same employee, project and date as row 0."]},
    }
    assert _stored(alpha) == []


def test_import_rejects_a_body_that_is_not_a_list(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    bodies: list[Any] = [{"rows": []}, [], "17"]
    for body in bodies:
        response = _post(alpha, token, body)
        assert response.status_code == 400
        assert "rows" in response.json()["error"]["fields"]


def test_another_tenants_token_is_rejected(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = staff_token(alpha)
    assert beta.client().get("/api/allocations", **auth(token)).status_code == 401
    assert beta.client().get("/api/allocations?format=csv", **auth(token)).status_code == 401
    assert _post(beta, token, []).status_code == 401


def test_bad_filters_answer_400(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    for bad, field in (("employee=7", "employee"), ("date_from=03/02/2026", "date_from"), ("page=-1", "page")):
        response = alpha.client().get(f"/api/allocations?{bad}", **auth(token))
        assert response.status_code == 400, bad
        assert field in response.json()["error"]["fields"], bad


def test_the_list_costs_the_same_queries_for_3_or_30_allocations(
    alpha: TenantHandle, django_assert_max_num_queries: Any
) -> None:
    token = staff_token(alpha)
    ann, apollo = make_employee(alpha), make_project(alpha)
    for day in range(1, 4):
        make_allocation(alpha, ann, apollo, day=date(2026, 3, day))
    warm_up(alpha, token)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as few:
        assert alpha.client().get("/api/allocations", **auth(token)).json()["count"] == 3
    for day in range(4, 31):
        make_allocation(alpha, ann, apollo, day=date(2026, 3, day))
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as many:
        assert alpha.client().get("/api/allocations", **auth(token)).json()["count"] == 30
    assert len(many.captured_queries) == len(few.captured_queries)
