"""Benchmark: every report over 10,000 employees x one month, the compliance check over the same month, the check
an attendance import of 250 employees triggers, and one employee's flexitime balance over three years.

    .venv/bin/python loadtests/bench_reports.py [--employees 10000] [--days 31] [--rounds 3]

Runs in a database of its own (hrms_bench_reports, dropped afterwards). The month is written with
set-based SQL (employees, 50 projects with clients and budgets, attendance and two or three allocations
per working day, leave for one employee in ten, a contract change for one in five); each report is then
built through its selector (the code the API and the page call) and timed, best and median of the rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import bench_cache_prefix, bench_finish, database_recreate, database_url

MONTH_START = date(2026, 3, 1)


def _fill(cursor: object, employees: int, days: int) -> None:
    end = MONTH_START + timedelta(days=days - 1)
    statements = [
        (
            "INSERT INTO timesheets_project (id, code, name, jira_project_key, active, client, billable, budget_hours,"
            " cost_centre, created_at, updated_at)"
            " SELECT gen_random_uuid(), 'P' || n, 'Project ' || n, '', true, 'Client ' || (n %% 12),"
            " n %% 5 <> 0, CASE WHEN n %% 3 = 0 THEN 5000 END, 'CC-' || (n %% 7), now(), now()"
            " FROM generate_series(1, 50) n",
            {},
        ),
        (
            "INSERT INTO timesheets_employee (id, name, email, jira_account_id, active, weekly_hours, email_index,"
            " created_at, updated_at)"
            " SELECT gen_random_uuid(), 'Person ' || lpad(n::text, 5, '0'), 'p' || n || '@bench.test', '', true,"
            " CASE WHEN n %% 10 = 0 THEN 24 ELSE 40 END, md5(n::text), now(), now()"
            " FROM generate_series(1, %(employees)s) n",
            {"employees": employees},
        ),
        (
            "INSERT INTO timesheets_attendancerecord (id, employee_id, date, check_in, check_out, break_minutes,"
            " worked_hours, created_at, updated_at)"
            " SELECT gen_random_uuid(), e.id, d::date, d + interval '8 hours',"
            " d + interval '8 hours' + make_interval(mins => 480 + 30 + (hashtext(e.id::text || d::text) & 127)),"
            " 30, round((480 + (hashtext(e.id::text || d::text) & 127)) / 60.0, 2), now(), now()"
            " FROM timesheets_employee e, generate_series(%(start)s::date, %(end)s::date, interval '1 day') d"
            " WHERE extract(isodow FROM d) < 6",
            {"start": MONTH_START, "end": end},
        ),
        (
            "INSERT INTO timesheets_timesheetprojectallocation (id, employee_id, project_id, date, hours,"
            " suggestion_accepted, created_at, updated_at)"
            " SELECT gen_random_uuid(), a.employee_id, p.id, a.date, round(a.worked_hours / 3, 2), false, now(), now()"
            " FROM timesheets_attendancerecord a"
            " JOIN LATERAL (SELECT id FROM timesheets_project"
            "   ORDER BY hashtext(a.employee_id::text || code) LIMIT 3) p ON true",
            {},
        ),
        (
            "INSERT INTO worktime_leaverecord (id, employee_id, leave_type_id, start_date, end_date, portion, status,"
            " note, decision_comment, created_at, updated_at)"
            " SELECT gen_random_uuid(), e.id, 'vacation',"
            " %(start)s::date + (hashtext(e.id::text) & 15), %(start)s::date + (hashtext(e.id::text) & 15) + 2,"
            " 'full_day', 'approved', '', '', now(), now()"
            " FROM timesheets_employee e WHERE hashtext(e.id::text) %% 10 = 0",
            {"start": MONTH_START},
        ),
        (
            "INSERT INTO worktime_contract (id, employee_id, starts_on, ends_on, weekly_hours, work_days, country,"
            " subdivision, created_at)"
            " SELECT gen_random_uuid(), e.id, %(start)s::date + 14, NULL, 32, '[1, 2, 3, 4]'::jsonb, '', '', now()"
            " FROM timesheets_employee e WHERE hashtext(e.id::text) %% 5 = 0",
            {"start": MONTH_START},
        ),
    ]
    for sql, params in statements:
        cursor.execute(sql, params)  # type: ignore[attr-defined]
    cursor.execute("ANALYZE")  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="hrms_bench_reports")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (to read query plans)")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    os.environ.update(
        {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "hrms.settings", "CACHE_KEY_PREFIX": bench_cache_prefix()}
    )

    import django

    django.setup()
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from reports import selectors
    from tenants.migration import tenants_migrate
    from tenants.services import tenant_create
    from timesheets.models import Employee
    from worktime.compliance import violations_compute
    from worktime.models import ComplianceRuleSet, Contract
    from worktime.rules import thresholds_parse
    from worktime.selectors import flexitime_balance
    from worktime.services import compliance_check_imported

    end = MONTH_START + timedelta(days=args.days - 1)
    try:
        tenants_migrate(processes=1)
        tenant = tenant_create(
            slug="bench", name="Bench", domain="bench.localhost", admin_email="a@bench.test", admin_password="x-bench-1"
        ).tenant
        with tenant_context(tenant):
            began = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                _fill(cursor, args.employees, args.days)
                cursor.execute("SELECT count(*) FROM timesheets_timesheetprojectallocation")
                allocations = cursor.fetchone()[0]
                cursor.execute("SELECT count(*) FROM timesheets_attendancerecord")
                attendance = cursor.fetchone()[0]
            print(
                f"data: {args.employees} employees, {attendance} attendance days, {allocations} allocations "
                f"({time.perf_counter() - began:.1f} s to write)"
            )
            jobs: dict[str, Callable[[], object]] = {
                "hours by project": lambda: selectors.hours_report(
                    group_by="project", date_from=MONTH_START, date_to=end
                ),
                "hours by client": lambda: selectors.hours_report(
                    group_by="client", date_from=MONTH_START, date_to=end
                ),
                "hours by employee": lambda: selectors.hours_report(
                    group_by="employee", date_from=MONTH_START, date_to=end
                ),
                "utilisation": lambda: selectors.utilisation_report(date_from=MONTH_START, date_to=end),
                "budget burn": lambda: selectors.budget_report(as_of=end),
                "overtime and leave": lambda: selectors.overtime_report(date_from=MONTH_START, date_to=end),
                "leave": lambda: selectors.leave_report(date_from=MONTH_START, date_to=end),
                "compliance": lambda: selectors.compliance_report(date_from=MONTH_START, date_to=end),
            }

            def check() -> object:
                with transaction.atomic():
                    return violations_compute(
                        thresholds=thresholds_parse("de_arbzg"), date_from=MONTH_START, date_to=end
                    )

            ComplianceRuleSet.objects.update_or_create(pk=1, defaults={"preset": "de_arbzg", "thresholds": {}})
            imported = [str(pk) for pk in Employee.objects.order_by("pk").values_list("pk", flat=True)[:250]]

            def check_imported() -> object:
                # What the task enqueued by an import of 250 employees' month of attendance runs.
                return compliance_check_imported(actor=None, employee_ids=imported, date_from=MONTH_START, date_to=end)

            veteran = Employee.objects.order_by("pk").first()
            assert veteran is not None
            Contract.objects.filter(employee=veteran).delete()
            Contract.objects.create(
                employee=veteran,
                starts_on=MONTH_START - timedelta(days=3 * 365),
                weekly_hours=40,
                work_days=[1, 2, 3, 4, 5],
            )

            def balance() -> object:
                return flexitime_balance(employee_id=veteran.id, date_from=MONTH_START, date_to=end)

            jobs = {
                "compliance check (de_arbzg)": check,
                "check after an import of 250": check_imported,
                "flexitime balance, 3 years": balance,
                **jobs,
            }
            for name, build in jobs.items():
                timings = []
                for _ in range(args.rounds):
                    began = time.perf_counter()
                    result = build()
                    timings.append(time.perf_counter() - began)
                rows = len(result.rows) if hasattr(result, "rows") else getattr(result, "violations", "")
                print(
                    f"{name:28s} best {min(timings) * 1000:7.0f} ms, median {statistics.median(timings) * 1000:7.0f} ms"
                    f"  ({rows} rows)"
                )
    finally:
        bench_finish(url, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
