"""Fails when pyproject.toml's dependency lists and the hash-pinned lock files disagree (run by `make lint`).

`make lock` compiles the locks from pyproject.toml with pip-compile and then runs this script with `--stamp`, which
writes into each lock's header the SHA-256 of the requirement list it was compiled from. Without `--stamp` the
script checks, for requirements-runtime.lock ([project] dependencies) and requirements.lock (those plus the dev
extra):

- the stamp matches pyproject.toml's lists today, so any edit to them (a new package, another version range or
  extra) fails until someone re-locks;
- every package pyproject.toml names is pinned with `==` and hashes, at a version its range allows, and no pin
  claims to come from pyproject.toml (pip-compile's `# via` note) that pyproject.toml no longer names;
- the runtime lock pins the same version as the full lock for every package they share, so the image runs what
  the tests ran.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
STAMP_PREFIX = "# pyproject-requirements-sha256: "
# pip-compile names the source of a top-level requirement "<project name> (pyproject.toml)" in its `# via` notes.
VIA_PYPROJECT = "(pyproject.toml)"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


@dataclass
class Pin:
    version: str
    hashes: int = 0
    via: list[str] = field(default_factory=list)


def requirement_lists(pyproject: Path) -> dict[str, list[str]]:
    """The requirement strings each lock is compiled from: runtime, and runtime plus dev."""
    project = tomllib.loads(pyproject.read_text())["project"]
    runtime = list(project.get("dependencies", []))
    dev = list(project.get("optional-dependencies", {}).get("dev", []))
    return {"requirements-runtime.lock": runtime, "requirements.lock": runtime + dev}


def stamp_of(requirements: list[str]) -> str:
    # Normalised through packaging so that spacing or quoting edits do not force a re-lock, while any change of
    # name, extra, range or marker does.
    canonical = sorted(str(Requirement(text)) for text in requirements)
    return hashlib.sha256("\n".join(canonical).encode()).hexdigest()


def parse_lock(text: str) -> tuple[str | None, dict[str, Pin]]:
    stamp: str | None = None
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    in_via = False
    for raw in text.splitlines():
        line = raw.strip()
        if raw.startswith(STAMP_PREFIX):
            stamp = raw[len(STAMP_PREFIX) :].strip()
            continue
        match = PIN.match(raw)
        if match:
            current = Pin(version=match.group(2))
            pins[canonicalize_name(match.group(1))] = current
            in_via = False
            continue
        if current is None:
            continue
        if line.startswith("--hash="):
            current.hashes += 1
        elif line.startswith("# via"):
            rest = line[len("# via") :].strip()
            in_via = not rest
            if rest:
                current.via.append(rest)
        elif in_via and line.startswith("#   "):
            current.via.append(line[1:].strip())
        elif not line:
            current, in_via = None, False
    return stamp, pins


def check(root: Path) -> list[str]:
    problems: list[str] = []
    lists = requirement_lists(root / "pyproject.toml")
    parsed: dict[str, dict[str, Pin]] = {}
    for lock_name, requirements in lists.items():
        lock = root / lock_name
        if not lock.exists():
            problems.append(f"{lock_name} is missing: run `make lock`")
            continue
        stamp, pins = parse_lock(lock.read_text())
        parsed[lock_name] = pins
        if stamp != stamp_of(requirements):
            problems.append(f"{lock_name} was not compiled from pyproject.toml as it is now: run `make lock`")
        named: set[str] = set()
        for text in requirements:
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            named.add(name)
            pin = pins.get(name)
            if pin is None:
                problems.append(f"{lock_name} does not pin {requirement.name}, which pyproject.toml requires")
            elif not requirement.specifier.contains(Version(pin.version), prereleases=True):
                problems.append(f"{lock_name} pins {requirement.name}=={pin.version}, outside {requirement}")
        for pinned, pin in sorted(pins.items()):
            if pin.hashes == 0:
                problems.append(f"{lock_name} pins {pinned} without a hash")
            if pinned not in named and any(VIA_PYPROJECT in via for via in pin.via):
                problems.append(f"{lock_name} pins {pinned} for pyproject.toml, which no longer names it")
    runtime, full = parsed.get("requirements-runtime.lock"), parsed.get("requirements.lock")
    if runtime is not None and full is not None:
        for pinned, pin in sorted(runtime.items()):
            other = full.get(pinned)
            if other is None or other.version != pin.version:
                found = "nothing" if other is None else other.version
                problems.append(f"requirements-runtime.lock pins {pinned}=={pin.version}, requirements.lock {found}")
    return problems


def stamp(root: Path) -> None:
    for lock_name, requirements in requirement_lists(root / "pyproject.toml").items():
        lock = root / lock_name
        lines = [line for line in lock.read_text().splitlines() if not line.startswith(STAMP_PREFIX)]
        # After pip-compile's comment header, before the first pin.
        at = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
        lines.insert(at, STAMP_PREFIX + stamp_of(requirements))
        lock.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stamp", action="store_true", help="record pyproject.toml's lists in the lock headers")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    if args.stamp:
        stamp(args.root)
    problems = check(args.root)
    for problem in problems:
        print(f"lock check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
