"""Compliance checks: cases taken from the text of each rule, at the edges of its thresholds, through the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from tests.conftest import TenantHandle
from tests.timesheets.factories import auth, employee_user, make_employee, staff_token
from timesheets.models import Employee
from worktime.models import ComplianceRuleSet, ComplianceViolation

MONDAY = date(2026, 3, 2)


def _shift(employee: Employee, day: date, start: str, end: str, break_minutes: int) -> dict[str, Any]:
    return {
        "employee": str(employee.id),
        "date": day.isoformat(),
        "check_in": f"{day.isoformat()}T{start}:00+00:00",
        "check_out": f"{day.isoformat()}T{end}:00+00:00",
        "break_minutes": break_minutes,
    }


def _attend(handle: TenantHandle, token: str, rows: list[dict[str, Any]]) -> None:
    response = handle.client().post("/api/attendance", rows, content_type="application/json", **auth(token))
    assert response.status_code in (200, 201), response.json()


def _rules(handle: TenantHandle, token: str, preset: str, thresholds: dict[str, Any] | None = None) -> Any:
    return handle.client().put(
        "/api/compliance/rules",
        {"preset": preset, "thresholds": thresholds or {}},
        content_type="application/json",
        **auth(token),
    )


def _check(handle: TenantHandle, token: str, start: date, end: date) -> Any:
    response = handle.client().post(
        "/api/compliance/check",
        {"date_from": start.isoformat(), "date_to": end.isoformat()},
        content_type="application/json",
        **auth(token),
    )
    assert response.status_code == 200, response.json()
    return response.json()


def _found(handle: TenantHandle, employee: Employee) -> set[tuple[str, str]]:
    with tenant_context(handle.tenant):
        return {(row.date.isoformat(), row.rule) for row in ComplianceViolation.objects.filter(employee=employee)}


def test_german_preset_nine_hours_fifteen_with_a_thirty_minute_break_is_a_violation(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    assert _rules(alpha, token, "de_arbzg").status_code == 200
    long_day, nine_hours = make_employee(alpha), make_employee(alpha)
    # 08:00-17:45 less 30 min = 9 h 15 min of work: more than 9 h needs 45 min (ArbZG §4).
    _attend(alpha, token, [_shift(long_day, MONDAY, "08:00", "17:45", 30)])
    # 08:00-17:30 less 30 min = exactly 9 h: "more than nine hours" is not reached, 30 min suffice.
    _attend(alpha, token, [_shift(nine_hours, MONDAY, "08:00", "17:30", 30)])

    result = _check(alpha, token, MONDAY, MONDAY)

    assert _found(alpha, long_day) == {(MONDAY.isoformat(), "break")}
    assert _found(alpha, nine_hours) == set()
    assert result["by_rule"] == {"break": 1}


def test_the_german_preset_allows_ten_hours_a_day_and_no_minute_more(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    _rules(alpha, token, "de_arbzg")
    ten, over = make_employee(alpha), make_employee(alpha)
    _attend(alpha, token, [_shift(ten, MONDAY, "07:00", "17:45", 45)])  # 10 h 00
    _attend(alpha, token, [_shift(over, MONDAY, "07:00", "17:46", 45)])  # 10 h 01

    _check(alpha, token, MONDAY, MONDAY)

    assert _found(alpha, ten) == set()
    assert _found(alpha, over) == {(MONDAY.isoformat(), "daily_max")}


def test_eleven_hours_of_rest_between_shifts_pass_and_ten_and_a_half_do_not(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    _rules(alpha, token, "eu_wtd")
    rested, tired = make_employee(alpha), make_employee(alpha)
    tuesday = MONDAY + timedelta(days=1)
    _attend(
        alpha,
        token,
        [
            _shift(rested, MONDAY, "10:00", "18:00", 30),
            _shift(rested, tuesday, "05:00", "12:00", 30),  # 11 h after 18:00
            _shift(tired, MONDAY, "10:00", "18:30", 30),
            _shift(tired, tuesday, "05:00", "11:00", 0),  # 10.5 h after 18:30
        ],
    )

    _check(alpha, token, MONDAY, tuesday)

    assert _found(alpha, rested) == set()
    assert _found(alpha, tired) == {(tuesday.isoformat(), "daily_rest")}


def test_the_uk_preset_wants_twenty_minutes_after_six_hours(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    _rules(alpha, token, "uk_wtr")
    six, longer = make_employee(alpha), make_employee(alpha)
    _attend(alpha, token, [_shift(six, MONDAY, "09:00", "15:00", 0)])  # exactly 6 h: no break needed
    _attend(alpha, token, [_shift(longer, MONDAY, "09:00", "15:20", 19)])  # 6 h 01, 19 min break

    _check(alpha, token, MONDAY, MONDAY)

    assert _found(alpha, six) == set()
    assert _found(alpha, longer) == {(MONDAY.isoformat(), "break")}


def test_the_us_preset_flags_the_hours_past_forty_in_a_week(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    _rules(alpha, token, "us_flsa")
    forty, more = make_employee(alpha), make_employee(alpha)
    week = [MONDAY + timedelta(days=offset) for offset in range(5)]
    _attend(alpha, token, [_shift(forty, day, "09:00", "17:00", 0) for day in week])  # 40 h
    _attend(alpha, token, [_shift(more, day, "09:00", "17:15", 0) for day in week])  # 41.25 h

    _check(alpha, token, MONDAY, week[-1])

    assert _found(alpha, forty) == set()
    with tenant_context(alpha.tenant):
        (flag,) = ComplianceViolation.objects.filter(employee=more)
    assert (flag.date, flag.rule, str(flag.measured)) == (MONDAY, "weekly_overtime", "41.25")


def test_a_seventh_day_in_a_row_breaks_the_weekly_rest_and_a_day_off_resets_the_count(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    _rules(alpha, token, "eu_wtd")
    steady, restless = make_employee(alpha), make_employee(alpha)
    days = [MONDAY + timedelta(days=offset) for offset in range(8)]
    _attend(alpha, token, [_shift(restless, day, "09:00", "13:00", 0) for day in days[:7]])
    # Six days, a day off, then work again: never more than six in a row.
    _attend(alpha, token, [_shift(steady, day, "09:00", "13:00", 0) for day in days[:6] + days[7:]])

    _check(alpha, token, MONDAY, days[-1])

    assert _found(alpha, steady) == set()
    assert _found(alpha, restless) == {(days[6].isoformat(), "consecutive_days")}


def test_the_weekly_average_counts_weeks_without_attendance_as_zero(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    # Two-week reference period, 48 h average: 60 h then 36 h averages 48 (allowed); 60 h then 37 h does not.
    _rules(alpha, token, "custom", {"weekly_average_max_hours": "48", "reference_weeks": 2})
    even, over = make_employee(alpha), make_employee(alpha)
    first = [MONDAY + timedelta(days=offset) for offset in range(5)]
    second = [day + timedelta(days=7) for day in first]
    _attend(alpha, token, [_shift(person, day, "08:00", "20:00", 0) for person in (even, over) for day in first])
    _attend(alpha, token, [_shift(even, day, "09:00", "16:12", 0) for day in second])  # 36 h
    _attend(alpha, token, [_shift(over, day, "09:00", "16:24", 0) for day in second])  # 37 h

    _check(alpha, token, MONDAY, second[-1])

    assert _found(alpha, even) == set()
    assert (second[0].isoformat(), "weekly_average") in _found(alpha, over)
    # The first week alone averages 30 h over two weeks: no violation for it.
    assert (MONDAY.isoformat(), "weekly_average") not in _found(alpha, over)


def test_checking_twice_gives_the_same_violations_and_keeps_acknowledged_ones(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    _rules(alpha, token, "de_arbzg")
    person = make_employee(alpha)
    _attend(alpha, token, [_shift(person, MONDAY, "08:00", "19:00", 30)])  # 10.5 h, short break
    _check(alpha, token, MONDAY, MONDAY)
    first = _found(alpha, person)
    with tenant_context(alpha.tenant):
        violation = ComplianceViolation.objects.get(employee=person, rule="daily_max")
    acknowledged = alpha.client().post(
        f"/api/compliance/violations/{violation.id}/acknowledge",
        {"comment": "Server migration night, agreed with the works council."},
        content_type="application/json",
        **auth(token),
    )
    assert acknowledged.status_code == 200, acknowledged.json()

    again = _check(alpha, token, MONDAY, MONDAY)

    assert _found(alpha, person) == first == {(MONDAY.isoformat(), "daily_max"), (MONDAY.isoformat(), "break")}
    assert again["by_rule"] == {"break": 1}  # the acknowledged one was kept, not written again
    with tenant_context(alpha.tenant):
        kept = ComplianceViolation.objects.get(pk=violation.id)
        assert kept.acknowledgement.startswith("Server migration")
        assert AuditEvent.objects.filter(action="violation.acknowledge", object_id=str(violation.id)).count() == 1


def _rules_state(handle: TenantHandle) -> tuple[list[Any], int]:
    with tenant_context(handle.tenant):
        saved = list(ComplianceRuleSet.objects.values_list("preset", "thresholds"))
        return saved, AuditEvent.objects.filter(action="compliance_rules.update").count()


def test_a_threshold_out_of_range_or_an_unknown_preset_is_a_400_naming_the_field(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    before = _rules_state(alpha)
    too_long = _rules(alpha, token, "custom", {"daily_max_hours": "25"})
    assert too_long.status_code == 400
    assert "daily_max_hours" in too_long.json()["error"]["fields"]["thresholds"]
    bad_tier = _rules(alpha, token, "custom", {"breaks": [{"over_hours": "6", "min_minutes": 0}]})
    assert bad_tier.status_code == 400
    assert "breaks.0.min_minutes" in bad_tier.json()["error"]["fields"]["thresholds"]
    unknown = _rules(alpha, token, "mars")
    assert unknown.status_code == 400
    assert "preset" in unknown.json()["error"]["fields"]
    not_a_number = _rules(alpha, token, "custom", {"min_daily_rest_hours": "NaN"})
    assert not_a_number.status_code == 400
    # Nothing was half-written: the saved rules are as they were, and no change was audited.
    assert _rules_state(alpha) == before


def test_a_threshold_at_its_edge_is_kept_and_one_past_it_leaves_the_saved_rules_as_they_were(
    alpha: TenantHandle,
) -> None:
    token = staff_token(alpha)
    at_the_edge = _rules(alpha, token, "custom", {"daily_max_hours": "24"})
    assert at_the_edge.status_code == 200, at_the_edge.json()
    past_it = _rules(alpha, token, "de_arbzg", {"daily_max_hours": "24.01"})
    assert past_it.status_code == 400
    assert "daily_max_hours" in past_it.json()["error"]["fields"]["thresholds"]
    with tenant_context(alpha.tenant):
        saved = ComplianceRuleSet.objects.get()
        assert (saved.preset, saved.thresholds["daily_max_hours"]) == ("custom", "24")


def test_employees_see_their_own_violations_only_and_cannot_run_a_check(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    _rules(alpha, token, "de_arbzg")
    _, own, own_token = employee_user(alpha)
    other = make_employee(alpha)
    _attend(alpha, token, [_shift(person, MONDAY, "07:00", "19:00", 60) for person in (own, other)])
    _check(alpha, token, MONDAY, MONDAY)

    listing = alpha.client().get("/api/compliance/violations", **auth(own_token))

    assert listing.status_code == 200
    assert {row["employee"] for row in listing.json()["results"]} == {str(own.id)}
    denied = alpha.client().post(
        "/api/compliance/check",
        {"date_from": MONDAY.isoformat(), "date_to": MONDAY.isoformat()},
        content_type="application/json",
        **auth(own_token),
    )
    assert denied.status_code == 403


def test_another_tenants_violation_id_is_a_404(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = staff_token(alpha)
    _rules(alpha, token, "de_arbzg")
    person = make_employee(alpha)
    _attend(alpha, token, [_shift(person, MONDAY, "07:00", "19:00", 60)])
    _check(alpha, token, MONDAY, MONDAY)
    with tenant_context(alpha.tenant):
        violation = ComplianceViolation.objects.filter(employee=person).first()
    assert violation is not None

    response = beta.client().post(
        f"/api/compliance/violations/{violation.id}/acknowledge",
        {"comment": "not yours"},
        content_type="application/json",
        **auth(staff_token(beta)),
    )

    assert response.status_code == 404


@pytest.mark.parametrize("body", [{"date_from": "2026-03-10", "date_to": "2026-03-01"}, {"date_from": "2026-03-01"}])
def test_a_bad_check_range_is_a_400(alpha: TenantHandle, body: dict[str, str]) -> None:
    response = alpha.client().post(
        "/api/compliance/check", body, content_type="application/json", **auth(staff_token(alpha))
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]
