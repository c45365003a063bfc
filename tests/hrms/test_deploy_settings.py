"""Production settings pass Django's deployment checks and refuse to start without their secrets."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    secrets_env = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "AUDIT_CHECKPOINT_KEY")
    # The browser tests' harness relaxes Django's async check for the whole session; production never does.
    harness_env = ("DJANGO_ALLOW_ASYNC_UNSAFE",)
    env = {k: v for k, v in os.environ.items() if k not in secrets_env + harness_env}
    env.update({"DJANGO_SETTINGS_MODULE": "hrms.settings_production", **extra_env})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy_without_warnings() -> None:
    result = _check_deploy(
        {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "AUDIT_CHECKPOINT_KEY": secrets.token_urlsafe(32),
            "FIELD_ENCRYPTION_KEYS": "prod1:" + base64.b64encode(os.urandom(32)).decode(),
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key() -> None:
    result = _check_deploy({"FIELD_ENCRYPTION_KEYS": "prod1:" + base64.b64encode(os.urandom(32)).decode()})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
