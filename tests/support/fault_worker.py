"""A real Celery worker for the reliability tests, with faults injected from HRMS_FAULT_* variables.

`python -m tests.support.fault_worker` runs the product's Celery app (solo pool, the `celery` and
`generation` queues). The variables only slow the pipeline down or make it fail; nothing else changes:

- HRMS_FAULT_CHUNK_SIZE: employees per generation chunk (small, so a job has several chunks).
- HRMS_FAULT_COMPUTE_DELAY: seconds to pause after computing each chunk, before its write transaction.
- HRMS_FAULT_WRITE_DELAY: seconds to pause inside each chunk's write transaction, after its rows are copied.
- HRMS_FAULT_MARKER: a file the worker appends `compute <n>` / `write <n>` to as it reaches each pause.
- HRMS_FAULT_LEASE_TTL: seconds a generation lease lives without renewal.
- HRMS_FAULT_VISIBILITY_TIMEOUT: broker visibility timeout (how soon an unacknowledged message is redelivered).
- HRMS_FAULT_GENERATION_RAISES: every generation raises RuntimeError half-way.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import django


def _mark(text: str) -> None:
    marker = os.environ.get("HRMS_FAULT_MARKER")
    if marker:
        with Path(marker).open("a") as handle:
            handle.write(text + "\n")


def _install_faults() -> None:
    from intelligence import generation
    from locks import services as locks

    if size := os.environ.get("HRMS_FAULT_CHUNK_SIZE"):
        generation.CHUNK_SIZE = int(size)
    if ttl := os.environ.get("HRMS_FAULT_LEASE_TTL"):
        assert locks.lease_acquire.__kwdefaults__ is not None
        locks.lease_acquire.__kwdefaults__["ttl_seconds"] = int(ttl)

    compute_delay = float(os.environ.get("HRMS_FAULT_COMPUTE_DELAY", "0"))
    write_delay = float(os.environ.get("HRMS_FAULT_WRITE_DELAY", "0"))
    raises = os.environ.get("HRMS_FAULT_GENERATION_RAISES") == "1"
    # generation imported the chunk-writing service by name: it is replaced in generation's namespace.
    real_compute, real_replace = generation._compute_chunk, vars(generation)["suggestions_generated_replace"]
    counter = {"compute": 0, "write": 0}

    def compute(**kwargs: Any) -> Any:
        rows = real_compute(**kwargs)
        counter["compute"] += 1
        _mark(f"compute {counter['compute']}")
        if raises and counter["compute"] >= 2:
            raise RuntimeError("injected fault: the generation pipeline crashed")
        time.sleep(compute_delay)
        return rows

    def replace(**kwargs: Any) -> Any:
        # Inside the chunk's transaction, before its commit: a delay here holds the written chunk uncommitted.
        written = real_replace(**kwargs)
        counter["write"] += 1
        _mark(f"write {counter['write']}")
        time.sleep(write_delay)
        return written

    generation._compute_chunk = compute
    vars(generation)["suggestions_generated_replace"] = replace


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings_test")
    django.setup()
    from hrms.celery import app

    _install_faults()
    if visibility := os.environ.get("HRMS_FAULT_VISIBILITY_TIMEOUT"):
        app.conf.broker_transport_options = {"visibility_timeout": int(visibility)}
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--queues=celery,generation",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=fault-{os.getpid()}@%h",
        ]
    )


if __name__ == "__main__":
    main()
