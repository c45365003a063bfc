"""Reads of the intelligence app: the model status as the API, the UI and evaluate_model show it; training runs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.utils.formats import number_format

from intelligence.models import ModelArtifact
from intelligence.predictor import breaker_state
from intelligence.registry import active_health
from timesheets.models import ProjectAllocationSuggestion, SuggestionStatus, TimesheetProjectAllocation

_SUMMARY_FIELDS = (
    "version", "status", "reason", "trained_at", "activated_at", "samples", "holdout_samples", "employee_days",
    "data_start", "holdout_start", "data_end", "metrics", "training_seconds", "artifact_bytes",
)  # fmt: skip


def _summary(artifact: ModelArtifact | None) -> dict[str, Any] | None:
    if artifact is None:
        return None
    return {name: getattr(artifact, name) for name in _SUMMARY_FIELDS}


def model_status() -> dict[str, Any]:
    """Which engine answers now and why: the active model, its artifact's health, the latest run, the breaker."""
    ref, health = active_health()
    active = ModelArtifact.objects.defer("artifact").filter(id=ref.id).first() if ref is not None else None
    latest = ModelArtifact.objects.defer("artifact").order_by("-version").first()
    breaker = breaker_state()
    usable = active is not None and health.state == "ok" and breaker.state != "open"
    if active is None:
        if latest is None:
            why = "No model has been trained yet."
        else:  # the latest run's verdict: the winner on the holdout and by how much
            why = latest.reason or "No model beat the rules engine yet."
    elif health.state != "ok":
        why = f"The active model's artifact is {health.state}: {health.error}"
    elif breaker.state == "open":
        why = "The model's circuit breaker is open after repeated failures."
    else:
        why = f"Model v{active.version} is active."
    return {
        "source": "ml" if usable else "rules",
        "reason": why,
        "active": _summary(active),
        "artifact": {"state": health.state, "error": health.error},
        "latest": _summary(latest),
        "breaker": asdict(breaker),
    }


# Training runs drawn in the chart (the newest ones).
CHART_RUNS = 20
# The holdout metric the chart follows: accuracy when a run records it, else the hours error (MAE, lower is
# better), which every run records. The table above the chart shows every numeric metric.
CHART_METRICS = (
    ("accuracy", "accuracy", True),
    ("top1_accuracy", "top-1 accuracy", True),
    ("hours_mae", "hours off per entry (lower is better)", False),
)


@dataclass(frozen=True)
class TrainingRun:
    artifact: ModelArtifact
    model: dict[str, float]
    rules: dict[str, float]


def _numbers(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, dict):
        return {}
    return {
        str(key): float(value)
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def model_runs_list(*, limit: int = CHART_RUNS) -> list[TrainingRun]:
    """The newest training runs with their holdout metrics, oldest first (never the artifact's bytes)."""
    rows = ModelArtifact.objects.defer("artifact", "feature_importance", "feature_names").order_by("-version")
    runs = [
        TrainingRun(
            artifact=row,
            model=_numbers((row.metrics or {}).get("model")),
            rules=_numbers((row.metrics or {}).get("rules")),
        )
        for row in rows[:limit]
    ]
    return runs[::-1]


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    value: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A line chart per training run drawn as inline SVG on the server: no script, and the table has the values."""

    width: int
    height: int
    metric: str
    title: str
    model: list[ChartPoint]
    rules: list[ChartPoint]
    gridlines: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    unit: str = "hours"

    @property
    def model_path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.model)

    @property
    def rules_path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.rules)


def holdout_chart(runs: list[TrainingRun], *, width: int = 640, height: int = 240) -> Chart | None:
    """The model's and the rules engine's holdout metric on each training run, one point per run."""
    chosen = next(
        ((name, title, percent) for name, title, percent in CHART_METRICS if any(name in r.model for r in runs)),
        None,
    )
    if chosen is None:
        return None
    metric, title, percent = chosen
    plotted = [run for run in runs if metric in run.model or metric in run.rules]
    values = [v for run in plotted for v in (run.model.get(metric), run.rules.get(metric)) if v is not None]
    top = 1.0 if percent else (max(values, default=0.0) * 1.15 or 1.0)
    left, right, upper, bottom = 52, 16, 12, 28
    plot_w, plot_h = width - left - right, height - upper - bottom
    step = plot_w / max(1, len(plotted) - 1)

    def y_of(value: float) -> float:
        return upper + plot_h * (1 - max(0.0, min(1.0, value / top)))

    model: list[ChartPoint] = []
    rules: list[ChartPoint] = []
    x_labels: list[tuple[float, str]] = []
    for index, run in enumerate(plotted):
        x = left + (step * index if len(plotted) > 1 else plot_w / 2)
        trained = run.artifact.trained_at
        label = f"v{run.artifact.version}" + (f" · {trained:%d %b}" if trained else "")
        x_labels.append((x, label))
        for series, value in ((model, run.model.get(metric)), (rules, run.rules.get(metric))):
            if value is not None:
                series.append(ChartPoint(x=x, y=y_of(value), value=value, label=label))
    ticks = [top * quarter / 4 for quarter in range(5)]
    gridlines = [(y_of(tick), f"{tick * 100:.0f}%" if percent else f"{number_format(tick, 2)} h") for tick in ticks]
    return Chart(
        width=width,
        height=height,
        metric=metric,
        title=title,
        unit="percent" if percent else "hours",
        model=model,
        rules=rules,
        gridlines=gridlines,
        x_labels=x_labels,
    )


def decisions_since_training() -> int:
    """Confirmed outcomes (allocations written or changed, suggestions rejected) since the latest training run."""
    latest = ModelArtifact.objects.order_by("-trained_at").values_list("trained_at", flat=True).first()
    allocations = TimesheetProjectAllocation.objects.all()
    rejected = ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.REJECTED)
    if latest is not None:
        allocations = allocations.filter(updated_at__gt=latest)
        rejected = rejected.filter(decided_at__gt=latest)
    return allocations.count() + rejected.count()


def training_due() -> bool:
    """Enough new decisions to learn from since the last run (`ML_RETRAIN_MIN_DECISIONS`)."""
    return decisions_since_training() >= settings.ML_RETRAIN_MIN_DECISIONS
