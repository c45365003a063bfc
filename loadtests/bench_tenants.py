"""Benchmark: provision N tenants by cloning the base schema, then time a no-op migrate over all of them.

    .venv/bin/python loadtests/bench_tenants.py --tenants 100      # default
    .venv/bin/python loadtests/bench_tenants.py --tenants 1000

Runs in a database of its own (hrms_bench by default) that it drops afterwards unless --keep.
Targets (DESIGN.md §10): 1,000 tenants in <= 10 min; no-op migrate over 1,000 tenants <= 2 min.
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
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--database", default="hrms_bench")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings")
    os.environ.setdefault("CACHE_KEY_PREFIX", bench_cache_prefix())

    import django

    django.setup()

    from tenants.migration import tenants_migrate
    from tenants.services import tenant_create

    try:
        started = time.perf_counter()
        tenants_migrate(processes=args.processes)
        setup_seconds = time.perf_counter() - started

        timings: list[float] = []
        started = time.perf_counter()
        for index in range(args.tenants):
            slug = f"bench{index:05d}"
            begin = time.perf_counter()
            tenant_create(
                slug=slug,
                name=f"Bench {index}",
                domain=f"{slug}.bench.localhost",
                admin_email=f"admin@{slug}.test",
                admin_password="bench-password-1",
            )
            timings.append((time.perf_counter() - begin) * 1000)
            if (index + 1) % max(1, args.tenants // 10) == 0:
                print(f"  provisioned {index + 1}/{args.tenants}", flush=True)
        provision_seconds = time.perf_counter() - started

        started = time.perf_counter()
        report = tenants_migrate(processes=args.processes)
        migrate_seconds = time.perf_counter() - started
        timings.sort()
        print(f"setup (public + base schema migrate): {setup_seconds:.1f} s")
        print(f"tenants provisioned:                  {args.tenants}")
        print(f"provisioning total:                   {provision_seconds:.1f} s")
        print(
            f"ms per tenant:                        mean {statistics.fmean(timings):.0f}  "
            f"p50 {timings[len(timings) // 2]:.0f}  p95 {timings[int(len(timings) * 0.95) - 1]:.0f}  "
            f"max {timings[-1]:.0f}"
        )
        print(f"projected for 1,000 tenants:          {statistics.fmean(timings) * 1000 / 1000 / 60:.1f} min")
        print(
            f"no-op migrate over all tenants:       {migrate_seconds:.1f} s "
            f"({len(report.migrated)} migrated, {report.skipped} at head)"
        )
    finally:
        bench_finish(url, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
