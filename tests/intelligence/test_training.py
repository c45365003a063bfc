"""Training on seeded data with known structure: the model must beat the rules engine and be calibrated."""

from __future__ import annotations

import io
import time
from datetime import date

from django.core.management import call_command
from django_tenants.utils import tenant_context

from intelligence.models import ArtifactStatus, ModelArtifact
from intelligence.services import model_train
from tests.conftest import TenantHandle

END = date(2026, 3, 27)


def seed(handle: TenantHandle, *, employees: int = 60, days: int = 120, seed: int = 11) -> None:
    argv = ["--tenant", handle.tenant.slug, "--employees", str(employees), "--days", str(days)]
    argv += ["--seed", str(seed), "--end-date", END.isoformat(), "--reset"]
    call_command("seed_demo", *argv, stdout=io.StringIO())


def test_the_trained_model_beats_the_rules_engine_on_the_holdout_and_is_calibrated(alpha: TenantHandle) -> None:
    began = time.perf_counter()
    seed(alpha)
    seeded = time.perf_counter()
    with tenant_context(alpha.tenant):
        artifact = model_train()
    print(f"seed {seeded - began:.1f}s train {time.perf_counter() - seeded:.1f}s")
    print(artifact.metrics, artifact.reason)
    model, rules = artifact.metrics["model"], artifact.metrics["rules"]
    assert model["hours_mae"] <= 0.8 * rules["hours_mae"], artifact.metrics
    assert model["ece"] <= 0.1, artifact.metrics
    assert artifact.status == ArtifactStatus.ACTIVE, artifact.reason
    with tenant_context(alpha.tenant):
        assert ModelArtifact.objects.filter(status=ArtifactStatus.ACTIVE).count() == 1
