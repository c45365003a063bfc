"""Benchmark: one month of generation for N employees, against a raw COPY of the same rows in the same run.

    .venv/bin/python loadtests/bench_generation.py                      # 10,000 employees, 30 days
    .venv/bin/python loadtests/bench_generation.py --employees 2000     # a quicker look
    .venv/bin/python loadtests/bench_generation.py --keep; .venv/bin/python loadtests/bench_generation.py --reuse

Seeds one tenant in a database of its own (hrms_bench_gen, dropped afterwards unless --keep) with
`seed_demo`, clears every allocation and suggestion of the benchmark month so the job has the whole month
to do, runs the generation job in a separate process (`manage.py generate_timesheets`) and reads its peak
RSS, then times `COPY` of the same number of suggestion rows into the same table, committed as the job's
rows are (its deferred foreign-key checks run at commit), and deletes them again.
Targets: job time <= 2x COPY time; peak worker RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import (
    bench_env,
    bench_finish,
    bench_tenant_create,
    database_recreate,
    database_url,
    manage,
)

COPIED_AT = "2000-01-01 00:00:00+00"  # marks the rows of the raw COPY, deleted after it


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database", default="hrms_bench_gen")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure on the database a --keep run left (no seed)")
    args = parser.parse_args()

    url = database_url(args.database)
    env = bench_env(url)
    os.environ.update(env)
    end = date.today() - timedelta(days=1)
    start = end - timedelta(days=args.days - 1)
    seed_seconds = 0.0
    if not args.reuse:
        database_recreate(url)
    try:
        if not args.reuse:
            manage("migrate_tenants", env=env)
            bench_tenant_create("bench", env=env)
            seed_seconds, _ = manage(
                "seed_demo",
                "--tenant=bench",
                f"--employees={args.employees}",
                f"--days={args.days + 56}",
                f"--end-date={end.isoformat()}",
                env=env,
            )

        import django

        django.setup()
        from django.db import connection, transaction
        from django_tenants.utils import tenant_context

        from jobs.models import BackgroundJob
        from tenants.models import Tenant
        from timesheets.models import ProjectAllocationSuggestion, TimesheetProjectAllocation

        tenant = Tenant.objects.get(slug="bench")
        with tenant_context(tenant):
            TimesheetProjectAllocation.objects.filter(date__gte=start).delete()
            ProjectAllocationSuggestion.objects.filter(date__gte=start).delete()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        connection.close()

        wall, peak_mb = manage("generate_timesheets", "--tenant=bench", f"--start={start}", f"--end={end}", env=env)
        with tenant_context(tenant):
            job = BackgroundJob.objects.order_by("-created_at").first()
            assert job is not None
            assert job.started_at is not None
            assert job.finished_at is not None
            job_seconds = (job.finished_at - job.started_at).total_seconds()
            rows = int(job.result["suggestions_created"])
            sample = list(
                ProjectAllocationSuggestion.objects.filter(date__gte=start).values_list(
                    "employee_id", "project_id", "date", "hours", "confidence", "explanation"
                )[:rows]
            )
            buffer = io.StringIO()
            for employee_id, project_id, day, hours, confidence, explanation in sample:
                buffer.write(
                    f"{uuid.uuid4()}\t{employee_id}\t{project_id}\t{day}\t{hours}\t{confidence}\trules\t"
                    f"{explanation}\taccepted\t{day}\t\\N\t\\N\t\\N\t{COPIED_AT}\n"
                )
            payload = buffer.getvalue()
            began = time.perf_counter()
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.cursor.copy(
                    f"COPY {ProjectAllocationSuggestion._meta.db_table} (id, employee_id, project_id, date, hours, "
                    "confidence, source, explanation, status, expiry_date, accepted_hours, decided_at, job_id, "
                    "created_at) FROM STDIN"
                ) as copy,
            ):
                copy.write(payload)
            copy_seconds = time.perf_counter() - began
            with connection.cursor() as cursor:  # the copied rows, marked by their creation time
                cursor.execute(
                    f"DELETE FROM {ProjectAllocationSuggestion._meta.db_table} WHERE date >= %s AND created_at = %s",
                    [start, COPIED_AT],
                )
        print(f"employees:              {args.employees}")
        print(f"period:                 {start} .. {end} ({args.days} days)")
        print(f"seed_demo:              {seed_seconds:.1f} s")
        print(f"employee-days:          {job.result['employee_days']}")
        print(f"suggestion rows:        {rows}")
        print(f"generation job:         {job_seconds:.1f} s  (process wall {wall:.1f} s)")
        print(f"raw COPY of same rows:  {copy_seconds:.1f} s")
        print(f"ratio job / COPY:       {job_seconds / copy_seconds:.2f}  (target <= 2)")
        print(f"worker peak RSS:        {peak_mb} MB  (target <= 300)")
    finally:
        bench_finish(url, keep=args.keep or args.reuse)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
