"""Web UI of the reports: pick a report and a period; a chart where one helps, its table beside it, exports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from core.fields import DateFormField
from core.replica import reads_from_replica
from core.ui import DateInput, render_page, reviewer_required
from reports.selectors import (
    GROUPINGS,
    Report,
    budget_report,
    compliance_report,
    hours_report,
    leave_report,
    overtime_report,
    utilisation_report,
)
from timesheets.selectors import tenant_today, visible_employee_ids

REPORTS = {
    "hours": "Hours by project, client, cost centre or employee",
    "utilisation": "Utilisation (allocated ÷ expected)",
    "budgets": "Budget burn",
    "overtime": "Overtime and leave per employee",
    "leave": "Leave per type",
    "compliance": "Compliance violations per week",
}


class ReportForm(forms.Form):
    report = forms.ChoiceField(choices=list(REPORTS.items()), initial="hours")
    group_by = forms.ChoiceField(
        choices=[(key, key.replace("_", " ")) for key in GROUPINGS], initial="project", required=False
    )
    date_from = DateFormField(widget=DateInput(), label="From")
    date_to = DateFormField(widget=DateInput(), label="To")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "Must not be before the start date.")
        elif start and end and (end - start).days > 365:
            self.add_error("date_to", "At most a year.")
        return data


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    width: float
    y: int
    billable_width: float = 0.0


def _bars(report: Report, value_column: int, billable_column: int | None, label_column: int) -> list[Bar]:
    """The report's first 15 rows as horizontal bars scaled to the largest value (server-rendered SVG)."""
    rows = [row for row in report.rows if isinstance(row[value_column], Decimal)][:15]
    largest = max((row[value_column] for row in rows), default=Decimal(0))
    if largest <= 0:
        return []
    bars = []
    for index, row in enumerate(rows):
        width = float(row[value_column] / largest) * 100
        billable = float(row[billable_column] / largest) * 100 if billable_column is not None else 0.0
        bars.append(
            Bar(
                label=str(row[label_column])[:40],
                value=row[value_column],
                width=width,
                y=index * 26,
                billable_width=billable,
            )
        )
    return bars


def _build(values: dict[str, Any], team: set[uuid.UUID] | None) -> tuple[Report, list[Bar], str]:
    start, end = values["date_from"], values["date_to"]
    name = values["report"]
    if name == "hours":
        report = hours_report(group_by=values.get("group_by") or "project", date_from=start, date_to=end, team=team)
        return report, _bars(report, 2, 3, 1), "Hours (green: billable)"
    if name == "utilisation":
        report = utilisation_report(date_from=start, date_to=end, team=team)
        return report, _bars(report, 3, 4, 1), "Allocated hours (green: billable)"
    if name == "budgets" and team is None:
        report = budget_report(as_of=end)
        return report, _bars(report, 3, None, 1), "Budget hours used"
    if name == "overtime":
        return overtime_report(date_from=start, date_to=end, team=team), [], ""
    if name == "leave":
        report = leave_report(date_from=start, date_to=end, team=team)
        return report, _bars(report, 3, None, 1), "Calendar days of leave"
    return compliance_report(date_from=start, date_to=end, team=team), [], ""


@reviewer_required
@require_GET
@reads_from_replica
def report_index(request: HttpRequest) -> HttpResponse:
    """A report over everyone (HR, Admin) or over the reader's team (a Manager, who has no budget report)."""
    today = tenant_today()
    team = visible_employee_ids(request.user)
    data = request.GET if "report" in request.GET else None
    form = ReportForm(data, initial={"date_from": today.replace(day=1), "date_to": today})
    if team is not None:
        form.fields["report"].choices = [(k, v) for k, v in REPORTS.items() if k != "budgets"]  # type: ignore[attr-defined]
    report: Report | None = None
    bars: list[Bar] = []
    chart_title = ""
    if data is not None and form.is_valid():
        report, bars, chart_title = _build(form.cleaned_data, team)
    export = request.GET.copy()
    return render_page(
        request,
        "reports/index.html",
        {
            "form": form,
            "report": report,
            "bars": bars,
            "chart_title": chart_title,
            "chart_height": len(bars) * 26 + 10,
            "export_query": export.urlencode(),
            "api_path": f"/api/reports/{form.cleaned_data['report']}" if report is not None else "",
            "last_week": (today - timedelta(days=7)).isoformat(),
        },
    )
