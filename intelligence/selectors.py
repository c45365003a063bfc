"""Reads of the intelligence app: the tenant's model status as the API, the UI and evaluate_model show it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from intelligence.models import ModelArtifact
from intelligence.predictor import breaker_state
from intelligence.registry import active_health

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
        why = "No model beat the rules engine yet." if latest is not None else "No model has been trained yet."
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
