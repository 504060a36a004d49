#!/usr/bin/env python3
"""Check that the lock files (requirements/*.txt) agree with pyproject.toml: fast and offline.

Usage: bin/check_lock.py [--root DIR]   (exit 0: they agree; 1: what disagrees, one line each)

The locks are written by `make lock` (pip-compile with hashes). They disagree with
pyproject.toml when:
- a dependency of pyproject.toml is not pinned in a lock, or its pin is outside the range
  pyproject.toml allows (someone added or tightened a dependency and did not re-lock);
- a lock still pins a package "via karatlever (pyproject.toml)" that pyproject.toml no longer
  lists (a dependency was removed);
- a pin has no --hash (pip's --require-hashes would refuse the whole file);
- requirements/base.txt (production) and requirements/dev.txt pin a package at different
  versions (production and tests would run different code).

Needs only the standard library and `packaging` (which pip and pytest already bring).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# requirements/base.txt: [project].dependencies; requirements/dev.txt: those plus the extras.
LOCKS = {"requirements/base.txt": (), "requirements/dev.txt": ("dev",)}
PROJECT_VIA = "karatlever (pyproject.toml)"
FIX = "run `make lock` and commit requirements/"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s\\;]+)")


@dataclass
class Pin:
    version: str
    hashes: int = 0
    direct: bool = False  # annotated "via karatlever (pyproject.toml)"


@dataclass
class Lock:
    pins: dict[str, Pin] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def parse_lock(text: str, name: str) -> Lock:
    """The pins of a pip-compile output (``name==version`` with ``--hash`` lines and ``# via``
    annotations after each pin)."""
    lock = Lock()
    current: Pin | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if raw[:1].isspace():
            if current is None:
                continue
            if line.startswith("--hash="):
                current.hashes += 1
            elif line.lstrip("#").strip().removeprefix("via ").strip() == PROJECT_VIA:
                current.direct = True
            continue
        if line.startswith(("#", "-")):
            current = None
            continue
        match = _PIN.match(line)
        if match is None:
            lock.errors.append(f"{name}:{number}: not an exact pin (name==version): {line}")
            current = None
            continue
        current = Pin(version=match.group(3), hashes=line.count("--hash="))
        lock.pins[canonicalize_name(match.group(1))] = current
    return lock


def project_requirements(pyproject: dict[str, object], extras: tuple[str, ...]) -> list[str]:
    project = pyproject.get("project")
    if not isinstance(project, dict):
        raise ValueError("pyproject.toml has no [project] table")
    found = list(project.get("dependencies") or [])
    optional = project.get("optional-dependencies") or {}
    for extra in extras:
        found += list(optional.get(extra) or [])
    return [str(r) for r in found]


def check(root: Path) -> list[str]:
    """Every disagreement between pyproject.toml and the locks under ``root``, as messages."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    problems: list[str] = []
    locks: dict[str, Lock] = {}
    for path, extras in LOCKS.items():
        lock_file = root / path
        if not lock_file.is_file():
            problems.append(f"{path} is missing: {FIX}")
            continue
        lock = parse_lock(lock_file.read_text(encoding="utf-8"), path)
        locks[path] = lock
        problems += lock.errors
        wanted: set[str] = set()
        for text in project_requirements(pyproject, extras):
            try:
                requirement = Requirement(text)
            except InvalidRequirement as exc:
                problems.append(f"pyproject.toml: bad requirement {text!r}: {exc}")
                continue
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue
            key = str(canonicalize_name(requirement.name))
            wanted.add(key)
            pin = lock.pins.get(key)
            if pin is None:
                problems.append(f"{path}: {requirement} (pyproject.toml) is not pinned: {FIX}")
            elif not requirement.specifier.contains(pin.version, prereleases=True):
                problems.append(
                    f"{path}: {requirement.name}=={pin.version} is outside "
                    f"{requirement.specifier} (pyproject.toml): {FIX}"
                )
        for key, pin in sorted(lock.pins.items()):
            if pin.direct and key not in wanted:
                problems.append(
                    f"{path}: pins {key}=={pin.version} for pyproject.toml, which no longer "
                    f"lists it: {FIX}"
                )
            if pin.hashes == 0:
                problems.append(f"{path}: {key}=={pin.version} has no --hash: {FIX}")
    if len(locks) == len(LOCKS):
        base, dev = (locks[path].pins for path in LOCKS)
        for key, pin in sorted(base.items()):
            if key in dev and dev[key].version != pin.version:
                problems.append(
                    f"requirements/base.txt pins {key}=={pin.version} but requirements/dev.txt "
                    f"pins {dev[key].version}: {FIX}"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    problems = check(args.root)
    for problem in problems:
        print(f"check-lock: {problem}", file=sys.stderr)  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
