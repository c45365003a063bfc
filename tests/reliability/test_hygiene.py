"""Supply-chain and lint hygiene: no known-vulnerable pinned dependency, ruff's security rules on.

`manage.py check --deploy` with production settings is tested in tests/hrms/test_deploy_settings.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_runs_the_security_rules_and_the_code_passes_them() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in config["select"]
    ignored = [rule for rule in config.get("ignore", []) if rule.startswith("S")] or ["S000"]
    result = subprocess.run(
        # Only the S rules, with the project's own ignores and per-file ignores.
        [str(Path(sys.executable).parent / "ruff"), "check", "--select", "S", "--ignore", ",".join(ignored), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_no_pinned_dependency_has_a_known_vulnerability() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "pip-audit"),
            "--requirement",
            "requirements.lock",
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pip-audit produced no report: {result.stderr[-2000:]}")
    dependencies = report["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        # The advisory service (PyPI's JSON API per release, or OSV) cannot be reached from this machine.
        pytest.skip(f"pip-audit could not reach its advisory database: {dependencies[0].get('skip_reason')}")
    vulnerable = {f"{d['name']}=={d['version']}": [v["id"] for v in d["vulns"]] for d in audited if d["vulns"]}
    assert vulnerable == {}
    assert len(audited) == len(dependencies), [d["name"] for d in dependencies if "skip_reason" in d]
