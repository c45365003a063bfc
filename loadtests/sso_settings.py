"""Production settings whose single sign-on accepts the plain-http loopback provider (loadtests/bench_sso.py)."""

from __future__ import annotations

from hrms.settings_production import *  # noqa: F403

SSO_REQUIRE_HTTPS = False
