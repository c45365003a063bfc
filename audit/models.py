"""AuditEvent (one chain per schema: each tenant's, and the public one) and signed chain-head checkpoints."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    # The chain position, assigned under a per-schema advisory lock: gap-free and never forked.
    sequence = models.BigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField()
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True, default="")
    actor_label = models.CharField(max_length=200, blank=True, default="")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["action", "occurred_at"], name="audit_action_time_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor_id", "occurred_at"], name="audit_actor_time_idx"),
            models.Index(fields=["occurred_at"], name="audit_time_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"


class AuditCheckpoint(models.Model):
    """A signed chain head; read and written in the public schema only."""

    schema_name = models.CharField(max_length=63)
    sequence = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)
    signed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["schema_name", "-sequence"]
        indexes = [models.Index(fields=["schema_name", "-sequence"], name="audit_checkpoint_head_idx")]

    def __str__(self) -> str:
        return f"{self.schema_name}#{self.sequence}"
