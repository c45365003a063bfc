"""manage.py train_model: train a tenant's model in this process (progress bar) and say whether it went live."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context
from tqdm import tqdm

from audit.services import Actor
from core.errors import ApplicationError
from intelligence.management.commands.evaluate_model import comparison_lines
from intelligence.models import ArtifactStatus, ModelArtifact
from intelligence.services import model_train
from tenants.commands import command_tenant


class Command(BaseCommand):
    help = "Train the tenant's model from its confirmed outcomes; it becomes active only if it beats the rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument(
            "--if-untrained", action="store_true", help="do nothing when the tenant already has a training run"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = command_tenant(options["tenant"])
        bar = tqdm(total=0, unit="employee", desc="features", disable=not sys.stdout.isatty(), file=sys.stdout)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
            if bar.disable:
                self.stdout.write(f"  features: {done}/{total} employees")

        with tenant_context(tenant):
            if options["if_untrained"] and ModelArtifact.objects.exists():
                bar.close()
                self.stdout.write("The tenant already has a training run: nothing to do.")
                return
            try:
                artifact = model_train(actor=Actor(kind="system", label="manage.py train_model"), on_progress=progress)
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            finally:
                bar.close()
        self.stdout.write(
            f"Model v{artifact.version}: {artifact.status} — {artifact.reason}\n"
            f"  samples {artifact.samples}, holdout {artifact.holdout_samples}, "
            f"{artifact.training_seconds:.1f} s"
        )
        for line in comparison_lines(artifact.metrics):
            self.stdout.write(line)
        style = self.style.SUCCESS if artifact.status == ArtifactStatus.ACTIVE else self.style.WARNING
        self.stdout.write(style("active" if artifact.status == ArtifactStatus.ACTIVE else "rules engine stays active"))
