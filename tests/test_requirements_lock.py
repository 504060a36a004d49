"""The lock (requirements/*.txt): bin/check_lock.py fails when pyproject.toml and the lock disagree,
and make, .ci/run (through make) and the Dockerfile all install from it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK_LOCK = ROOT / "bin" / "check_lock.py"


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(CHECK_LOCK), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_committed_lock_agrees_with_pyproject() -> None:
    result = _check(ROOT)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_dependency_added_without_relocking_fails(copy: Path) -> None:
    _edit(copy / "pyproject.toml", '"requests>=2.32",', '"requests>=2.32",\n    "left-pad>=1.0",')

    result = _check(copy)

    assert result.returncode == 1
    assert "left-pad>=1.0 (pyproject.toml) is not pinned" in result.stderr
    assert "make lock" in result.stderr


def test_a_range_the_pin_falls_outside_fails(copy: Path) -> None:
    _edit(copy / "pyproject.toml", '"Django>=5.2,<5.3",', '"Django>=9.0",')

    result = _check(copy)

    assert result.returncode == 1
    assert re.search(r"requirements/base\.txt: Django==\S+ is outside >=9\.0", result.stderr)
    assert re.search(r"requirements/dev\.txt: Django==\S+ is outside >=9\.0", result.stderr)


def test_a_dev_dependency_added_without_relocking_fails_only_the_dev_lock(copy: Path) -> None:
    _edit(copy / "pyproject.toml", '"pytest>=8",', '"pytest>=8",\n    "pytest-randomly>=3",')

    result = _check(copy)

    assert result.returncode == 1
    assert "requirements/dev.txt: pytest-randomly>=3" in result.stderr
    assert "requirements/base.txt" not in result.stderr


def test_a_removed_dependency_still_locked_fails(copy: Path) -> None:
    _edit(copy / "pyproject.toml", '    "django-htmx>=1.19",\n', "")

    result = _check(copy)

    assert result.returncode == 1
    assert "pins django-htmx==" in result.stderr
    assert "no longer lists it" in result.stderr


def test_a_pin_without_hashes_fails(copy: Path) -> None:
    lock = copy / "requirements" / "base.txt"
    text = lock.read_text(encoding="utf-8")
    lock.write_text(
        re.sub(r"(?m)^(amqp==\S+) \\\n(\s+--hash=\S+ \\\n)*\s+--hash=\S+\n", r"\1\n", text),
        encoding="utf-8",
    )

    result = _check(copy)

    assert result.returncode == 1
    assert "amqp==" in result.stderr
    assert "has no --hash" in result.stderr


def test_base_and_dev_pinning_different_versions_fails(copy: Path) -> None:
    lock = copy / "requirements" / "base.txt"
    text = lock.read_text(encoding="utf-8")
    lock.write_text(re.sub(r"(?m)^amqp==\S+", "amqp==0.0.1", text), encoding="utf-8")

    result = _check(copy)

    assert result.returncode == 1
    assert "base.txt pins amqp==0.0.1 but requirements/dev.txt pins" in result.stderr


def test_a_missing_lock_fails(copy: Path) -> None:
    (copy / "requirements" / "dev.txt").unlink()

    result = _check(copy)

    assert result.returncode == 1
    assert "requirements/dev.txt is missing" in result.stderr


def test_make_installs_from_the_lock_with_hashes_and_again_when_it_changes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    stamp_rule = re.search(r"(?ms)^\$\(STAMP\):(.*?)^\S", makefile)

    assert stamp_rule
    assert "$(LOCK)" in stamp_rule.group(1).splitlines()[0]
    assert "pip install --quiet --require-hashes -r $(LOCK)" in stamp_rule.group(1)
    assert "--no-deps -e ." in stamp_rule.group(1)
    assert "LOCK := requirements/dev.txt" in makefile
    assert re.search(r"(?m)^lint:.*\n\t\$\(BIN\)/python bin/check_lock.py$", makefile)


def test_the_image_installs_the_production_lock_on_an_exact_base_image() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"(?m)^FROM (\S+)", dockerfile)

    assert base
    # python:<major>.<minor>.<patch>-slim-<debian release>, optionally @sha256:…
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base.group(1))
    assert "pip install --require-hashes --no-deps -r requirements/base.txt" in dockerfile
    assert "pip install ." not in dockerfile
