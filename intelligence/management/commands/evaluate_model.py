"""manage.py evaluate_model: the active model against the rules engine on the latest two weeks, side by side."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from intelligence.predictor import ModelBundle
from intelligence.registry import ArtifactUnavailable, active_ref, model_load
from intelligence.training import dataset_build, holdout_score, training_window
from tenants.commands import command_tenant

_ROWS = (("hours MAE", "hours_mae"), ("acceptance log-loss", "acceptance_log_loss"), ("calibration error", "ece"))


def comparison_lines(metrics: dict[str, Any]) -> list[str]:
    """The holdout table: one line per metric, model beside rules."""
    if not metrics:
        return ["  (no holdout metrics)"]
    model, rules = metrics["model"], metrics["rules"]
    lines = [f"  {'holdout metric':<22}{'model':>10}{'rules':>10}"]
    for label, key in _ROWS:
        lines.append(f"  {label:<22}{model[key]:>10.4f}{rules[key]:>10.4f}")
    lines.append(f"  {'rows / employee-days':<22}{metrics['rows']:>10}{metrics['employee_days']:>10}")
    if rules["hours_mae"]:
        lines.append(f"  MAE vs rules: {100 * (1 - model['hours_mae'] / rules['hours_mae']):+.1f}% lower")
    return lines


class Command(BaseCommand):
    help = "Score the tenant's active model and the rules engine on the most recent two weeks of outcomes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = command_tenant(options["tenant"])
        with tenant_context(tenant):
            ref = active_ref()
            if ref is None:
                raise CommandError("No active model: the rules engine answers. Run train_model first.")
            try:
                bundle = model_load(ref).bundle
            except ArtifactUnavailable as exc:
                raise CommandError(f"The active model v{ref.version} cannot be used: {exc.message}") from exc
            if not isinstance(bundle, ModelBundle):
                raise CommandError(f"The active model v{ref.version} is not a model bundle.")
            window = training_window()
            if window is None:
                raise CommandError("No confirmed outcomes to evaluate on.")
            metrics = holdout_score(bundle, dataset_build(window=window).holdout)
        self.stdout.write(f"Model v{ref.version} vs rules engine, holdout {window.holdout_start} .. {window.data_end}:")
        for line in comparison_lines(metrics):
            self.stdout.write(line)
