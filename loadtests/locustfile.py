"""Locust users of the load scenarios (`loadtests/run_scenarios.py` starts them; see docs/benchmarks.md).

The scenario driver passes the tenants and their tokens in BENCH_TENANTS (JSON list of [slug, token]).
Requests go to the API host with an X-Tenant header, as integrations call the product.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from datetime import date, timedelta

from locust import FastHttpUser, between, constant, task
from locust.exception import StopUser

_TENANTS: list[tuple[str, str]] = [tuple(pair) for pair in json.loads(os.environ.get("BENCH_TENANTS", "[]"))]
_PERIOD_END = date.today() - timedelta(days=1)
_PERIOD = {"start_date": str(_PERIOD_END - timedelta(days=6)), "end_date": str(_PERIOD_END)}
_next_user = itertools.count()
_lock = threading.Lock()


def _tenant_for_next_user(per_tenant: int) -> tuple[str, str]:
    with _lock:
        index = next(_next_user)
    return _TENANTS[(index // per_tenant) % len(_TENANTS)]


def _headers(slug: str, token: str) -> dict[str, str]:
    return {
        "X-Tenant": slug,
        "Authorization": f"Token {token}",
        "X-Forwarded-Proto": "https",
        "Content-Type": "application/json",
    }


class GenerateOnceUser(FastHttpUser):
    """Scenario 1: ten users per tenant ask for the same generation at once; one may start it, nine get 409."""

    wait_time = constant(0)

    def on_start(self) -> None:
        slug, token = _tenant_for_next_user(int(os.environ.get("BENCH_USERS_PER_TENANT", "10")))
        self.api_headers = _headers(slug, token)

    @task
    def generate(self) -> None:
        with self.client.post(
            "/api/timesheet-intelligence/generate",
            data=json.dumps(_PERIOD),
            headers=self.api_headers,
            catch_response=True,
            name="generate",
        ) as response:
            if response.status_code in (202, 409):
                response.success()
            else:
                response.failure(f"unexpected status {response.status_code}")
            # Each outcome as its own statistics row, so the summary shows 202s and 409s apart.
            self.environment.events.request.fire(
                request_type="OUTCOME",
                name=str(response.status_code),
                response_time=0,
                response_length=0,
                exception=None,
                context={},
            )
        raise StopUser


class SuggestionReader(FastHttpUser):
    """Scenario 2: people reading their tenant's pending suggestions, a page every one to three seconds."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        slug, token = _tenant_for_next_user(1)
        self.api_headers = _headers(slug, token)

    @task
    def pending(self) -> None:
        self.client.get(
            "/api/timesheet-intelligence/suggestions/pending", headers=self.api_headers, name="suggestions/pending"
        )
