"""Locust user for the benchmarks when wrk is not installed: one request, as fast as it answers or paced."""

from __future__ import annotations

import json
import os

from locust import FastHttpUser, constant, task

_URL = os.environ.get("BENCH_URL", "http://127.0.0.1:8000/healthz")
_METHOD = os.environ.get("BENCH_METHOD", "GET")
_BODY = os.environ.get("BENCH_BODY", "")
_HEADERS: dict[str, str] = json.loads(os.environ.get("BENCH_HEADERS", "{}"))
_PAUSE_SECONDS = int(os.environ.get("BENCH_PAUSE_MS", "0")) / 1000


class SingleRequestUser(FastHttpUser):
    host = _URL
    wait_time = constant(_PAUSE_SECONDS)

    @task
    def request(self) -> None:
        self.client.request(_METHOD, _URL, headers=_HEADERS, data=_BODY or None)
