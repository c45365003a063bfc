"""Benchmark: the single sign-on round trip against the loopback OpenID Connect provider, on a real gunicorn.

    .venv/bin/python loadtests/bench_sso.py                  # 200 sign-ins by 20 people
    .venv/bin/python loadtests/bench_sso.py --logins 500 --people 50

One tenant in a database of its own (hrms_bench_sso, dropped afterwards), served by the production settings
(loadtests/sso_settings.py: only the https requirement on the issuer is lifted, for the plain-http loopback
provider of tests/support/oidc_provider.py, which runs in this process). Its Admin configures single sign-on
through `PUT /api/sso/provider`. Each sign-in is what a browser does after it has started, with a fresh cookie
jar: `GET /sso/start` (a redirect to the provider), the provider's sign-in page, posting the e-mail there (a
redirect back), `GET /sso/callback` (the code exchange, the ID token's checks, the login). The first sign-in of
each person creates their login; the rest link to it. Printed: the whole round trip and the product's two
requests alone (start + callback), P50 / P95 / max, for first and returning sign-ins.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

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
    percentile,
    process_stop,
    product_env,
    wait_for_http,
)

SLUG = "ssobench"


def _summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    ms = [value * 1000 for value in values]
    return (
        f"{name} (n={len(ms)}): P50 {statistics.median(ms):.1f} ms, P95 {percentile(ms, 0.95):.1f} ms, "
        f"max {max(ms):.1f} ms"
    )


def _configure(base: str, host: str, issuer: str) -> None:
    import httpx

    from tests.support.oidc_provider import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    headers = {"Host": host, "X-Forwarded-Proto": "https"}
    token = httpx.post(
        f"{base}/api/auth/token",
        json={"username": f"admin@{SLUG}.test", "password": BENCH_PASSWORD},
        headers=headers,
        timeout=60,
    )
    token.raise_for_status()
    body = {
        "display_name": "Loopback ID",
        "issuer": issuer,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "allowed_domains": ["people.example"],
        "role_claim": "hrms_role",
        "default_role": "Employee",
    }
    saved = httpx.put(
        f"{base}/api/sso/provider",
        json=body,
        headers={**headers, "Authorization": f"Token {token.json()['token']}"},
        timeout=60,
    )
    saved.raise_for_status()


def _sign_in(base: str, host: str, email: str) -> tuple[float, float, float]:
    """One sign-in with a fresh cookie jar: (whole round trip, the product's two requests, the callback alone)."""
    import httpx

    headers = {"Host": host, "X-Forwarded-Proto": "https"}
    with httpx.Client(timeout=60) as browser:
        started = time.perf_counter()
        start = browser.get(f"{base}/sso/start", headers=headers)
        product = time.perf_counter() - started
        if start.status_code != 302:
            raise SystemExit(f"/sso/start answered {start.status_code}: {start.text[:300]}")
        authorize = start.headers["location"]
        browser.get(authorize).raise_for_status()
        answer = browser.post(authorize, data={"email": email})
        if answer.status_code != 302:
            raise SystemExit(f"the provider answered {answer.status_code}: {answer.text[:300]}")
        back = urlsplit(answer.headers["location"])
        # The session cookie is Secure (production settings): a browser sends it over the https the proxy
        # terminates; this plain-http client to gunicorn passes it by hand.
        cookie = "; ".join(f"{name}={value}" for name, value in start.cookies.items())
        before_callback = time.perf_counter()
        done = browser.get(f"{base}{back.path}?{back.query}", headers={**headers, "Cookie": cookie})
        finished = time.perf_counter()
        if done.status_code != 302 or done.headers["location"] != "/":
            raise SystemExit(f"/sso/callback answered {done.status_code}: {done.text[:300]}")
        return finished - started, product + (finished - before_callback), finished - before_callback


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--database", default="hrms_bench_sso")
    args = parser.parse_args()

    from tests.support.oidc_provider import OidcProvider

    url = database_url(args.database)
    database_recreate(url)
    env = product_env(url)
    env["DJANGO_SETTINGS_MODULE"] = "loadtests.sso_settings"
    server = None
    provider = OidcProvider().start()
    provider.add_client()
    people = [f"person{n:03d}@people.example" for n in range(args.people)]
    for index, email in enumerate(people):
        provider.add_user(email, hrms_role="Manager" if index % 5 == 0 else "Employee")
    try:
        manage("migrate_tenants", env=env, echo=False)
        bench_tenant_create(SLUG, env=env)
        port = free_port()
        server = gunicorn_start("hrms.wsgi:application", port, env, Path(tempfile.mkdtemp()) / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        host = f"{SLUG}.localhost:{port}"
        wait_for_http(f"{base}/healthz")
        _configure(base, host, provider.issuer)
        _sign_in(base, host, people[0])  # warm-up: each gunicorn worker's imports, the provider's discovery
        first: list[tuple[float, float, float]] = []
        again: list[tuple[float, float, float]] = []
        for number in range(args.logins):
            email = people[(number + 1) % len(people)]
            timing = _sign_in(base, host, email)
            (first if number + 1 < len(people) else again).append(timing)
        print(f"{args.logins} sign-ins by {len(people)} people against {provider.issuer}")
        print(_summary("round trip, first sign-in (login created)", [t[0] for t in first]))
        print(_summary("round trip, returning", [t[0] for t in again]))
        print(_summary("product only (start + callback), first sign-in", [t[1] for t in first]))
        print(_summary("product only (start + callback), returning", [t[1] for t in again]))
        print(_summary("callback alone (code exchange, checks, login), returning", [t[2] for t in again]))
        print(_summary("round trip, all", [t[0] for t in first + again]))
    finally:
        if server is not None:
            process_stop(server)
        provider.stop()
        bench_finish(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
