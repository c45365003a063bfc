"""manage.py generate_timesheets: run a generation for one tenant in this process, with a progress bar."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context
from tqdm import tqdm

from core.errors import ApplicationError
from intelligence.generation import JOB_TYPE, timesheets_generate
from intelligence.services import validate_period
from jobs.models import JobStatus
from jobs.services import job_create
from tenants.commands import command_tenant


class Command(BaseCommand):
    help = "Generate suggestions (and optionally auto-accept) for a tenant and a period, in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--start", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--end", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--auto-accept", action="store_true", help="auto-accept at or above the tenant threshold")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = command_tenant(options["tenant"])
        with tenant_context(tenant):
            try:
                validate_period(start=options["start"], end=options["end"], employee_ids=None)
                job = job_create(
                    job_type=JOB_TYPE,
                    parameters={
                        "start_date": options["start"].isoformat(),
                        "end_date": options["end"].isoformat(),
                        "generate_suggestions": True,
                        "auto_accept_high_confidence": options["auto_accept"],
                    },
                )
            except ApplicationError as exc:
                raise CommandError(f"{exc.message} {exc.fields or ''}".strip()) from exc
            bar = tqdm(total=0, unit="employee", disable=not sys.stdout.isatty(), file=sys.stdout)

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)
                if bar.disable:
                    self.stdout.write(f"  {done}/{total} employees")

            finished = timesheets_generate(job_id=job.id, on_progress=progress)
            bar.close()
        if finished is None or finished.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Generation failed: {finished.error if finished else 'job not claimable'}")
        for key, value in finished.result.items():
            self.stdout.write(f"  {key}: {value}")
        self.stdout.write(self.style.SUCCESS(f"Job {finished.id} succeeded."))
