"""Benchmark: the cost of verifying a second-factor (TOTP) code, per verification, median over many.

    .venv/bin/python loadtests/bench_totp.py [--verifications 2000]

Runs in a database of its own (hrms_bench_totp, dropped afterwards). Three figures:

- the code check alone (django_otp.oath: HMAC-SHA1 over the current step and one either side), right and wrong;
- `two_step_verify` with a right code, as a login does it: a transaction, the device row locked, the code
  checked, the accepted step written back (each verification is at a later 30 s step, so none is a replay);
- `two_step_verify` with a wrong code: the same, plus the audit event of the failure;

and, interleaved with them as the machine's yardstick, a transaction of one UPDATE of the same row (what any
write costs on this machine at that moment).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.common import bench_env, bench_finish, database_recreate, database_url, percentile


def _summary(label: str, samples_us: list[float]) -> str:
    p50, p95 = statistics.median(samples_us), percentile(samples_us, 0.95)
    return f"{label:<34} p50 {p50:9.1f} µs   p95 {p95:9.1f} µs   (n={len(samples_us)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verifications", type=int, default=2000)
    parser.add_argument("--database", default="hrms_bench_totp")
    args = parser.parse_args()

    url = database_url(args.database)
    database_recreate(url)
    os.environ.update(bench_env(url))

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from django_tenants.utils import tenant_context

    from accounts.services.two_step import two_step_confirm, two_step_setup_start, two_step_verify
    from tenants.migration import tenants_migrate
    from tenants.services import tenant_create

    def code_at(key: bytes, when: float) -> str:
        generator = TOTP(key)
        generator.time = when
        return f"{generator.token():06d}"

    try:
        tenants_migrate(processes=1)
        tenant = tenant_create(
            slug="bench", name="Bench", domain="bench.localhost", admin_email="a@bench.test", admin_password="x-bench-1"
        ).tenant
        with tenant_context(tenant):
            user = User.objects.get(username="a@bench.test")
            key = base64.b32decode(two_step_setup_start(user=user).secret)
            start = time.time()
            two_step_confirm(user=user, code=code_at(key, start), now=start)
            wrong = "000000" if code_at(key, start) != "000000" else "111111"

            pure_right: list[float] = []
            pure_wrong: list[float] = []
            for n in range(args.verifications):
                when = start + 30 * n
                totp = TOTP(key)
                totp.time = when
                expected = int(code_at(key, when))
                began = time.perf_counter()
                totp.verify(expected, 1)
                pure_right.append((time.perf_counter() - began) * 1e6)
                began = time.perf_counter()
                totp.verify(int(wrong), 1)
                pure_wrong.append((time.perf_counter() - began) * 1e6)

            full_right: list[float] = []
            full_wrong: list[float] = []
            baseline: list[float] = []
            device_id = TOTPDevice.objects.get(user=user).pk
            for n in range(1, args.verifications + 1):
                began = time.perf_counter()
                with transaction.atomic():
                    TOTPDevice.objects.filter(pk=device_id).update(last_used_at=timezone.now())
                baseline.append((time.perf_counter() - began) * 1e6)
                when = start + 30 * n
                code = code_at(key, when)
                began = time.perf_counter()
                accepted = two_step_verify(user=user, code=code, now=when)
                full_right.append((time.perf_counter() - began) * 1e6)
                assert accepted == "totp", "a right code was refused"
                began = time.perf_counter()
                refused = two_step_verify(user=user, code=wrong, now=when)
                full_wrong.append((time.perf_counter() - began) * 1e6)
                assert refused is None, "a wrong code was accepted"
        print(_summary("code check alone, right code", pure_right))
        print(_summary("code check alone, wrong code", pure_wrong))
        print(_summary("two_step_verify, right code", full_right))
        print(_summary("two_step_verify, wrong code", full_wrong))
        print(_summary("yardstick: one-UPDATE transaction", baseline))
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        bench_finish(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
