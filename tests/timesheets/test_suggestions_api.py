"""Suggestion review: the cached pending list, and bulk, idempotent accept and reject with per-id outcomes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
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
from timesheets.models import ProjectAllocationSuggestion, SuggestionStatus, TimesheetProjectAllocation
from timesheets.services import DecisionItem, suggestions_accept, suggestions_cache_invalidate, suggestions_expire
from timesheets.tasks import suggestions_expire_all_task

PENDING = "/api/timesheet-intelligence/suggestions/pending"
ACCEPT = "/api/timesheet-intelligence/suggestions/accept"
REJECT = "/api/timesheet-intelligence/suggestions/reject"


@pytest.fixture(autouse=True)
def _no_cached_pages(alpha: TenantHandle, beta: TenantHandle) -> None:
    # Factories write straight to the database, bypassing the services that invalidate the cache, and the
    # Redis test database outlives each test's rolled-back transaction.
    for handle in (alpha, beta):
        with tenant_context(handle.tenant):
            suggestions_cache_invalidate()


def _post(handle: TenantHandle, path: str, token: str, body: Any) -> Any:
    return handle.client().post(path, body, content_type="application/json", **auth(token))


def _outcomes(response: Any) -> dict[str, str]:
    return {row["id"]: row["outcome"] for row in response.json()["results"]}


def _status(handle: TenantHandle, suggestion: ProjectAllocationSuggestion) -> ProjectAllocationSuggestion:
    with tenant_context(handle.tenant):
        return ProjectAllocationSuggestion.objects.get(id=suggestion.id)


def _allocations(handle: TenantHandle) -> list[TimesheetProjectAllocation]:
    with tenant_context(handle.tenant):
        return list(TimesheetProjectAllocation.objects.order_by("date"))


def test_the_pending_list_puts_the_least_confident_first_with_names_and_codes(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann = make_employee(alpha, name="Ann")
    apollo = make_project(alpha, code="APOLLO")
    sure = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 2), confidence="0.900")
    late = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 4), confidence="0.300")
    early = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 3), confidence="0.300")
    make_suggestion(alpha, ann, apollo, day=date(2026, 3, 5), status=SuggestionStatus.REJECTED)
    make_suggestion(alpha, ann, apollo, day=date(2026, 3, 6), expiry_date=date.today() - timedelta(days=1))

    response = alpha.client().get(PENDING, **auth(token))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [str(early.id), str(late.id), str(sure.id)]
    assert rows[0]["employee_name"] == "Ann"
    assert rows[0]["project_code"] == "APOLLO"
    assert rows[0]["confidence"] == "0.300"
    assert rows[0]["hours"] == "4.00"


def test_the_pending_list_filters(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, bob = make_employee(alpha), make_employee(alpha)
    apollo, gemini = make_project(alpha), make_project(alpha)
    make_suggestion(alpha, ann, apollo, day=date(2026, 3, 2), confidence="0.200")
    make_suggestion(alpha, ann, gemini, day=date(2026, 3, 3), confidence="0.600")
    make_suggestion(alpha, bob, apollo, day=date(2026, 3, 4), confidence="0.800")
    client = alpha.client()

    def count(query: str) -> int:
        response = client.get(f"{PENDING}?{query}", **auth(token))
        assert response.status_code == 200, response.json()
        return int(response.json()["count"])

    assert count(f"employee={ann.id}") == 2
    assert count(f"project={apollo.id}") == 2
    assert count("date_from=2026-03-03&date_to=2026-03-03") == 1
    assert count("confidence_below=0.5") == 1
    assert count("confidence_above=0.5") == 2
    assert count(f"employee={ann.id}&confidence_above=0.5") == 1


def test_the_pending_list_rejects_bad_filters(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    for bad, field in (
        ("employee=abc", "employee"),
        ("date_to=tomorrow", "date_to"),
        ("confidence_below=2", "confidence_below"),
        ("project=", "project"),
    ):
        response = alpha.client().get(f"{PENDING}?{bad}", **auth(token))
        assert response.status_code == 400, bad
        assert field in response.json()["error"]["fields"], bad


def test_a_page_past_its_freshness_is_rebuilt_by_one_request_while_the_others_get_it_stale(
    alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    from types import SimpleNamespace

    from tenants import cache
    from timesheets.api import suggestions as api

    token = staff_token(alpha)
    make_suggestion(alpha, make_employee(alpha), make_project(alpha))
    client = alpha.client()
    first = client.get(PENDING, **auth(token))
    assert first["X-Cache"] == "miss"
    later = time.time() + api.PENDING_CACHE_SECONDS + 1
    monkeypatch.setattr(cache, "time", SimpleNamespace(time=lambda: later))
    # Another request holds the rebuild: this one is served the page it had, at once.
    monkeypatch.setattr(cache, "tenant_cache_add", lambda **_: False)
    stale = client.get(PENDING, **auth(token))
    assert stale["X-Cache"] == "stale"
    assert stale.content == first.content
    # Nobody holds it: this request rebuilds, and the rebuilt page is fresh again.
    monkeypatch.undo()
    monkeypatch.setattr(cache, "time", SimpleNamespace(time=lambda: later))
    assert client.get(PENDING, **auth(token))["X-Cache"] == "miss"
    assert client.get(PENDING, **auth(token))["X-Cache"] == "hit"


def test_the_rebuild_is_claimed_once(alpha: TenantHandle) -> None:
    from tenants.cache import tenant_cache_add

    with tenant_context(alpha.tenant):
        claims = [tenant_cache_add(namespace="rebuild-probe", key="page", value=1, timeout=30) for _ in range(3)]
    assert claims == [True, False, False]


def test_the_pending_list_is_served_from_the_cache_until_a_decision_invalidates_it(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    suggestion = make_suggestion(alpha, make_employee(alpha), make_project(alpha))
    client = alpha.client()
    first = client.get(PENDING, **auth(token))
    assert first["X-Cache"] == "miss"
    second = client.get(PENDING, **auth(token))
    assert second["X-Cache"] == "hit"
    assert second.json() == first.json()
    assert first.json()["count"] == 1

    assert _outcomes(_post(alpha, ACCEPT, token, {"ids": [str(suggestion.id)]})) == {str(suggestion.id): "accepted"}
    after = client.get(PENDING, **auth(token))
    assert after["X-Cache"] == "miss"
    assert after.json()["count"] == 0


def test_an_employee_sees_only_their_own_pending_suggestions_in_their_own_cache_entry(alpha: TenantHandle) -> None:
    _, own, token = employee_user(alpha)
    apollo = make_project(alpha)
    mine = make_suggestion(alpha, own, apollo)
    make_suggestion(alpha, make_employee(alpha), apollo)
    assert alpha.client().get(PENDING, **auth(staff_token(alpha))).json()["count"] == 2  # cached for staff
    rows = alpha.client().get(PENDING, **auth(token)).json()["results"]
    assert [row["id"] for row in rows] == [str(mine.id)]


def test_the_pending_list_costs_the_same_queries_for_3_or_30_suggestions(
    alpha: TenantHandle, django_assert_max_num_queries: Any
) -> None:
    token = staff_token(alpha)
    ann, apollo = make_employee(alpha), make_project(alpha)
    for day in range(1, 4):
        make_suggestion(alpha, ann, apollo, day=date(2026, 3, day))
    warm_up(alpha, token)
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as few:
        assert alpha.client().get(PENDING, **auth(token)).json()["count"] == 3
    for day in range(4, 31):
        make_suggestion(alpha, ann, apollo, day=date(2026, 3, day))
    with tenant_context(alpha.tenant):
        suggestions_cache_invalidate()
    with django_assert_max_num_queries(LIST_QUERY_BUDGET) as many:
        assert alpha.client().get(PENDING, **auth(token)).json()["count"] == 30
    assert len(many.captured_queries) == len(few.captured_queries)
    # A cache hit with a token this process has just seen: PostgreSQL is not asked anything.
    with django_assert_max_num_queries(0):
        assert alpha.client().get(PENDING, **auth(token))["X-Cache"] == "hit"


def test_accept_creates_allocations_and_is_idempotent(alpha: TenantHandle) -> None:
    user_token = staff_token(alpha)
    ann, apollo = make_employee(alpha), make_project(alpha)
    one = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 2), hours="3.50")
    two = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 3), hours="4.00")

    response = _post(alpha, ACCEPT, user_token, {"ids": [str(one.id), str(two.id)]})
    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    assert _outcomes(response) == {str(one.id): "accepted", str(two.id): "accepted"}
    allocations = _allocations(alpha)
    assert [(a.date, a.hours, a.suggestion_id, a.suggestion_accepted) for a in allocations] == [
        (date(2026, 3, 2), Decimal("3.50"), one.id, True),
        (date(2026, 3, 3), Decimal("4.00"), two.id, True),
    ]
    decided = _status(alpha, one)
    assert decided.status == SuggestionStatus.ACCEPTED
    assert decided.accepted_hours == Decimal("3.50")
    assert decided.decided_by is not None
    assert decided.decided_at is not None

    again = _post(alpha, ACCEPT, user_token, {"ids": [str(one.id), str(two.id)]})
    assert again.status_code == 200
    assert set(_outcomes(again).values()) == {"already_accepted"}
    assert again.json()["already_accepted"] == 2
    assert again.json()["accepted"] == 0
    assert len(_allocations(alpha)) == 2


def test_accept_honours_corrected_hours_and_replaces_an_existing_allocation(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, apollo = make_employee(alpha), make_project(alpha)
    suggestion = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 2), hours="4.00")
    make_allocation(alpha, ann, apollo, day=date(2026, 3, 2), hours="1.00")
    response = _post(alpha, ACCEPT, token, {"items": [{"id": str(suggestion.id), "hours": "6.25"}]})
    assert _outcomes(response) == {str(suggestion.id): "accepted"}
    [allocation] = _allocations(alpha)
    assert (allocation.hours, allocation.suggestion_id) == (Decimal("6.25"), suggestion.id)
    stored = _status(alpha, suggestion)
    assert (stored.hours, stored.accepted_hours) == (Decimal("4.00"), Decimal("6.25"))


def test_unknown_malformed_and_other_tenants_ids_are_not_found(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = staff_token(alpha)
    theirs = make_suggestion(beta, make_employee(beta), make_project(beta))
    unknown = str(uuid.uuid4())
    for path in (ACCEPT, REJECT):
        response = _post(alpha, path, token, {"ids": [str(theirs.id), unknown, "not-a-uuid", "42"]})
        assert response.status_code == 200
        assert _outcomes(response) == {
            str(theirs.id): "not_found",
            unknown: "not_found",
            "not-a-uuid": "not_found",
            "42": "not_found",
        }
        assert response.json()["not_found"] == 4
    assert _status(beta, theirs).status == SuggestionStatus.PENDING


def test_reject_is_idempotent_leaves_decided_suggestions_alone_and_marks_expired_ones(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, apollo = make_employee(alpha), make_project(alpha)
    pending = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 2))
    accepted = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 3), status=SuggestionStatus.ACCEPTED)
    expired = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 4), expiry_date=date.today() - timedelta(1))
    response = _post(alpha, REJECT, token, {"ids": [str(pending.id), str(accepted.id), str(expired.id)]})
    assert _outcomes(response) == {
        str(pending.id): "rejected",
        str(accepted.id): "not_pending",
        str(expired.id): "expired",
    }
    assert _status(alpha, pending).status == SuggestionStatus.REJECTED
    assert _status(alpha, expired).status == SuggestionStatus.EXPIRED
    assert _outcomes(_post(alpha, REJECT, token, {"ids": [str(pending.id)]})) == {str(pending.id): "already_rejected"}
    assert _outcomes(_post(alpha, ACCEPT, token, {"ids": [str(expired.id)]})) == {str(expired.id): "expired"}
    assert _outcomes(_post(alpha, ACCEPT, token, {"ids": [str(pending.id)]})) == {str(pending.id): "not_pending"}
    assert _allocations(alpha) == []


def test_an_employee_decides_only_their_own_suggestions(alpha: TenantHandle) -> None:
    _, own, token = employee_user(alpha)
    apollo = make_project(alpha)
    mine = make_suggestion(alpha, own, apollo)
    someone_elses = make_suggestion(alpha, make_employee(alpha), apollo)
    response = _post(alpha, ACCEPT, token, {"ids": [str(mine.id), str(someone_elses.id)]})
    assert _outcomes(response) == {str(mine.id): "accepted", str(someone_elses.id): "not_found"}
    assert _outcomes(_post(alpha, REJECT, token, {"ids": [str(someone_elses.id)]})) == {
        str(someone_elses.id): "not_found"
    }
    assert _status(alpha, someone_elses).status == SuggestionStatus.PENDING


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": [{"id": "x", "hours": "0"}]}, "items"),
        ({"items": [{"id": "x", "hours": "24.01"}]}, "items"),
        ({"ids": []}, "ids"),
        ({}, "ids"),
        ({"ids": ["a"], "items": [{"id": "b"}]}, "ids"),
        ({"ids": "abc"}, "ids"),
        ({"ids": [str(uuid.uuid4()) for _ in range(1001)]}, "ids"),
        ({"items": [{"id": str(uuid.uuid4())} for _ in range(1001)]}, "items"),
        (["not", "an", "object"], "non_field_errors"),
    ],
)
def test_accept_rejects_bad_input_naming_the_field(alpha: TenantHandle, body: Any, field: str) -> None:
    response = _post(alpha, ACCEPT, staff_token(alpha), body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_reject_rejects_bad_input_naming_the_field(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    for body in ({"ids": [str(uuid.uuid4()) for _ in range(1001)]}, {"ids": [{"id": 1}]}, {"ids": None}):
        response = _post(alpha, REJECT, token, body)
        assert response.status_code == 400
        assert "ids" in response.json()["error"]["fields"]


def test_a_failure_while_writing_allocations_leaves_every_suggestion_pending(
    alpha: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, apollo = make_employee(alpha), make_project(alpha)
    suggestion = make_suggestion(alpha, ann, apollo)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(TimesheetProjectAllocation.objects, "bulk_create", broken)
    with tenant_context(alpha.tenant), pytest.raises(RuntimeError):
        suggestions_accept(actor=None, items=[DecisionItem(id=str(suggestion.id))])
    assert _status(alpha, suggestion).status == SuggestionStatus.PENDING


def test_another_tenants_token_cannot_review_here(alpha: TenantHandle, beta: TenantHandle) -> None:
    token = staff_token(alpha)
    assert beta.client().get(PENDING, **auth(token)).status_code == 401
    assert _post(beta, ACCEPT, token, {"ids": [str(uuid.uuid4())]}).status_code == 401
    assert _post(beta, REJECT, token, {"ids": [str(uuid.uuid4())]}).status_code == 401


def test_a_cached_page_is_byte_for_byte_the_page_first_rendered(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, apollo = make_employee(alpha), make_project(alpha)
    for day in range(1, 4):
        make_suggestion(alpha, ann, apollo, day=date(2026, 3, day))
    miss = alpha.client().get(PENDING, **auth(token))
    hit = alpha.client().get(PENDING, **auth(token))
    assert (miss["X-Cache"], hit["X-Cache"]) == ("miss", "hit")
    assert hit["Content-Type"] == miss["Content-Type"] == "application/json"
    assert hit.content == miss.content
    assert hit.json()["count"] == 3


def test_accepting_a_suggestion_past_its_expiry_marks_it_expired_and_writes_no_allocation(alpha: TenantHandle) -> None:
    token = staff_token(alpha)
    ann, apollo = make_employee(alpha), make_project(alpha)
    late = make_suggestion(alpha, ann, apollo, expiry_date=date.today() - timedelta(days=1))
    assert _outcomes(_post(alpha, ACCEPT, token, {"ids": [str(late.id)]})) == {str(late.id): "expired"}
    assert _status(alpha, late).status == SuggestionStatus.EXPIRED
    assert _outcomes(_post(alpha, ACCEPT, token, {"ids": [str(late.id)]})) == {str(late.id): "expired"}
    assert _allocations(alpha) == []


def test_the_expiry_beat_marks_pending_suggestions_past_their_date_in_every_tenant(
    alpha: TenantHandle, beta: TenantHandle
) -> None:
    ann, apollo = make_employee(alpha), make_project(alpha)
    today = date(2026, 3, 20)
    due = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 2), expiry_date=today - timedelta(days=1))
    last_day = make_suggestion(alpha, ann, apollo, day=date(2026, 3, 3), expiry_date=today)
    decided = make_suggestion(
        alpha,
        ann,
        apollo,
        day=date(2026, 3, 4),
        expiry_date=today - timedelta(days=1),
        status=SuggestionStatus.REJECTED,
    )
    with tenant_context(alpha.tenant):
        assert suggestions_expire(today=today) == 1
        assert suggestions_expire(today=today) == 0
    assert _status(alpha, due).status == SuggestionStatus.EXPIRED
    assert _status(alpha, last_day).status == SuggestionStatus.PENDING
    assert _status(alpha, decided).status == SuggestionStatus.REJECTED
    theirs = make_suggestion(
        beta, make_employee(beta), make_project(beta), expiry_date=date.today() - timedelta(days=1)
    )
    assert suggestions_expire_all_task() >= 1
    assert _status(beta, theirs).status == SuggestionStatus.EXPIRED
