"""Production settings with a password hasher that counts its hashes (loadtests/bench_login_protection.py)."""

from __future__ import annotations

from hrms.settings_production import *  # noqa: F403

PASSWORD_HASHERS = ["loadtests.counting_hasher.CountingPBKDF2PasswordHasher"]
