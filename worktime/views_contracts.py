"""Web UI of contracts: an employee's contract terms by effective date, and the form that adds new terms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.fields import DateFormField
from core.ui import DateInput, error_to_form, render_page, staff_required
from timesheets.pickers import EmployeePickerField
from worktime import services
from worktime.selectors import contract_list

CONTRACTS_PER_PAGE = 25
WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


class ContractForm(forms.Form):
    employee = EmployeePickerField()
    starts_on = DateFormField(widget=DateInput(), label="Starts on")
    ends_on = DateFormField(widget=DateInput(), label="Ends on", required=False, help_text="Empty: open-ended.")
    weekly_hours = forms.DecimalField(
        max_digits=4, decimal_places=1, min_value=Decimal(0), max_value=Decimal(168), initial=Decimal("40.0")
    )
    work_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, initial=[1, 2, 3, 4, 5], label="Work days"
    )
    daily_hours = forms.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(24),
        required=False,
        help_text="Only when the days are not the weekly hours spread evenly.",
    )
    country = forms.CharField(
        max_length=2, required=False, help_text="The employee's own location for holidays (ISO code); empty: company's."
    )
    subdivision = forms.CharField(max_length=10, required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["employee"].user = user  # type: ignore[attr-defined]


@staff_required
@require_http_methods(["GET", "POST"])
def contract_index(request: HttpRequest) -> HttpResponse:
    """Contracts (of one employee with `?employee=`), and the form to add new terms (HR and Admin)."""
    form = ContractForm(request.POST or None, user=request.user, initial={"employee": request.GET.get("employee")})
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            contract = services.contract_create(
                actor=request.user,
                employee=values["employee"],
                terms=services.ContractInput(
                    starts_on=values["starts_on"],
                    ends_on=values.get("ends_on"),
                    weekly_hours=values["weekly_hours"],
                    work_days=values["work_days"],
                    daily_hours=values.get("daily_hours"),
                    country=values.get("country") or "",
                    subdivision=values.get("subdivision") or "",
                ),
            )
        except ApplicationError as exc:
            error_to_form(request, form, exc)
        else:
            messages.success(
                request, f"Contract of {values['employee'].name} from {contract.starts_on:%d %b %Y} added."
            )
            return redirect(f"/contracts?employee={contract.employee_id}")
    chosen = EmployeePickerField(user=request.user, required=False)
    try:
        employee = chosen.clean(request.GET.get("employee"))
    except forms.ValidationError:
        employee = None
    found = contract_list(employee_id=employee.id if employee is not None else None)
    page = Paginator(found, CONTRACTS_PER_PAGE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "worktime/contracts.html",
        {
            "form": form,
            "employee": employee,
            "page_obj": page,
            "page_query": f"employee={employee.id}" if employee is not None else "",
            "weekdays": dict(WEEKDAYS),
        },
    )
