"""The lock check of `make lint`: pyproject.toml and the hash-pinned locks agree, and any drift fails it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = ("pyproject.toml", "requirements.lock", "requirements-runtime.lock")


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lock_check.py"), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    for name in FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_the_committed_locks_were_compiled_from_pyproject_as_it_is() -> None:
    result = _check(ROOT)
    assert result.returncode == 0, result.stderr


def test_a_dependency_added_to_pyproject_without_relocking_fails_the_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pyproject = root / "pyproject.toml"
    declared = '    "tqdm>=4.70,<5",\n'
    pyproject.write_text(pyproject.read_text().replace(declared, declared + '    "pendulum>=3.0",\n'))
    result = _check(root)
    assert result.returncode == 1
    assert "requirements-runtime.lock does not pin pendulum" in result.stderr
    assert "requirements.lock was not compiled from pyproject.toml as it is now" in result.stderr


def test_a_pin_edited_by_hand_fails_the_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    lock = root / "requirements-runtime.lock"
    text = lock.read_text()
    pinned = re.search(r"^cachetools==(\S+) ", text, re.MULTILINE)
    assert pinned is not None
    lock.write_text(text.replace(pinned.group(0), "cachetools==7.0.0 "))
    result = _check(root)
    assert result.returncode == 1
    assert "cachetools==7.0.0, outside cachetools<9,>=8.0" in result.stderr
