"""Models for tests: a tiny real bundle, one that always fails, and installing either as the active model.

Module-level classes, so the artifacts pickle, and importable by child processes (no test fixtures here).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.utils import timezone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingRegressor

from intelligence.features import FEATURE_NAMES, F, FloatArray
from intelligence.models import ArtifactStatus, ModelArtifact
from intelligence.predictor import ModelBundle
from intelligence.registry import artifact_dump, artifact_next_version

N_FEATURES = len(FEATURE_NAMES)


class ModelBroken(RuntimeError):
    pass


class FailingRegressor:
    """Stands in for a model whose every prediction blows up (a bad artifact, a library mismatch)."""

    calls = 0

    def predict(self, X: Any) -> Any:
        FailingRegressor.calls += 1
        raise ModelBroken("the model is broken")


class CountingRegressor:
    """Answers a fixed share and counts calls, so a test can tell whether the model ran at all."""

    calls = 0

    def predict(self, X: Any) -> Any:
        CountingRegressor.calls += 1
        return np.full(len(X), 0.5)


def _features(rows: int, seed: int = 0) -> FloatArray:
    rng = np.random.default_rng(seed)
    X = rng.random((rows, N_FEATURES)).astype(np.float32)
    X[:, F["attended_hours"]] = 8.0
    return X


def tiny_bundle(*, regressor: Any = None) -> ModelBundle:
    """A real (if ignorant) bundle: HGB hours on random data, a prior classifier that always says 0.8."""
    X = _features(200)
    y = (X[:, F["logged_hours"]] > 0.5).astype(np.float64)
    classifier = DummyClassifier(strategy="prior").fit(X, np.r_[np.ones(160), np.zeros(40)])
    if regressor is None:
        regressor = HistGradientBoostingRegressor(max_iter=10).fit(X, y * 0.5)
    return ModelBundle(
        regressor=regressor,
        classifier=classifier,
        feature_names=FEATURE_NAMES,
        feature_mean=X.mean(axis=0),
        feature_scale=X.std(axis=0) + 1e-3,
        importance=np.linspace(1.0, 0.1, N_FEATURES).astype(np.float32),
    )


def failing_bundle() -> ModelBundle:
    return tiny_bundle(regressor=FailingRegressor())


def activate(bundle: ModelBundle) -> ModelArtifact:
    """Install `bundle` as the current tenant's active model (what a winning training run leaves behind)."""
    version = artifact_next_version()
    bundle.version = version
    payload, digest = artifact_dump(bundle)
    ModelArtifact.objects.filter(status=ArtifactStatus.ACTIVE).update(status=ArtifactStatus.SUPERSEDED)
    return ModelArtifact.objects.create(
        version=version,
        status=ArtifactStatus.ACTIVE,
        trained_at=timezone.now(),
        activated_at=timezone.now(),
        samples=200,
        metrics={
            "model": {"hours_mae": 0.3, "acceptance_log_loss": 0.2, "ece": 0.02, "suggested_rows": 10},
            "rules": {"hours_mae": 0.6, "acceptance_log_loss": 0.4, "ece": 0.2, "suggested_rows": 10},
            "rows": 20,
            "employee_days": 8,
        },
        artifact=payload,
        artifact_sha256=digest,
        artifact_bytes=len(payload),
    )
