"""Benchmark: the timesheet lifecycle at scale — closing a month of 10,000 employees, its payroll export (CSV and
XLSX), and approving 200 weeks in one action.

    .venv/bin/python loadtests/bench_payroll_export.py [--employees 10000] [--days 31] [--weeks 200]

Runs in a database of its own (hrms_bench_payroll, dropped afterwards unless --keep). The month is written with
the set-based SQL of bench_reports.py (attendance and three allocations per working day, leave, contracts),
every employee's weeks of the month approved. Then, through the services and selectors the API calls:
closing the period (the check that every week is approved included), the CSV export streamed to nowhere,
the XLSX export to a temporary file, and `weeks_approve` over `--weeks` submitted weeks of the next month.
Targets (issue: timesheet lifecycle): close ≤ 10 s, export ≤ 10 s, 200 weeks approved ≤ 1 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.bench_reports import MONTH_START, _fill
from loadtests.common import bench_cache_prefix, bench_finish, database_recreate, database_url


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--weeks", type=int, default=200)
    parser.add_argument("--database", default="hrms_bench_payroll")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (to read query plans)")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    os.environ.update(
        {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "hrms.settings", "CACHE_KEY_PREFIX": bench_cache_prefix()}
    )

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from reports.payroll import payroll_csv_lines, payroll_manifest, payroll_xlsx_file
    from tenants.migration import tenants_migrate
    from tenants.services import tenant_create
    from timesheets.models import TimesheetWeek
    from timesheets.services.periods import pay_period_close
    from timesheets.services.weeks import weeks_approve
    from worktime.totals import expected_totals, flexitime_totals

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
                cursor.execute(
                    "INSERT INTO timesheets_timesheetweek (id, employee_id, week_start, status, comment, updated_at)"
                    " SELECT gen_random_uuid(), e.id, w::date, 'approved', '', now() FROM timesheets_employee e,"
                    " generate_series(date_trunc('week', %s::date), %s::date, interval '7 days') w",
                    [MONTH_START, end],
                )
                cursor.execute("SELECT count(*) FROM timesheets_timesheetprojectallocation")
                allocations = cursor.fetchone()[0]
                cursor.execute("ANALYZE")
            print(f"data: {args.employees} employees, {allocations} allocations ({time.perf_counter() - began:.1f} s)")
            admin = User.objects.get(username="a@bench.test")

            began = time.perf_counter()
            with transaction.atomic():
                closed = pay_period_close(actor=admin, day=MONTH_START)
            print(
                f"close the period {closed.period.start_date}..{closed.period.end_date}: "
                f"{(time.perf_counter() - began) * 1000:7.0f} ms ({len(closed.unapproved)} weeks not approved)"
            )

            # The export's per-employee hours: the flexitime account (history included) against the plain totals.
            for label, totals_of in (("expected totals", expected_totals), ("flexitime totals", flexitime_totals)):
                began = time.perf_counter()
                found = totals_of(date_from=closed.period.start_date, date_to=closed.period.end_date)
                print(f"{label}: {(time.perf_counter() - began) * 1000:7.0f} ms ({len(found)} employees)")

            rss = _peak_mb()
            began = time.perf_counter()
            size = lines = 0
            for line in payroll_csv_lines(closed.period):
                size += len(line)
                lines += 1
            print(
                f"payroll CSV export: {(time.perf_counter() - began) * 1000:7.0f} ms, {lines} lines, "
                f"{size / 1e6:.1f} MB; peak RSS {rss:.0f} -> {_peak_mb():.0f} MB"
            )
            rss = _peak_mb()
            began = time.perf_counter()
            with payroll_xlsx_file(closed.period) as out:
                out.seek(0, 2)
                xlsx_size = out.tell()
            print(
                f"payroll XLSX export: {(time.perf_counter() - began) * 1000:7.0f} ms, {xlsx_size / 1e6:.1f} MB; "
                f"peak RSS {rss:.0f} -> {_peak_mb():.0f} MB"
            )
            began = time.perf_counter()
            manifest = payroll_manifest(closed.period)
            print(
                f"payroll manifest: {(time.perf_counter() - began) * 1000:7.0f} ms, {manifest['rows']} rows, "
                f"{manifest['totals']['hours']} h"
            )

            next_month = end + timedelta(days=(7 - end.weekday()) % 7 or 7)
            employees = list(TimesheetWeek.objects.values_list("employee_id", flat=True).distinct()[: args.weeks])
            weeks = TimesheetWeek.objects.bulk_create(
                [TimesheetWeek(employee_id=e, week_start=next_month, status="submitted") for e in employees]
            )
            began = time.perf_counter()
            result = weeks_approve(actor=admin, ids=[str(week.id) for week in weeks])
            print(
                f"approve {len(weeks)} weeks in one action: {(time.perf_counter() - began) * 1000:7.0f} ms "
                f"({result.counts()['approved']} approved)"
            )
    finally:
        bench_finish(url, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
