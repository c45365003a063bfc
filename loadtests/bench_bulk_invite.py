"""Benchmark: invite 1,000 employees in bulk, end to end, until every message is on the SMTP server.

    .venv/bin/python loadtests/bench_bulk_invite.py
    .venv/bin/python loadtests/bench_bulk_invite.py --employees 1000 --workers 2

A tenant in a database of its own (hrms_bench_invite, dropped afterwards) with `--employees` employees and no
logins. A real gunicorn (production settings) and a real Celery worker process send to a real SMTP server on
loopback (aiosmtpd, in this process). The clock runs from `POST /api/employees/invitations` until the SMTP
server has received one message per employee. Promise: 1,000 invitations delivered within 30 s.
The Celery broker is `--broker` (a Redis database of this run's own), purged before and after.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import (
    BENCH_PASSWORD,
    ROOT,
    bench_finish,
    bench_tenant_create,
    database_recreate,
    database_url,
    free_port,
    gunicorn_start,
    manage,
    process_stop,
    product_env,
    wait_for_http,
)
from tests.support.smtp import SmtpServer

SLUG = "bulk"
_EMPLOYEES = """
from django_tenants.utils import tenant_context
from tenants.models import Tenant
from tenants.crypto import blind_index
from timesheets.models import Employee
with tenant_context(Tenant.objects.get(slug="{slug}")):
    Employee.objects.bulk_create([
        Employee(name=f"Person {{n:04d}}", email=f"person{{n:04d}}@bulk.example",
                 email_index=blind_index(f"person{{n:04d}}@bulk.example", purpose="email"))
        for n in range({count})
    ], batch_size=500)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (concurrency)")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--database", default="hrms_bench_invite")
    args = parser.parse_args()

    import httpx
    import redis

    url = database_url(args.database)
    database_recreate(url)
    redis.Redis.from_url(args.broker).flushdb()
    server = worker = None
    with SmtpServer() as smtp:
        env = product_env(url)
        env.update(
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(smtp.port),
                "CELERY_BROKER_URL": args.broker,
            }
        )
        try:
            manage("migrate_tenants", env=env, echo=False)
            bench_tenant_create(SLUG, env=env)
            manage("shell", "-c", _EMPLOYEES.format(slug=SLUG, count=args.employees), env=env, echo=False)
            log_dir = Path(tempfile.mkdtemp())
            port = free_port()
            server = gunicorn_start("hrms.wsgi:application", port, env, log_dir / "gunicorn.log")
            worker = subprocess.Popen(
                [
                    ROOT / ".venv/bin/celery",
                    "-A",
                    "hrms",
                    "worker",
                    "-Q",
                    "celery",
                    "-c",
                    str(args.workers),
                    "-l",
                    "WARNING",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(log_dir / "worker.log").open("wb"),
                start_new_session=True,
            )
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/healthz")
            headers = {"X-Tenant": SLUG, "X-Forwarded-Proto": "https"}
            token = httpx.post(
                f"{base}/api/auth/token",
                json={"username": f"admin@{SLUG}.test", "password": BENCH_PASSWORD},
                headers=headers,
                timeout=60,
            ).json()["token"]
            headers["Authorization"] = f"Token {token}"
            time.sleep(3)  # the worker process starts up (Django, Celery) before the clock starts

            started = time.monotonic()
            response = httpx.post(f"{base}/api/employees/invitations", json={}, headers=headers, timeout=120)
            answered = time.monotonic() - started
            response.raise_for_status()
            invited = response.json()["invited"]
            delivered = smtp.wait_for(invited, timeout=120)
            elapsed = time.monotonic() - started
            sent = httpx.get(f"{base}/api/emails?status=sent&page_size=1", headers=headers, timeout=60).json()["count"]
            failed = httpx.get(f"{base}/api/emails?status=failed&page_size=1", headers=headers, timeout=60).json()[
                "count"
            ]
            links = sum(1 for message in delivered if any("/invitations/" in link for link in message.links()))
            print(f"invited {invited} employees: the request answered in {answered:.2f} s")
            print(
                f"{len(delivered)} messages on the SMTP server (each with its link: {links}) after {elapsed:.2f} s "
                f"(promise <= 30 s), {args.workers} worker processes; recorded sent {sent}, failed {failed}"
            )
            broken = []
            if invited != args.employees or len(delivered) < invited or links < invited:
                broken.append(f"{len(delivered)} of {args.employees} delivered")
            if elapsed > 30:
                broken.append(f"{elapsed:.1f} s")
            for problem in broken:
                print(f"BROKEN: {problem}")
            return 1 if broken else 0
        finally:
            for process in (server, worker):
                if process is not None:
                    process_stop(process)
            redis.Redis.from_url(args.broker).flushdb()
            bench_finish(url)


if __name__ == "__main__":
    raise SystemExit(main())
