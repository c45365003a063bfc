"""Load scenarios, headless Locust against the product under gunicorn on 127.0.0.1.

    .venv/bin/python loadtests/run_scenarios.py                   # 100 tenants, 1,000 readers, 60 s
    .venv/bin/python loadtests/run_scenarios.py --tenants 20 --readers 200 --seconds 20

1. Concurrent generation: 10 requests at once for each of the tenants. Exactly one generation job per
   tenant may exist; every other request gets 409 naming it.
2. 1,000 concurrent users reading pending suggestions: error rate 0, P95 reported.
3. Connection budget: `pg_stat_activity` for the benchmark database is sampled during scenario 2 and must
   stay under the web tier's budget (gunicorn workers x pool size, DATABASE_POOL_MAX).

Runs in a database of its own (hrms_bench_load, dropped afterwards unless --keep) with a Redis database of
its own for the broker (no worker consumes: queued generation jobs are what scenario 1 counts).
Exits non-zero when a scenario's promise is broken.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import (
    ROOT,
    bench_finish,
    database_recreate,
    database_url,
    free_port,
    gunicorn_start,
    manage,
    process_stop,
    product_env,
    wait_for_http,
)

BROKER_URL = "redis://127.0.0.1:6379/2"
SEEDED_TENANTS = 5  # tenants that get employees and a week of pending suggestions to read


@dataclass(frozen=True)
class LocustSummary:
    rows: dict[str, dict[str, str]]

    def count(self, name: str) -> int:
        row = self.rows.get(name)
        return int(row["Request Count"]) if row else 0

    def failures(self, name: str) -> int:
        row = self.rows.get(name)
        return int(row["Failure Count"]) if row else 0


def _locust(user_class: str, *, host: str, users: int, rate: int, seconds: int, env: dict[str, str]) -> LocustSummary:
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "run"
        subprocess.run(
            [
                str(ROOT / ".venv/bin/locust"),
                "-f",
                str(ROOT / "loadtests/locustfile.py"),
                user_class,
                "--headless",
                "--host",
                host,
                "-u",
                str(users),
                "-r",
                str(rate),
                "-t",
                f"{seconds}s",
                "--stop-timeout",
                "10",
                "--only-summary",
                "--csv",
                str(prefix),
                "--loglevel",
                "WARNING",
            ],
            env=env,
            check=False,
            capture_output=True,
        )
        with open(f"{prefix}_stats.csv", newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return LocustSummary(rows)


@contextmanager
def _connection_sampler(url: str, database: str) -> Iterator[list[int]]:
    """Count the benchmark database's server connections every 0.25 s while the block runs."""
    import psycopg

    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    [database],
                ).fetchone()
                samples.append(int(row[0]) if row else 0)
                stop.wait(0.25)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join(timeout=5)


def _provision(count: int, *, reader_rate_per_minute: int) -> list[tuple[str, str]]:
    """Tenants bench000.. with an admin token each; their ML rate limit raised for the read scenario."""
    from django_tenants.utils import tenant_context
    from rest_framework.authtoken.models import Token

    from tenants.models import Tenant
    from tenants.services import tenant_create

    pairs: list[tuple[str, str]] = []
    for index in range(count):
        slug = f"bench{index:03d}"
        tenant_create(slug=slug, name=f"Bench {index}", domain=f"{slug}.localhost", admin_email=f"admin@{slug}.test")
        tenant = Tenant.objects.get(slug=slug)
        tenant.ml_rate_limit_per_minute = reader_rate_per_minute
        tenant.save(update_fields=["ml_rate_limit_per_minute"])
        with tenant_context(tenant):
            from django.contrib.auth.models import User

            token, _ = Token.objects.get_or_create(user=User.objects.get(email=f"admin@{slug}.test"))
        pairs.append((slug, token.key))
        if (index + 1) % 20 == 0:
            print(f"    {index + 1} tenants provisioned")
    return pairs


def _generation_jobs_per_tenant(slugs: list[str]) -> dict[str, int]:
    """Active (queued or running) generation jobs of each tenant: no worker runs, so the scenario's stay queued."""
    from django_tenants.utils import tenant_context

    from jobs.models import BackgroundJob
    from tenants.models import Tenant

    counts: dict[str, int] = {}
    for tenant in Tenant.objects.filter(slug__in=slugs):
        with tenant_context(tenant):
            active = BackgroundJob.objects.filter(job_type="timesheet_generation", status__in=["queued", "running"])
            counts[tenant.slug] = active.count()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--requests-per-tenant", type=int, default=10)
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60, help="duration of the read scenario")
    parser.add_argument("--database", default="hrms_bench_load")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    env = {**product_env(url), "CELERY_BROKER_URL": BROKER_URL}
    os.environ.update(env)
    import django
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    server = None
    broken: list[str] = []
    try:
        manage("migrate_tenants", env=env, echo=False)
        django.setup()
        from django.conf import settings
        from django.db import connections

        started = time.perf_counter()
        # Readers make about one request every 2 s each; the limit must not be what the read scenario measures.
        pairs = _provision(args.tenants, reader_rate_per_minute=100_000)
        print(f"provisioned {args.tenants} tenants in {time.perf_counter() - started:.0f} s")
        end = date.today() - timedelta(days=1)
        week = [f"--start={end - timedelta(days=6)}", f"--end={end}"]
        for slug, _ in pairs[:SEEDED_TENANTS]:
            seed = ["--employees=40", "--days=30", f"--end-date={end}"]
            manage("seed_demo", f"--tenant={slug}", *seed, env=env, echo=False)
            manage("generate_timesheets", f"--tenant={slug}", *week, env=env, echo=False)
        connections.close_all()

        port = free_port()
        server = gunicorn_start("hrms.wsgi:application", port, env, Path(tempfile.mkdtemp()) / "gunicorn.log")
        host = f"http://127.0.0.1:{port}"
        wait_for_http(f"{host}/healthz")
        locust_env = {
            **env,
            "BENCH_TENANTS": json.dumps(pairs),
            "BENCH_USERS_PER_TENANT": str(args.requests_per_tenant),
        }

        # 1. Concurrent generation.
        users = args.tenants * args.requests_per_tenant
        summary = _locust("GenerateOnceUser", host=host, users=users, rate=users, seconds=20, env=locust_env)
        jobs = _generation_jobs_per_tenant([slug for slug, _ in pairs])
        wrong = {slug: count for slug, count in jobs.items() if count != 1}
        print(
            f"\n1. concurrent generation: {summary.count('generate')} requests, "
            f"{summary.count('202')} x 202, {summary.count('409')} x 409, "
            f"{summary.failures('generate')} other; tenants with exactly one job: {len(jobs) - len(wrong)}/{len(jobs)}"
        )
        if wrong or summary.count("202") != args.tenants or summary.failures("generate"):
            broken.append(f"scenario 1: jobs per tenant {wrong or 'ok'}, 202s {summary.count('202')}")

        # 2 and 3. Readers, with the connection sampler running.
        with _connection_sampler(url, args.database) as samples:
            summary = _locust(
                "SuggestionReader", host=host, users=args.readers, rate=100, seconds=args.seconds, env=locust_env
            )
        row = summary.rows["suggestions/pending"]
        requests, failures = int(row["Request Count"]), int(row["Failure Count"])
        print(
            f"2. {args.readers} readers for {args.seconds} s: {requests} requests, {row['Requests/s'][:7]} req/s, "
            f"error rate {failures / max(requests, 1):.4f}, p50 {row['50%']} ms, p95 {row['95%']} ms, "
            f"p99 {row['99%']} ms"
        )
        if failures or not requests:
            broken.append(f"scenario 2: {failures} failed requests of {requests}")
        workers = int(os.environ.get("WEB_CONCURRENCY", "4"))  # hrms/gunicorn.conf.py default
        budget = workers * int(settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"])
        peak = max(samples, default=0)
        print(f"3. connections to the database during the reads: peak {peak}, budget {budget} ({len(samples)} samples)")
        if peak > budget:
            broken.append(f"scenario 3: {peak} connections > budget {budget}")
    finally:
        if server is not None:
            process_stop(server)
        redis.Redis.from_url(BROKER_URL).flushdb()
        bench_finish(url, keep=args.keep)
    for problem in broken:
        print(f"BROKEN: {problem}")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
