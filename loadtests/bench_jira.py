"""Benchmark: sync 100,000 work logs from the local Jira stand-in into one tenant, then an incremental run.

    .venv/bin/python loadtests/bench_jira.py                       # 100,000 work logs
    .venv/bin/python loadtests/bench_jira.py --worklogs 20000      # a quicker look

Runs in a database of its own (hrms_bench_jira, dropped afterwards unless --keep). The stand-in runs in its
own process (as Jira would be remote) with the data set seeded; the tenant gets employees for most of the
stand-in's people (by Jira account id, some only by email, some unmapped) and the Jira projects. The sync
runs as `manage.py sync_jira` in a separate process, so the figure includes everything a worker does: HTTP
paging, parsing, author/project mapping, bulk upserts, cursor and audit writes per page.
Target (DESIGN.md §10): 100,000 work logs in <= 60 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import (
    ROOT,
    bench_env,
    bench_finish,
    bench_tenant_create,
    database_recreate,
    database_url,
    manage,
)

SLUG = "benchjira"
PROJECTS = ("ALPHA", "BETA", "GAMMA")


def _start_standin(*, worklogs: int, users: int, issues: int, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.jira_standin",
            "--port=0",
            f"--worklogs={worklogs}",
            f"--users={users}",
            f"--issues={issues}",
            f"--projects={','.join(PROJECTS)}",
            "--email-domain=bench.test",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    if " on http://" not in first:
        process.kill()
        raise SystemExit(f"the stand-in did not start: {first!r}")
    return process, first.split(" on ", 1)[1].split()[0]


def _job_seconds(job: Any) -> float:
    assert job.started_at is not None
    assert job.finished_at is not None
    return float((job.finished_at - job.started_at).total_seconds())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worklogs", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--issues", type=int, default=2_000)
    parser.add_argument("--database", default="hrms_bench_jira")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    env = bench_env(url, LOG_LEVEL="WARNING", JIRA_ALLOW_PRIVATE_HOSTS="1")  # the stand-in is on 127.0.0.1
    os.environ.update(env)
    standin: subprocess.Popen[str] | None = None
    try:
        manage("migrate_tenants", env=env, echo=False)
        bench_tenant_create(SLUG, env=env)
        began = time.perf_counter()
        standin, site_url = _start_standin(worklogs=args.worklogs, users=args.users, issues=args.issues, env=env)
        standin_seconds = time.perf_counter() - began

        import django

        django.setup()
        from django.db import connection
        from django_tenants.utils import tenant_context

        from jira_sync.models import JiraConnection, JiraWorkLog
        from jobs.models import BackgroundJob
        from tenants.crypto import blind_index
        from tenants.models import Tenant
        from tests.support.jira_standin import DEFAULT_EMAIL, DEFAULT_TOKEN
        from timesheets.models import Employee, Project

        tenant = Tenant.objects.get(slug=SLUG)
        with tenant_context(tenant):
            people = []
            for n in range(1, args.users + 1):
                email = f"person{n:05d}@bench.test"
                if n % 10 == 0:
                    continue  # unmapped: reported by the sync
                people.append(
                    Employee(
                        name=f"Person {n:05d}",
                        email=email,
                        email_index=blind_index(email, purpose="email"),
                        # Every ninth person is known only by email, through the blind index.
                        jira_account_id="" if n % 9 == 0 else f"acct-{n:05d}",
                    )
                )
            Employee.objects.bulk_create(people, batch_size=1000)
            Project.objects.bulk_create(Project(code=key, name=key.title(), jira_project_key=key) for key in PROJECTS)
            JiraConnection.objects.create(site_url=site_url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN)
        connection.close()

        wall, peak_mb = manage("sync_jira", f"--tenant={SLUG}", env=env)
        with tenant_context(tenant):
            job = BackgroundJob.objects.order_by("-created_at").first()
            assert job is not None
            assert job.status == "succeeded", job.error
            job_seconds = _job_seconds(job)
            stored = JiraWorkLog.objects.count()
            mapped = JiraWorkLog.objects.filter(employee__isnull=False).count()
            result = job.result
        connection.close()
        again_wall, _ = manage("sync_jira", f"--tenant={SLUG}", env=env)
        with tenant_context(tenant):
            again = BackgroundJob.objects.order_by("-created_at").first()
            assert again is not None
            again_seconds = _job_seconds(again)
            again_upserted = again.result["worklogs_upserted"]

        print(f"work logs in the stand-in:   {args.worklogs}  ({args.users} people, {args.issues} issues)")
        print(f"stand-in seeded in:          {standin_seconds:.1f} s")
        print(f"work logs stored:            {stored}  (linked to employees: {mapped})")
        print(f"pages:                       {result['pages']}")
        print(f"issues upserted:             {result['issues_upserted']} (+{result['issue_lookups']} looked up by id)")
        print(f"unmapped authors:            {result['unmapped_author_count']} ({result['worklogs_unmapped']} logs)")
        print(
            f"full sync (job):             {job_seconds:.1f} s  = {stored / job_seconds:,.0f} rows/s  (target <= 60 s)"
        )
        print(f"full sync (process wall):    {wall:.1f} s, peak RSS {peak_mb} MB")
        print(
            f"incremental, no changes:     {again_seconds:.2f} s (wall {again_wall:.1f} s), upserted {again_upserted}"
        )
        print(f"this process peak RSS:       {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
        assert stored == args.worklogs, f"expected {args.worklogs} work logs, stored {stored}"
    finally:
        if standin is not None:
            standin.terminate()
            standin.wait(timeout=10)
        bench_finish(url, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
