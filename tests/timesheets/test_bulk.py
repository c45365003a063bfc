"""The bulk (COPY) path into suggestions, allocations and unallocated days that generation and the demo use."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from tenants.cache import tenant_cache_get, tenant_cache_set
from tests.conftest import TenantHandle
from tests.timesheets.factories import make_allocation, make_employee, make_project, make_suggestion
from timesheets.models import (
    ProjectAllocationSuggestion,
    SuggestionSource,
    SuggestionStatus,
    TimesheetProjectAllocation,
    UnallocatedDay,
)
from timesheets.services import (
    SUGGESTIONS_CACHE_NAMESPACE,
    GeneratedRows,
    PendingBefore,
    allocations_copy,
    suggestions_generated_replace,
)

DAY = date(2026, 3, 2)


def _suggestion_row(employee_id: uuid.UUID, project_id: uuid.UUID, day: date, job_id: uuid.UUID) -> tuple[object, ...]:
    now = timezone.now()
    return (
        uuid.uuid4(), employee_id, project_id, day, Decimal("4.00"), Decimal("0.800"), SuggestionSource.RULES,
        "3h logged on PROJ-1", SuggestionStatus.PENDING, day + timedelta(days=30), None, None, job_id, now,
    )  # fmt: skip


def test_a_generated_chunk_replaces_only_pending_suggestions_and_forgets_cached_pages(alpha: TenantHandle) -> None:
    ann, bob = make_employee(alpha), make_employee(alpha)
    apollo, zeus = make_project(alpha), make_project(alpha)
    stale = make_suggestion(alpha, ann, apollo, day=DAY)
    accepted = make_suggestion(alpha, ann, zeus, day=DAY, status=SuggestionStatus.ACCEPTED)
    outside = make_suggestion(alpha, bob, apollo, day=DAY)  # not an employee of the chunk
    job_id = uuid.uuid4()
    now = timezone.now()
    with tenant_context(alpha.tenant):
        UnallocatedDay.objects.create(employee=ann, date=DAY + timedelta(days=1), attended_hours=Decimal(8))
        tenant_cache_set(namespace=SUGGESTIONS_CACHE_NAMESPACE, key="page", value=b"old")
        written = suggestions_generated_replace(
            actor=None,
            job_id=job_id,
            employee_ids=[ann.id],
            start=DAY,
            end=DAY + timedelta(days=1),
            rows=GeneratedRows(
                suggestions=[_suggestion_row(ann.id, apollo.id, DAY, job_id)],
                allocations=[(uuid.uuid4(), ann.id, zeus.id, DAY, Decimal("2.00"), accepted.id, True, now, now)],
                unallocated=[(uuid.uuid4(), ann.id, DAY + timedelta(days=1), Decimal(8), "no evidence", job_id, now)],
            ),
        )
        assert (written.suggestions, written.allocations, written.unallocated) == (1, 1, 1)
        assert not ProjectAllocationSuggestion.objects.filter(id=stale.id).exists()
        assert ProjectAllocationSuggestion.objects.filter(id=accepted.id).exists()
        assert ProjectAllocationSuggestion.objects.filter(id=outside.id).exists()
        assert ProjectAllocationSuggestion.objects.filter(employee=ann, status=SuggestionStatus.PENDING).count() == 1
        assert UnallocatedDay.objects.get(employee=ann).reason == "no evidence"
        assert AuditEvent.objects.filter(action="suggestions.auto_accept", object_id=str(job_id)).exists()
        assert tenant_cache_get(namespace=SUGGESTIONS_CACHE_NAMESPACE, key="page") is None


def test_a_run_replaces_the_pending_rows_it_found_at_its_start_and_keeps_those_decided_since(
    alpha: TenantHandle,
) -> None:
    ann, bob, cy = make_employee(alpha), make_employee(alpha), make_employee(alpha)
    apollo, zeus = make_project(alpha), make_project(alpha)
    stale = make_suggestion(alpha, ann, apollo, day=DAY)
    decided_since = make_suggestion(alpha, bob, apollo, day=DAY)
    next_month = make_suggestion(alpha, bob, zeus, day=DAY + timedelta(days=40))  # outside the period
    job_id = uuid.uuid4()
    with tenant_context(alpha.tenant):
        before = PendingBefore.find(start=DAY, end=DAY + timedelta(days=1))
        assert before.of([ann.id, bob.id, cy.id]) == [ann.id, bob.id]
        ProjectAllocationSuggestion.objects.filter(id=decided_since.id).update(status=SuggestionStatus.ACCEPTED)
        written = suggestions_generated_replace(
            actor=None,
            job_id=job_id,
            employee_ids=[ann.id, bob.id, cy.id],
            start=DAY,
            end=DAY + timedelta(days=1),
            rows=GeneratedRows(
                suggestions=[
                    _suggestion_row(ann.id, zeus.id, DAY, job_id),
                    _suggestion_row(cy.id, apollo.id, DAY, job_id),
                ],
                allocations=[],
                unallocated=[],
            ),
            pending_before=before,
        )
        assert written.suggestions == 2
        assert not ProjectAllocationSuggestion.objects.filter(id=stale.id).exists()
        assert ProjectAllocationSuggestion.objects.get(id=decided_since.id).status == SuggestionStatus.ACCEPTED
        assert ProjectAllocationSuggestion.objects.filter(id=next_month.id).exists()
        pending = ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.PENDING, date=DAY)
        assert sorted((row.employee_id, row.project_id) for row in pending) == sorted(
            [(ann.id, zeus.id), (cy.id, apollo.id)]
        )


def test_copying_allocations_that_may_exist_keeps_the_hours_already_there(alpha: TenantHandle) -> None:
    ann, apollo = make_employee(alpha), make_project(alpha)
    make_allocation(alpha, ann, apollo, day=DAY, hours="6.00")
    now = timezone.now()
    rows = [
        (uuid.uuid4(), ann.id, apollo.id, DAY, Decimal("1.00"), None, False, now, now),
        (uuid.uuid4(), ann.id, apollo.id, DAY + timedelta(days=1), Decimal("3.00"), None, False, now, now),
    ]
    with tenant_context(alpha.tenant):
        assert allocations_copy(rows=rows, skip_existing=True) == 1
        assert allocations_copy(rows=rows, skip_existing=True) == 0
        hours = dict(TimesheetProjectAllocation.objects.values_list("date", "hours"))
    assert hours == {DAY: Decimal("6.00"), DAY + timedelta(days=1): Decimal("3.00")}
