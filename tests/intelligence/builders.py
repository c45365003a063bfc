"""Builds a small, known world in a tenant: projects, employees, attendance and evidence."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from jira_sync.models import JiraIssueAssignment, JiraWorkLog
from tenants.crypto import blind_index
from timesheets.models import AttendanceRecord, Employee, Project, TimesheetProjectAllocation

MONDAY = date(2026, 3, 2)
UTC = ZoneInfo("UTC")


@dataclass
class World:
    projects: list[Project]
    employees: list[Employee]
    start: date
    end: date


def build_world(*, employees: int = 3, days: int = 5, start: date = MONDAY, tag: str = "") -> World:
    """Every employee attends 8h a day; logs 3h on project 0; has an open issue on 1; 6 weeks of history on 2."""
    suffix = tag or uuid.uuid4().hex[:6]
    projects = [
        Project.objects.create(code=f"P{i}{suffix}".upper()[:32], name=f"Project {i}", jira_project_key=f"P{i}")
        for i in range(3)
    ]
    people = []
    for n in range(employees):
        email = f"e{n}.{suffix}@example.test"
        people.append(
            Employee(
                name=f"Employee {n}",
                email=email,
                email_index=blind_index(email, purpose="email"),
                jira_account_id=f"acc-{n}",
            )
        )
    Employee.objects.bulk_create(people)
    attendance, logs, history, assignments = [], [], [], []
    for employee in people:
        for offset in range(days):
            day = start + timedelta(days=offset)
            check_in = datetime.combine(day, time(9), UTC)
            attendance.append(
                AttendanceRecord(
                    employee=employee,
                    date=day,
                    check_in=check_in,
                    check_out=check_in + timedelta(hours=8, minutes=30),
                    break_minutes=30,
                    worked_hours=Decimal("8.00"),
                )
            )
            logs.append(
                JiraWorkLog(
                    jira_worklog_id=uuid.uuid4().hex[:20],
                    issue_id="1",
                    issue_key=f"P0-{offset}",
                    project=projects[0],
                    employee=employee,
                    author_account_id=employee.jira_account_id,
                    started_at=check_in,
                    work_date=day,
                    seconds=3 * 3600,
                )
            )
        assignments.append(
            JiraIssueAssignment(
                issue_id=uuid.uuid4().hex[:20],
                issue_key="P1-7",
                employee=employee,
                project=projects[1],
                status="In Progress",
            )
        )
        # Six weeks of accepted history on project 2 (4h every weekday): the generator learns the pattern.
        for back in range(1, 43):
            day = start - timedelta(days=back)
            if day.weekday() < 5:
                history.append(
                    TimesheetProjectAllocation(employee=employee, project=projects[2], date=day, hours=Decimal(4))
                )
    AttendanceRecord.objects.bulk_create(attendance)
    JiraWorkLog.objects.bulk_create(logs)
    JiraIssueAssignment.objects.bulk_create(assignments)
    TimesheetProjectAllocation.objects.bulk_create(history)
    return World(projects=projects, employees=people, start=start, end=start + timedelta(days=days - 1))
