"""manage.py sync_jira: run one tenant's Jira sync in this process, printing progress; non-zero exit on failure."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from audit.services import Actor
from core.errors import ApplicationError
from jira_sync.services.schedule import jira_sync_request
from jira_sync.services.sync import jira_sync_run
from jobs.models import JobStatus
from tenants.commands import command_tenant

COMMAND_ACTOR = Actor(kind="system", label="manage.py sync_jira")


class Command(BaseCommand):
    help = "Sync a tenant's Jira work logs and issue assignments now, in the foreground (see docs/jira.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = command_tenant(options["tenant"])
        with tenant_context(tenant):
            try:
                # The job row is what keeps a scheduled or API-requested sync from running at the same time.
                job = jira_sync_request(actor=COMMAND_ACTOR, trigger="command", enqueue=False)
            except ApplicationError as exc:
                raise CommandError(f"{exc.message} {exc.fields or ''}".strip()) from exc

            def progress(done: int, total: int, phase: str) -> None:
                self.stdout.write(f"  {phase}: page {done} (about {total} in all)")

            self.stdout.write(f"Syncing Jira for {tenant.slug} (job {job.id})")
            try:
                finished = jira_sync_run(job_id=job.id, on_progress=progress)
            except Exception as exc:
                raise CommandError(f"Jira sync failed: {type(exc).__name__}: {exc}") from exc
        if finished is None:
            raise CommandError("Jira sync failed: the job could not be claimed.")
        for key, value in finished.result.items():
            self.stdout.write(f"  {key}: {value}")
        if finished.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Jira sync failed: {finished.error}")
        self.stdout.write(self.style.SUCCESS(f"Job {finished.id} succeeded."))
