"""The layout's rules, checked on the source: one ATS boundary, and hiring below integrations."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Code that may speak Lever directly besides the adapter's own folder (DESIGN.md "Layout").
LEVER_ALLOWED = (
    "integrations/lever/",
    "integrations/management/commands/lever_sandbox.py",
    "karatlever/demo/management/commands/seed_demo.py",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _sources(*packages: str) -> list[Path]:
    return sorted(
        path
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


@pytest.mark.parametrize(
    "path",
    _sources("integrations", "webhooks", "karatlever"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_lever_adapter_imports_lever_code(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    if relative.startswith(LEVER_ALLOWED):
        return

    lever = sorted(name for name in _imports(path) if name.startswith("integrations.lever"))

    assert lever == [], f"{relative} imports Lever code; go through integrations.ats instead"


@pytest.mark.parametrize("path", _sources("karatlever/hiring"), ids=lambda p: p.name)
def test_hiring_never_imports_integrations_or_webhooks(path: Path) -> None:
    imported = _imports(path)

    assert not any(name.startswith(("integrations", "webhooks")) for name in imported)


@pytest.mark.parametrize("path", _sources("integrations/lever"), ids=lambda p: p.name)
def test_the_lever_client_code_never_imports_models(path: Path) -> None:
    if path.name == "base.py":  # WebhookEvent is a TextChoices (django.db.models), not a model
        return

    imported = _imports(path)

    assert not any(name.endswith(".models") or ".models." in name for name in imported)
