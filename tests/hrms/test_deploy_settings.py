"""Production settings pass Django's deployment checks and refuse to start without real secrets or with a
development switch on."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from hrms.deploy_checks import production_secret_problems

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    secrets_env = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "AUDIT_CHECKPOINT_KEY", "METRICS_TOKEN")
    # Development switches `make run` may have left in the environment.
    development_env = ("JIRA_ALLOW_PRIVATE_HOSTS", "JIRA_REQUIRE_HTTPS")
    # The browser tests' harness relaxes Django's async check for the whole session; production never does.
    harness_env = ("DJANGO_ALLOW_ASYNC_UNSAFE",)
    env = {k: v for k, v in os.environ.items() if k not in secrets_env + harness_env + development_env}
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


def _good_secrets() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AUDIT_CHECKPOINT_KEY": secrets.token_urlsafe(32),
        "FIELD_ENCRYPTION_KEYS": "prod1:" + base64.b64encode(os.urandom(32)).decode(),
    }


def _problems(**overrides: str) -> list[str]:
    values = _good_secrets()
    values.update(overrides)
    return production_secret_problems(
        secret_key=values["SECRET_KEY"],
        audit_key=values["AUDIT_CHECKPOINT_KEY"],
        field_keys=[entry for entry in values["FIELD_ENCRYPTION_KEYS"].split(",") if entry],
        metrics_token=values.get("METRICS_TOKEN", ""),
    )


def test_random_secrets_of_the_right_length_pass() -> None:
    assert _problems() == []
    assert _problems(METRICS_TOKEN=secrets.token_urlsafe(32)) == []
    rotated = f"new:{base64.b64encode(os.urandom(32)).decode()},old:{base64.b64encode(os.urandom(32)).decode()}"
    assert _problems(FIELD_ENCRYPTION_KEYS=rotated, SECRET_KEY=secrets.token_hex(32)) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # the development defaults of hrms/settings.py
        ("SECRET_KEY", "dev-insecure-0b7c1f6e4a9d4f1c8e2b5a7d9c3e6f10-not-for-production"),
        ("AUDIT_CHECKPOINT_KEY", "dev-audit-checkpoint-key-not-for-production"),
        ("FIELD_ENCRYPTION_KEYS", "dev1:ZGV2LW9ubHktbWFzdGVyLWtleS0zMi1ieXRlcy0wMDA="),
        # long enough but a placeholder or not random, or random but short
        ("SECRET_KEY", "change-me-" + "x" * 60),
        ("SECRET_KEY", "django-insecure-" + "a1b2c3d4e5" * 5),
        ("SECRET_KEY", "ab" * 40),
        ("SECRET_KEY", secrets.token_urlsafe(30)),
        ("SECRET_KEY", ""),
        ("AUDIT_CHECKPOINT_KEY", secrets.token_urlsafe(12)),
        ("FIELD_ENCRYPTION_KEYS", "prod1:" + base64.b64encode(os.urandom(16)).decode()),
        ("FIELD_ENCRYPTION_KEYS", "prod1:" + base64.b64encode(bytes(32)).decode()),
        ("FIELD_ENCRYPTION_KEYS", "no-key-id-here"),
        ("FIELD_ENCRYPTION_KEYS", "prod1:not base64 at all!"),
        ("FIELD_ENCRYPTION_KEYS", ""),
        ("METRICS_TOKEN", "change-me"),
        ("METRICS_TOKEN", secrets.token_urlsafe(8)),
    ],
)
def test_placeholder_development_and_short_secrets_are_refused(name: str, value: str) -> None:
    problems = _problems(**{name: value})
    assert len(problems) == 1
    assert problems[0].startswith(name)
    assert not value or value not in problems[0]  # the refusal names the setting, never the secret


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # docker-compose.yml's defaults, and a random but short key
        ("SECRET_KEY", "change-me-to-a-long-random-string"),
        ("AUDIT_CHECKPOINT_KEY", "change-me-audit-checkpoint-key"),
        ("FIELD_ENCRYPTION_KEYS", "k1:REPLACE-WITH-base64-of-32-random-bytes="),
        ("SECRET_KEY", secrets.token_urlsafe(30)),
    ],
)
def test_production_settings_refuse_to_start_with_a_placeholder_or_short_secret(name: str, value: str) -> None:
    result = _check_deploy({**_good_secrets(), name: value})
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr
    assert value not in result.stderr


def test_production_settings_refuse_the_development_switch_for_private_jira_hosts() -> None:
    result = _check_deploy({**_good_secrets(), "JIRA_ALLOW_PRIVATE_HOSTS": "1"})
    assert result.returncode != 0
    assert "JIRA_ALLOW_PRIVATE_HOSTS" in result.stderr


def test_production_settings_require_https_for_jira_and_the_token_for_metrics() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("JIRA_ALLOW_PRIVATE_HOSTS", "JIRA_REQUIRE_HTTPS")}
    env.update({"DJANGO_SETTINGS_MODULE": "hrms.settings_production", "JIRA_REQUIRE_HTTPS": "false", **_good_secrets()})
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.JIRA_REQUIRE_HTTPS, settings.JIRA_ALLOW_PRIVATE_HOSTS, settings.METRICS_REQUIRE_TOKEN)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "True"]
