"""Benchmark: audit overhead per mutating transaction, and chain verification throughput.

    .venv/bin/python loadtests/bench_audit.py [--writes 2000] [--events 100000]

Runs in a database of its own (hrms_bench_audit, dropped afterwards). The write measured is a small
UPDATE in its own transaction — the shape of a mutating API request's database work — timed without and
with `audit_append` in the same transaction. Verification walks the whole chain recomputing every hash.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import bench_cache_prefix, bench_finish, database_recreate, database_url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database", default="hrms_bench_audit")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    os.environ.update(
        {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "hrms.settings", "CACHE_KEY_PREFIX": bench_cache_prefix()}
    )

    import django

    django.setup()
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from audit.services import audit_append, audit_verify
    from tenants.migration import tenants_migrate
    from tenants.services import tenant_create
    from timesheets.models import Project

    try:
        tenants_migrate(processes=1)
        tenant = tenant_create(
            slug="bench", name="Bench", domain="bench.localhost", admin_email="a@bench.test", admin_password="x-bench-1"
        ).tenant
        with tenant_context(tenant):
            project = Project.objects.create(code="BENCH", name="Bench")

            def write(audited: bool) -> float:
                began = time.perf_counter()
                with transaction.atomic():
                    Project.objects.filter(id=project.id).update(name=f"Bench {began}")
                    if audited:
                        audit_append(actor=None, action="project.update", object_type="project", object_id=project.id)
                return (time.perf_counter() - began) * 1000

            for warm_up in (False, True):
                write(warm_up)
            plain: list[float] = []
            audited: list[float] = []
            for _ in range(args.writes):
                plain.append(write(False))
                audited.append(write(True))
            remaining = args.events - (args.writes + 1)
            began = time.perf_counter()
            while remaining > 0:
                batch = min(1000, remaining)
                with transaction.atomic():
                    for n in range(batch):
                        audit_append(actor=None, action="bench.fill", object_type="bench", object_id=n, data={"n": n})
                remaining -= batch
            fill_seconds = time.perf_counter() - began
            began = time.perf_counter()
            result = audit_verify()
            verify_seconds = time.perf_counter() - began
        p50_plain, p50_audited = statistics.median(plain), statistics.median(audited)
        print(f"mutating transactions:     {args.writes} without and {args.writes} with audit, interleaved")
        print(f"without audit:             p50 {p50_plain:.2f} ms, mean {statistics.fmean(plain):.2f} ms")
        print(f"with audit:                p50 {p50_audited:.2f} ms, mean {statistics.fmean(audited):.2f} ms")
        print(f"audit overhead:            p50 {p50_audited - p50_plain:.2f} ms per mutating transaction")
        print(f"appends in bulk:           {args.events - args.writes - 1} in {fill_seconds:.1f} s")
        print(
            f"verify:                    {result.events} events in {verify_seconds:.1f} s = "
            f"{result.events / verify_seconds:,.0f} events/s (intact: {result.ok})"
        )
    finally:
        bench_finish(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
