"""Load drivers of the benchmarks: wrk when it is installed, else Locust headless; both report the same figures."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loadtests.common import ROOT


@dataclass(frozen=True)
class Load:
    name: str
    url: str
    headers: dict[str, str]
    method: str = "GET"
    body: str = ""
    # Think time of each connection between a response and its next request; 0 = as fast as answered.
    pause_ms: int = 0


@dataclass(frozen=True)
class LoadResult:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    failures: int


def drive_wrk(load: Load, *, seconds: int, connections: int) -> LoadResult:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["-s", str(ROOT / "loadtests/wrk_report.lua")]
    for name, value in load.headers.items():
        command += ["-H", f"{name}: {value}"]
    env = {**os.environ, "WRK_METHOD": load.method, "WRK_BODY": load.body, "WRK_PAUSE_MS": str(load.pause_ms)}
    output = subprocess.run([*command, load.url], env=env, check=True, capture_output=True, text=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    return LoadResult(
        rps=data["rps"],
        p50_ms=data["p50_ms"],
        p95_ms=data["p95_ms"],
        p99_ms=data["p99_ms"],
        requests=data["requests"],
        failures=data["socket_errors"] + data["non_2xx"],
    )


def drive_locust(load: Load, *, seconds: int, connections: int) -> LoadResult:
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "run"
        env = {
            **os.environ,
            "BENCH_URL": load.url,
            "BENCH_METHOD": load.method,
            "BENCH_BODY": load.body,
            "BENCH_HEADERS": json.dumps(load.headers),
            "BENCH_PAUSE_MS": str(load.pause_ms),
        }
        subprocess.run(
            [
                str(ROOT / ".venv/bin/locust"),
                "-f",
                str(ROOT / "loadtests/locust_single.py"),
                "--headless",
                "-u",
                str(connections),
                "-r",
                str(connections),
                "-t",
                f"{seconds}s",
                "--only-summary",
                "--csv",
                str(prefix),
            ],
            env=env,
            check=False,
            capture_output=True,
        )
        with open(f"{prefix}_stats.csv", newline="") as handle:
            total = next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")
    return LoadResult(
        rps=float(total["Requests/s"]),
        p50_ms=float(total["50%"]),
        p95_ms=float(total["95%"]),
        p99_ms=float(total["99%"]),
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
    )


def load_driver() -> Callable[..., LoadResult]:
    """wrk (`apt-get install wrk`) when installed, else Locust."""
    return drive_wrk if shutil.which("wrk") else drive_locust
