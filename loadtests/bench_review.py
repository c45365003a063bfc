"""Benchmark: the review page for one week of 10,000 employees, and accepting 100,000 confident suggestions at once.

    .venv/bin/python loadtests/bench_review.py [--employees 10000] [--rounds 5]

Runs in a database of its own (hrms_bench_review, dropped afterwards). One week (Monday to Friday) is written with
set-based SQL: attendance for every employee-day and three pending suggestions per day, two confident (0.95) and
one doubtful (0.40), so 10,000 employees make 100,000 confident suggestions among 150,000. Then, through Django's
test client with the full middleware stack (tenant by host, session login, CSP):

- the review page filtered to the week (`GET /suggestions?date_from=…&date_to=…`), first page and a later page;
- the same list through the API (`GET /api/timesheet-intelligence/suggestions/pending`, cache missed each time);
- the confirmation page of "accept every confident suggestion of the week" (it counts what it would take);
- the one-action accept itself (`suggestions_accept_confident`, one statement), then its undo; accept and undo
  alternate, so every round accepts the same 100,000.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import bench_cache_prefix, bench_finish, database_recreate, database_url

MONDAY = date(2026, 3, 2)
FRIDAY = MONDAY + timedelta(days=4)


def _fill(cursor: object, employees: int) -> None:
    statements = [
        (
            "INSERT INTO timesheets_project (id, code, name, jira_project_key, active, client, billable,"
            " cost_centre, created_at, updated_at)"
            " SELECT gen_random_uuid(), 'P' || n, 'Project ' || n, '', true, '', true, '', now(), now()"
            " FROM generate_series(1, 60) n",
            {},
        ),
        (
            "INSERT INTO timesheets_employee (id, name, email, jira_account_id, active, weekly_hours, email_index,"
            " created_at, updated_at)"
            " SELECT gen_random_uuid(), 'Person ' || lpad(n::text, 5, '0'), 'p' || n || '@bench.test', '', true,"
            " 40, md5(n::text), now(), now() FROM generate_series(1, %(employees)s) n",
            {"employees": employees},
        ),
        (
            "INSERT INTO timesheets_attendancerecord (id, employee_id, date, check_in, check_out, break_minutes,"
            " worked_hours, created_at, updated_at)"
            " SELECT gen_random_uuid(), e.id, d::date, d + interval '8 hours', d + interval '16 hours 30 minutes',"
            " 30, 8, now(), now()"
            " FROM timesheets_employee e, generate_series(%(start)s::date, %(end)s::date, interval '1 day') d",
            {"start": MONDAY, "end": FRIDAY},
        ),
        (
            "INSERT INTO timesheets_projectallocationsuggestion (id, employee_id, project_id, date, hours, confidence,"
            " source, explanation, status, expiry_date, created_at)"
            " SELECT gen_random_uuid(), a.employee_id, p.id, a.date, s.hours, s.confidence, 'rules',"
            " 'weekday pattern', 'pending', current_date + 60, now()"
            " FROM timesheets_attendancerecord a"
            " JOIN LATERAL (SELECT id, row_number() OVER (ORDER BY hashtext(a.employee_id::text || code)) AS k"
            "   FROM timesheets_project ORDER BY k LIMIT 3) p ON true"
            " JOIN (VALUES (1, 4.00, 0.950), (2, 3.00, 0.950), (3, 1.00, 0.400)) s(k, hours, confidence)"
            "   ON s.k = p.k",
            {},
        ),
    ]
    for sql, params in statements:
        cursor.execute(sql, params)  # type: ignore[attr-defined]
    cursor.execute("ANALYZE")  # type: ignore[attr-defined]


def _timed(name: str, rounds: int, run: Callable[[], object]) -> None:
    timings = []
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        timings.append(time.perf_counter() - began)
    print(f"{name:48s} best {min(timings) * 1000:7.0f} ms, median {statistics.median(timings) * 1000:7.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", default="hrms_bench_review")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (to read query plans)")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    os.environ.update(
        {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "hrms.settings", "CACHE_KEY_PREFIX": bench_cache_prefix()}
    )

    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.test import Client
    from django_tenants.utils import tenant_context

    from tenants.cache import tenant_cache_invalidate
    from tenants.migration import tenants_migrate
    from tenants.services import tenant_create
    from timesheets.models import ProjectAllocationSuggestion
    from timesheets.services import ConfidentCriteria, acceptance_batch_undo, suggestions_accept_confident

    try:
        tenants_migrate(processes=1)
        tenant = tenant_create(
            slug="bench", name="Bench", domain="bench.localhost", admin_email="a@bench.test", admin_password="x-bench-1"
        ).tenant
        with tenant_context(tenant):
            began = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                _fill(cursor, args.employees)
            suggestions = ProjectAllocationSuggestion.objects.count()
            assert suggestions == args.employees * 15, suggestions
            confident = ProjectAllocationSuggestion.objects.filter(confidence__gte=Decimal("0.9")).count()
            print(
                f"data: {args.employees} employees x 5 days, {suggestions} pending suggestions, {confident} at or"
                f" above 90 % ({time.perf_counter() - began:.1f} s to write)"
            )
            hr = User.objects.create_user("hr@bench.test", password="x-bench-1")
            hr.groups.add(Group.objects.get_or_create(name="HR")[0])
        client = Client(HTTP_HOST="bench.localhost")
        with tenant_context(tenant):
            client.force_login(hr)  # sessions live in the tenant's schema
        week = f"date_from={MONDAY}&date_to={FRIDAY}"

        def page(path: str) -> Callable[[], object]:
            def get() -> object:
                response = client.get(path)
                assert response.status_code == 200, response.status_code
                return response

            return get

        def api_miss() -> object:
            with tenant_context(tenant):
                tenant_cache_invalidate(namespace="suggestions")
            return page(f"/api/timesheet-intelligence/suggestions/pending?{week}")()

        first = page(f"/suggestions?{week}")()  # warm the tenant lookup and the templates
        assert b'class="suggestion row-' in first.content  # type: ignore[attr-defined]  # rows, not an empty list
        _timed("review page, the week, first page", args.rounds, page(f"/suggestions?{week}"))
        _timed("review page, the week, page 200", args.rounds, page(f"/suggestions?{week}&page=200"))
        _timed("pending API, the week (cache miss)", args.rounds, api_miss)
        _timed("confirm page: count of the confident bulk", args.rounds, page(f"/suggestions/accept-confident?{week}"))

        criteria = ConfidentCriteria(min_confidence=Decimal("0.9"), date_from=MONDAY, date_to=FRIDAY)
        accepts, undos = [], []
        with tenant_context(tenant):
            for _ in range(args.rounds):
                began = time.perf_counter()
                with transaction.atomic():
                    batch = suggestions_accept_confident(actor=hr, criteria=criteria)
                accepts.append(time.perf_counter() - began)
                assert batch.accepted == confident, (batch.accepted, confident)
                began = time.perf_counter()
                with transaction.atomic():
                    undone = acceptance_batch_undo(actor=hr, batch_id=batch.id)
                undos.append(time.perf_counter() - began)
                assert undone.reverted == confident
        for name, timings in ((f"accept {confident} confident in one action", accepts), ("undo it", undos)):
            print(f"{name:48s} best {min(timings) * 1000:7.0f} ms, median {statistics.median(timings) * 1000:7.0f} ms")
    finally:
        bench_finish(url, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
