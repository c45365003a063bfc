"""The "days needing attention" page: one worklist instead of opening every employee's grid."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from core.fields import DateFormField
from core.replica import reads_from_replica
from core.roles import is_staff_user
from core.ui import DateInput, render_page
from timesheets.pickers import EmployeePickerField
from timesheets.selectors import tenant_today
from worktime.attention import KIND_LABELS, AttentionKind, attention_days

PAGE_SIZE = 50
DEFAULT_DAYS = 14
MAX_DAYS = 92


class AttentionFilterForm(forms.Form):
    employee = EmployeePickerField(required=False)
    date_from = DateFormField(required=False, label="From", widget=DateInput())
    date_to = DateFormField(required=False, label="To", widget=DateInput())
    kind = forms.ChoiceField(
        required=False, label="What", choices=[("", "Everything"), *((k.value, v) for k, v in KIND_LABELS.items())]
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if is_staff_user(user):
            self.fields["employee"].user = user  # type: ignore[attr-defined]
        else:
            del self.fields["employee"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "Must not be before the start date.")
        elif start and end and (end - start).days >= MAX_DAYS:
            self.add_error("date_to", f"At most {MAX_DAYS} days at a time.")
        return data


@login_required
@require_GET
@reads_from_replica
def attention_index(request: HttpRequest) -> HttpResponse:
    """Days without attendance, without a suggestion, under- or over-allocated, or worked on a day off."""
    form = AttentionFilterForm(request.GET, user=request.user)
    today = tenant_today()
    context: dict[str, Any] = {"form": form, "page_obj": None}
    if form.is_valid():
        data = form.cleaned_data
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - timedelta(days=DEFAULT_DAYS - 1)
        employee = data.get("employee")
        days = attention_days(
            user=request.user,
            date_from=date_from,
            date_to=date_to,
            employee_id=employee.id if employee else None,
            kinds=frozenset({AttentionKind(data["kind"])}) if data.get("kind") else None,
        )
        context.update(
            page_obj=Paginator(days, PAGE_SIZE).get_page(request.GET.get("page")),
            date_from=date_from,
            date_to=date_to,
            counts=[
                (KIND_LABELS[kind].lower(), count)
                for kind in AttentionKind
                if (count := sum(1 for day in days if day.kind == kind))
            ],
            page_query="&".join(f"{k}={v}" for k, v in request.GET.items() if k != "page"),
        )
    return render_page(request, "worktime/attention.html", context)
