"""Web UI of the audit trail: the event list with filters, and a "verify chain" button that shows the result."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.selectors import audit_events
from audit.services import VerifyResult, audit_verify
from core.fields import DateFormField
from core.replica import reads_from_replica
from core.ui import DateInput, is_htmx, render_page, staff_required

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=64, help_text="e.g. suggestions.accept")
    actor = forms.CharField(required=False, max_length=200, label="Actor", help_text="User id or name")
    object_type = forms.CharField(required=False, max_length=64, label="Object type")
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    date_from = DateFormField(required=False, label="From", widget=DateInput())
    date_to = DateFormField(required=False, label="To", widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "Must not be before the start date.")
        return data


def _day_start(day: date) -> datetime:
    """Midnight of a tenant calendar day (the request runs in the tenant's time zone)."""
    return timezone.make_aware(datetime.combine(day, time.min))


@staff_required
@require_GET
@reads_from_replica
def audit_index(request: HttpRequest) -> HttpResponse:
    """Newest events first; every filter is a plain GET parameter so a filtered view can be bookmarked."""
    form = AuditFilterForm(request.GET)
    filters: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    start, end = filters.get("date_from"), filters.get("date_to")
    events = audit_events(
        actor=filters.get("actor") or None,
        action=filters.get("action") or None,
        object_type=filters.get("object_type") or None,
        object_id=filters.get("object_id") or None,
        since=_day_start(start) if start else None,
        until=_day_start(end + timedelta(days=1)) if end else None,
    )
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render_page(
        request,
        "audit/events.html",
        {
            "form": form,
            "page_obj": page,
            "page_query": params.urlencode(),
            "has_filters": any(value not in (None, "") for value in filters.values()),
        },
    )


@staff_required
@require_GET
def audit_verify_view(request: HttpRequest) -> HttpResponse:
    """Walk the tenant's hash chain and show whether it is intact, or the first broken event and why."""
    result: VerifyResult = audit_verify()
    context = {"result": result, "checked_at": timezone.now()}
    if is_htmx(request):
        return render_page(request, "audit/_verify_result.html", context)
    return render_page(request, "audit/verify.html", context)
