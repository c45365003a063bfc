"""Helpers for the operations tests: reading /metrics as parsed families."""

from __future__ import annotations

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def scrape(client: Client | None = None) -> dict[str, list[Sample]]:
    """GET /metrics from the metrics network; samples by family name."""
    response = (client or Client()).get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200, response.content
    return {family.name: family.samples for family in text_string_to_metric_families(response.content.decode())}


def sample_value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        sample.value
        for sample in samples
        if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items())
    )
