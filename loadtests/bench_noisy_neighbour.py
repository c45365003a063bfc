"""Benchmark: one tenant floods the ML endpoints while another works normally, same server, same run.

    .venv/bin/python loadtests/bench_noisy_neighbour.py                    # 15 s per phase
    .venv/bin/python loadtests/bench_noisy_neighbour.py --seconds 8

Two tenants in a database of their own (hrms_bench_noisy, dropped afterwards): `quiet` reads its pending
suggestions with a few connections, first alone (the baseline), then while `noisy` floods the same
endpoint with many more. The noisy tenant keeps its default ML budget (100 requests a minute), so past it
every request gets 429. Promise: the quiet tenant's P95 with the neighbour flooding stays within 1.5 x its
baseline from the same run. Exits non-zero when it does not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import (
    BENCH_PASSWORD,
    bench_finish,
    bench_tenant_create,
    database_recreate,
    database_url,
    free_port,
    gunicorn_start,
    manage,
    process_stop,
    product_env,
    tenant_ml_limit_lift,
    wait_for_http,
)
from loadtests.drivers import Load, LoadResult, load_driver

PENDING = "/api/timesheet-intelligence/suggestions/pending"


def _tenant(slug: str, env: dict[str, str]) -> None:
    end = date.today() - timedelta(days=1)
    bench_tenant_create(slug, env=env)
    manage("seed_demo", f"--tenant={slug}", "--employees=60", "--days=30", f"--end-date={end}", env=env, echo=False)
    week = [f"--start={end - timedelta(days=6)}", f"--end={end}"]
    manage("generate_timesheets", f"--tenant={slug}", *week, env=env, echo=False)


def _headers(base: str, slug: str) -> dict[str, str]:
    import httpx

    headers = {"X-Tenant": slug, "X-Forwarded-Proto": "https", "Content-Type": "application/json"}
    response = httpx.post(
        f"{base}/api/auth/token",
        json={"username": f"admin@{slug}.test", "password": BENCH_PASSWORD},
        headers=headers,
        timeout=30,
    )
    response.raise_for_status()
    return {**headers, "Authorization": f"Token {response.json()['token']}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15, help="duration of each phase")
    parser.add_argument("--quiet-connections", type=int, default=4)
    parser.add_argument(
        "--quiet-pause-ms", type=int, default=0, help="think time of each quiet connection (0: as fast as answered)"
    )
    parser.add_argument("--noisy-connections", type=int, default=16)
    parser.add_argument("--database", default="hrms_bench_noisy")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    env = product_env(url)
    drive = load_driver()
    server = None
    try:
        manage("migrate_tenants", env=env, echo=False)
        for slug in ("quiet", "noisy"):
            _tenant(slug, env)
        tenant_ml_limit_lift(url, "quiet")  # the quiet tenant's own budget is not what is measured
        port = free_port()
        server = gunicorn_start("hrms.wsgi:application", port, env, Path(tempfile.mkdtemp()) / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz")
        quiet = Load("quiet tenant", f"{base}{PENDING}", _headers(base, "quiet"), pause_ms=args.quiet_pause_ms)
        noisy = Load("noisy tenant", f"{base}{PENDING}", _headers(base, "noisy"))

        drive(quiet, seconds=2, connections=args.quiet_connections)  # warm-up
        baseline = drive(quiet, seconds=args.seconds, connections=args.quiet_connections)

        flood: dict[str, LoadResult] = {}

        def flood_noisy() -> None:
            flood["noisy"] = drive(noisy, seconds=args.seconds + 2, connections=args.noisy_connections)

        flooder = threading.Thread(target=flood_noisy)
        flooder.start()
        under_flood = drive(quiet, seconds=args.seconds, connections=args.quiet_connections)
        flooder.join()

        import httpx

        after = httpx.get(noisy.url, headers=noisy.headers, timeout=10)
        noisy_result = flood["noisy"]
        ratio = under_flood.p95_ms / baseline.p95_ms if baseline.p95_ms else float("inf")
        print(f"driver: {drive.__name__.removeprefix('drive_')}, {args.seconds} s per phase")
        alone = f"{baseline.rps:8.1f} req/s  p50 {baseline.p50_ms:6.2f} ms  p95 {baseline.p95_ms:6.2f} ms"
        print(f"quiet alone:        {alone}")
        print(
            f"quiet, noisy flood: {under_flood.rps:8.1f} req/s  p50 {under_flood.p50_ms:6.2f} ms  "
            f"p95 {under_flood.p95_ms:6.2f} ms  ({ratio:.2f} x baseline, promise <= 1.5)"
        )
        print(
            f"noisy flood:        {noisy_result.rps:8.1f} req/s, {noisy_result.failures} of {noisy_result.requests} "
            f"refused; a request after it: {after.status_code}, Retry-After {after.headers.get('Retry-After')}"
        )
        broken = []
        if baseline.failures or under_flood.failures:
            broken.append(f"the quiet tenant had {baseline.failures + under_flood.failures} failed requests")
        if after.status_code != 429 or noisy_result.failures == 0:
            broken.append("the noisy tenant was not limited")
        if ratio > 1.5:
            broken.append(f"the quiet tenant's P95 grew {ratio:.2f} x")
        for problem in broken:
            print(f"BROKEN: {problem}")
        return 1 if broken else 0
    finally:
        if server is not None:
            process_stop(server)
        bench_finish(url)


if __name__ == "__main__":
    raise SystemExit(main())
