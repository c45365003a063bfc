"""Trained allocation models of one tenant: every training run leaves a versioned ModelArtifact row.

At most one row is `active`: the model the predictor uses. A run that does not beat the rules engine on its
holdout is kept as `rejected` (with its metrics and the reason) so HR can see why the rules still answer.
"""

from __future__ import annotations

import uuid

from django.db import models


class ArtifactStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REJECTED = "rejected", "Rejected (did not beat the rules engine)"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded by a newer model"


class ModelArtifact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=16, choices=ArtifactStatus.choices)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Training rows (employee x project x day candidates) and the labelled employee-days they came from.
    samples = models.PositiveIntegerField(default=0)
    employee_days = models.PositiveIntegerField(default=0)
    holdout_samples = models.PositiveIntegerField(default=0)
    data_start = models.DateField(null=True, blank=True)
    holdout_start = models.DateField(null=True, blank=True)
    data_end = models.DateField(null=True, blank=True)
    # {"model": {...}, "rules": {...}}: the same holdout metrics for both, side by side.
    metrics = models.JSONField(default=dict, blank=True)
    feature_names = models.JSONField(default=list, blank=True)
    feature_importance = models.JSONField(default=dict, blank=True)
    training_seconds = models.FloatField(default=0.0)
    library_versions = models.JSONField(default=dict, blank=True)
    # joblib bytes of the fitted estimators; the checksum is verified before anything is unpickled.
    artifact = models.BinaryField(default=b"", blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True, default="")
    artifact_bytes = models.PositiveIntegerField(default=0)
    job_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="model_artifact_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version}:{self.status}"
