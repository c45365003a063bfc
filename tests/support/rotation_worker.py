"""A real Celery worker for the key-rotation tests: the product's app plus one task that reads and writes PII.

`python -m tests.support.rotation_worker` runs the product's Celery app (solo pool, the `celery` queue) with
`tests.employees_touch` registered. Each run of the task decrypts every employee's national id, bank
account and salary, changes the salary of one employee, creates one employee, and reports to a Redis list
what it did (or the error it met), so that the test can tell what the worker saw during a rotation.
"""

from __future__ import annotations

import json
import os
import time
import traceback
import uuid
from decimal import Decimal

import django

EMPLOYEES_TOUCH = "tests.employees_touch"


def _register() -> None:
    from django_redis import get_redis_connection

    from hrms.celery import app
    from timesheets.models import Employee
    from timesheets.services import employee_create, employee_update

    @app.task(name=EMPLOYEES_TOUCH)  # type: ignore[untyped-decorator]
    def employees_touch_task(report_key: str, update_id: str, salary: str) -> None:
        report: dict[str, object] = {"started": time.time()}
        try:
            read = 0
            for employee in Employee.objects.order_by("id"):
                assert employee.national_id is not None
                assert employee.bank_account is not None
                assert employee.salary is not None
                read += 1
            employee_update(actor=None, employee=Employee.objects.get(id=update_id), data={"salary": Decimal(salary)})
            marker = uuid.uuid4().hex[:10]
            created = employee_create(
                actor=None,
                name=f"Worker {marker}",
                email=f"worker-{marker}@rotor.test",
                national_id=f"NI-W-{marker}",
                bank_account=f"DE{marker}",
                salary=Decimal("4000.00"),
            )
            report.update(
                ok=True, read=read, created=str(created.id), email=created.email, updated=update_id, salary=salary
            )
        except Exception as exc:  # reported to the test, which fails on it
            report.update(ok=False, error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc()[-2000:])
        report["ended"] = time.time()
        get_redis_connection("default").rpush(report_key, json.dumps(report))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings_test")
    django.setup()
    from hrms.celery import app

    _register()
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--queues=celery",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=rotation-{os.getpid()}@%h",
        ]
    )


if __name__ == "__main__":
    main()
