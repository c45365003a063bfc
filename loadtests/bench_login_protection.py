"""Benchmark: a burst of wrong passwords from 10 addresses against a real gunicorn, and a bystander tenant.

    .venv/bin/python loadtests/bench_login_protection.py                  # 1,000 attempts over 15 s
    .venv/bin/python loadtests/bench_login_protection.py --attempts 1000 --seconds 10

Two tenants in a database of their own (hrms_bench_login, dropped afterwards), served by the production
settings with the production password hasher (PBKDF2 at Django's cost) wrapped to count its hashes. The
server trusts 127.0.0.1 as its reverse proxy (TRUSTED_PROXY_NETWORKS), as production trusts nginx, so the
attack's 10 client addresses arrive in X-Forwarded-For exactly as nginx would pass them.

`bystander` reads its employee list with a few connections (each pausing `--pause-ms` between requests, as
people using a product do), first alone (the baseline), then while 10
addresses send `--attempts` wrong passwords to `victim`'s `POST /api/auth/token` (round robin over its real
admin and three names that do not exist). Promises: fewer than 50 password hashes for the whole burst, and the
bystander's P95 under attack within 1.5 x its baseline. Also printed: the answers (400/429) and the mean time
of a wrong password for the real account against an unknown one (no account enumeration by timing).
Exits non-zero when a promise is broken.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import (
    BENCH_PASSWORD,
    bench_finish,
    bench_tenant_create,
    database_recreate,
    database_url,
    free_port,
    gunicorn_start,
    manage,
    process_stop,
    product_env,
    wait_for_http,
)
from loadtests.counting_hasher import hashes_count, hashes_reset
from loadtests.drivers import Load, load_driver

ADDRESSES = [f"198.51.100.{n}" for n in range(1, 11)]
UNKNOWN = ["ceo@victim.test", "payroll@victim.test", "it@victim.test"]


def _token(base: str, slug: str) -> str:
    import httpx

    response = httpx.post(
        f"{base}/api/auth/token",
        json={"username": f"admin@{slug}.test", "password": BENCH_PASSWORD},
        headers={"X-Tenant": slug, "X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.200"},
        timeout=60,
    )
    response.raise_for_status()
    return str(response.json()["token"])


def _attack(base: str, attempts: int, seconds: float) -> tuple[Counter[int], dict[str, list[float]]]:
    """`attempts` wrong passwords spread over `seconds`, one thread per address; answers and 400 timings."""
    import httpx

    names = ["admin@victim.test", *UNKNOWN]
    statuses: Counter[int] = Counter()
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    lock = threading.Lock()
    per_address = attempts // len(ADDRESSES)
    interval = seconds / per_address

    def run(index: int, address: str) -> None:
        # The attacker's client runs on this machine only for the benchmark: at a lower CPU priority (this
        # thread only), so that its own Python work does not count as load on the server.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        headers = {"X-Tenant": "victim", "X-Forwarded-Proto": "https", "X-Forwarded-For": address}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            start = time.monotonic()
            for n in range(per_address):
                name = names[(index + n) % len(names)]
                began = time.perf_counter()
                response = client.post("/api/auth/token", json={"username": name, "password": f"guess-{n}"})
                took = time.perf_counter() - began
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 400:
                        timings["known" if name.startswith("admin@") else "unknown"].append(took)
                pause = start + (n + 1) * interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # the attack's pace: `attempts` over `seconds`

    threads = [threading.Thread(target=run, args=(i, address)) for i, address in enumerate(ADDRESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=15, help="duration of each phase")
    parser.add_argument("--connections", type=int, default=4, help="the bystander's connections")
    parser.add_argument(
        "--pause-ms", type=int, default=20, help="think time of each bystander connection (0: as fast as answered)"
    )
    parser.add_argument("--database", default="hrms_bench_login")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    env = product_env(url)
    env.update({"DJANGO_SETTINGS_MODULE": "loadtests.login_settings", "TRUSTED_PROXY_NETWORKS": "127.0.0.1/32"})
    drive = load_driver()
    server = None
    try:
        manage("migrate_tenants", env=env, echo=False)
        for slug in ("victim", "bystander"):
            bench_tenant_create(slug, env=env)
        port = free_port()
        server = gunicorn_start("hrms.wsgi:application", port, env, Path(tempfile.mkdtemp()) / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz")
        headers = {
            "X-Tenant": "bystander",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "192.0.2.10",
            "Authorization": f"Token {_token(base, 'bystander')}",
        }
        bystander = Load("bystander", f"{base}/api/employees", headers, pause_ms=args.pause_ms)
        drive(bystander, seconds=2, connections=args.connections)  # warm-up
        baseline = drive(bystander, seconds=args.seconds, connections=args.connections)

        hashes_reset()
        attack: dict[str, tuple[Counter[int], dict[str, list[float]]]] = {}

        def attack_run() -> None:
            attack["result"] = _attack(base, args.attempts, args.seconds)

        attacker = threading.Thread(target=attack_run)
        attacker.start()
        under_attack = drive(bystander, seconds=args.seconds, connections=args.connections)
        attacker.join()
        hashes = hashes_count()
        statuses, timings = attack["result"]

        ratio = under_attack.p95_ms / baseline.p95_ms if baseline.p95_ms else float("inf")
        known = statistics.mean(timings["known"]) * 1000 if timings["known"] else 0.0
        unknown = statistics.mean(timings["unknown"]) * 1000 if timings["unknown"] else 0.0
        print(f"driver: {drive.__name__.removeprefix('drive_')}, {args.seconds} s per phase")
        print(
            f"attack: {sum(statuses.values())} attempts from {len(ADDRESSES)} addresses, answers {dict(statuses)}; "
            f"password hashes computed: {hashes} (promise < 50)"
        )
        print(f"wrong password, real account: {known:.0f} ms mean; unknown account: {unknown:.0f} ms mean")
        alone = f"{baseline.rps:8.1f} req/s  p50 {baseline.p50_ms:6.2f} ms  p95 {baseline.p95_ms:6.2f} ms"
        print(f"bystander alone:        {alone}")
        print(
            f"bystander under attack: {under_attack.rps:8.1f} req/s  p50 {under_attack.p50_ms:6.2f} ms  "
            f"p95 {under_attack.p95_ms:6.2f} ms  ({ratio:.2f} x baseline, promise <= 1.5)"
        )
        broken = []
        if hashes >= 50:
            broken.append(f"{hashes} password hashes")
        if ratio > 1.5:
            broken.append(f"the bystander's P95 grew {ratio:.2f} x")
        if baseline.failures or under_attack.failures:
            broken.append(f"the bystander had {baseline.failures + under_attack.failures} failed requests")
        for problem in broken:
            print(f"BROKEN: {problem}")
        return 1 if broken else 0
    finally:
        if server is not None:
            process_stop(server)
        bench_finish(url)


if __name__ == "__main__":
    raise SystemExit(main())
