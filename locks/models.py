"""FencingEpoch: a counter per lock name, bumped on every acquisition and checked by every guarded write."""

from __future__ import annotations

from django.db import models


class FencingEpoch(models.Model):
    name = models.CharField(max_length=100, unique=True)
    epoch = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}@{self.epoch}"
