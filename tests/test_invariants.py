"""Invariants a behaviour-free restructuring must keep: snapshots of what the outside world sees.

Moving code between modules and folders must not change:

- the URL routes: every full pattern (includes joined) and its fully namespaced name
  (``snapshots/routes.json``); every named route still resolves back to itself, so include order
  still lets the literal routes win; and every route's view imports from its dotted path;
- the Celery task names a worker registers after autodiscovery, and the beat schedule
  (``snapshots/celery.json``); every beat entry names a registered task;
- the API schema's paths, methods, operationIds and component names (``snapshots/api_schema.json``);
- every model's label and database table, auto-created M2M through tables included
  (``snapshots/db_tables.json``).

Where a view's code lives (its module) is deliberately NOT snapshotted: a move is expected to
change it. What is checked instead is that every route's view resolves to a callable.

Regenerating the snapshots ON PURPOSE (a route, task, endpoint or model really was added,
renamed or removed)::

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_invariants.py -p no:randomly
    git diff tests/snapshots/        # review: every line of the diff must be intended

With UPDATE_SNAPSHOTS=1 each snapshot test rewrites its file and then FAILS with "snapshots
rewritten, review the diff", so a run that rewrites snapshots can never pass; run the tests again
without the variable to see them green. The files are sorted JSON, one entry per line.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE_VARIABLE = "UPDATE_SNAPSHOTS"


# ---------------------------------------------------------------------------------------------
# Snapshot files and their differences
# ---------------------------------------------------------------------------------------------


def _render(data: Any) -> str:
    """Sorted JSON, one entry per line (lists are sorted; object keys too)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _entries(data: Any, key: tuple[str, ...] = ()) -> dict[tuple[str, ...], str | None]:
    """Each leaf of `data` by its key path: an object's entry maps to its JSON value, a list's
    member to None (a member has no value; it is there or not)."""
    if isinstance(data, dict):
        found: dict[tuple[str, ...], str | None] = {}
        for name, value in data.items():
            found.update(_entries(value, (*key, str(name))))
        return found
    if isinstance(data, list):
        return {(*key, str(member)): None for member in data}
    return {key: json.dumps(data, ensure_ascii=False)}


def _describe(key: tuple[str, ...], value: str | None) -> str:
    return " ".join(key) + ("" if value is None else f" → {value}")


def _difference(expected: Any, actual: Any) -> list[str]:
    """Lines naming the removed, added and changed entries; empty when the two are equal."""
    before, after = _entries(expected), _entries(actual)
    removed = sorted(key for key in before if key not in after)
    added = sorted(key for key in after if key not in before)
    changed = sorted(key for key in before if key in after and before[key] != after[key])
    lines = [f"  - removed: {_describe(key, before[key])}" for key in removed]
    lines += [f"  + added:   {_describe(key, after[key])}" for key in added]
    lines += [f"  ~ changed: {' '.join(key)}: {before[key]} → {after[key]}" for key in changed]
    if not lines and _render(expected) != _render(actual):  # e.g. an emptied object
        lines.append("  ~ the structure changed (compare the files)")
    return lines


def assert_snapshot(name: str, actual: Any) -> None:
    """`actual` equals tests/snapshots/`name`; with UPDATE_SNAPSHOTS=1, rewrite it and fail."""
    path = SNAPSHOTS / name
    shown = path.relative_to(ROOT).as_posix()
    if os.environ.get(UPDATE_VARIABLE):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(_render(actual), encoding="utf-8")
        pytest.fail(
            f"snapshots rewritten, review the diff: git diff -- {shown} "
            f"(then run again without {UPDATE_VARIABLE})",
            pytrace=False,
        )
    if not path.exists():
        pytest.fail(
            f"{shown} is missing; create it with {UPDATE_VARIABLE}=1 and review it", pytrace=False
        )
    expected = json.loads(path.read_text(encoding="utf-8"))
    lines = _difference(expected, json.loads(_render(actual)))
    if lines:
        pytest.fail(
            "\n".join(
                [
                    f"{shown} no longer matches ({len(lines)} difference(s); "
                    "- only in the snapshot, + only now, ~ snapshot → now):",
                    *lines,
                    "A behaviour-free change must keep every entry. If the change is intended, "
                    f"regenerate with {UPDATE_VARIABLE}=1 (see this module's docstring) and review "
                    "the diff.",
                ]
            ),
            pytrace=False,
        )


def _sorted_values(mapping: dict[str, list[str]]) -> dict[str, list[str]]:
    return {key: sorted(values) for key, values in mapping.items()}


# ---------------------------------------------------------------------------------------------
# 1. URL routes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pattern: str  # every pattern of the include chain joined, as text (Django's own str())
    name: str | None  # fully namespaced, e.g. "integrations:detail"; None when unnamed
    pattern_objects: tuple[Any, ...]  # the RoutePattern/RegexPattern of each level
    view: Any  # the URLPattern's callback


def routes() -> list[Route]:
    """Every URL route, in resolution order."""

    def walk(
        patterns: list[Any], prefix: str, namespaces: tuple[str, ...], chain: tuple[Any, ...]
    ) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
                yield from walk(
                    entry.url_patterns,
                    prefix + str(entry.pattern),
                    inner,
                    (*chain, entry.pattern),
                )
            elif isinstance(entry, URLPattern):
                yield Route(
                    pattern=prefix + str(entry.pattern),
                    name=":".join((*namespaces, entry.name)) if entry.name else None,
                    pattern_objects=(*chain, entry.pattern),
                    view=entry.callback,
                )

    return list(walk(get_resolver().url_patterns, "", (), ()))


def _routes_snapshot() -> dict[str, str | None]:
    snapshot: dict[str, str | None] = {}
    for route in routes():
        key, copy = route.pattern, 1
        while key in snapshot:  # a pattern twice (the second can never match): keep both
            copy += 1
            key = f"{route.pattern} (#{copy})"
        snapshot[key] = route.name
    return snapshot


def test_url_routes_keep_their_patterns_and_names() -> None:
    assert_snapshot("routes.json", _routes_snapshot())


_SAMPLES: tuple[object, ...] = (uuid.UUID("12345678-1234-4678-9234-567812345678"), 7, "sample")


def _sample_kwargs(route: Route) -> dict[str, object]:
    """A value every converter of the route accepts, by keyword."""
    kwargs: dict[str, object] = {}
    for pattern in route.pattern_objects:
        for keyword, converter in pattern.converters.items():
            kwargs[keyword] = next(
                sample for sample in _SAMPLES if re.fullmatch(converter.regex, str(sample))
            )
    return kwargs


def test_every_named_route_resolves_back_to_itself() -> None:
    """Include order decides which of two overlapping routes wins (resolving stops at the first
    match), e.g. /candidates/invite/ over /candidates/<uuid:code>/: the URL reversed from each name
    must still resolve to that name. Regex routes (only the admin's) have no converters to fill
    and are left out."""
    checked, wrong = 0, []
    for route in routes():
        if route.name is None or any(isinstance(p, RegexPattern) for p in route.pattern_objects):
            continue
        url = reverse(route.name, kwargs=_sample_kwargs(route))
        resolved = resolve(url).view_name
        checked += 1
        if resolved != route.name:
            wrong.append(f"  {url} ({route.pattern}) resolves to {resolved}, not {route.name}")

    assert checked > 0
    assert not wrong, "routes shadowed by another route:\n" + "\n".join(wrong)


def _import_dotted(module_name: str, qualname: str) -> Any:
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def test_every_route_view_resolves_to_a_callable() -> None:
    """Each route's view is callable and importable from its dotted path (module + qualname; the
    view class for class-based views). The paths themselves are expected to change in a move."""
    problems = []
    for route in routes():
        target = getattr(route.view, "view_class", route.view)
        dotted = f"{target.__module__}.{target.__qualname__}"
        if not callable(route.view):
            problems.append(f"  {route.pattern}: the view {dotted} is not callable")
            continue
        try:
            imported = _import_dotted(target.__module__, target.__qualname__)
        except (ImportError, AttributeError) as error:
            problems.append(f"  {route.pattern}: {dotted} does not import ({error!r})")
            continue
        if not callable(imported):
            problems.append(f"  {route.pattern}: {dotted} is not callable")

    assert not problems, "views that do not resolve to a callable:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# 2. Celery tasks and the beat schedule
# ---------------------------------------------------------------------------------------------

# What `celery -A karatlever worker` does before it consumes: import the app, then the default
# modules (the Django fixup runs django.setup() and the system checks; autodiscovery imports each
# installed app's tasks module). In a fresh interpreter, so tasks imported by this test process
# for other reasons (views, tests) cannot stand in for tasks autodiscovery no longer finds.
_CELERY_PROBE = """
import json
from karatlever.celery import app

app.loader.import_default_modules()
print(json.dumps({
    "tasks": sorted(app.tasks),
    "beat_schedule": {name: entry["task"] for name, entry in app.conf.beat_schedule.items()},
}))
"""


@pytest.fixture(scope="module")
def celery_registry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The registered task names (Celery's own `celery.*` left out) and the beat schedule
    (entry name -> task name), as a worker started now would have them."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "karatlever.settings",
        # The broker and beat folders a worker makes on start go to a scratch folder.
        "KARATLEVER_VAR_DIR": str(tmp_path_factory.mktemp("celery-var")),
    }
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", _CELERY_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    probed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    probed["tasks"] = [name for name in probed["tasks"] if not name.startswith("celery.")]
    return probed


def test_celery_task_names_and_beat_schedule_stay(celery_registry: dict[str, Any]) -> None:
    assert_snapshot("celery.json", celery_registry)


def test_every_beat_entry_names_a_registered_task(celery_registry: dict[str, Any]) -> None:
    registered = set(celery_registry["tasks"])
    schedule: dict[str, str] = celery_registry["beat_schedule"]
    unknown = {entry: task for entry, task in schedule.items() if task not in registered}

    assert schedule, "the beat schedule is empty"
    assert not unknown, "beat entries naming no registered task:\n" + "\n".join(
        f"  {entry} → {task}" for entry, task in sorted(unknown.items())
    )


# ---------------------------------------------------------------------------------------------
# 3. The API schema (drf-spectacular)
# ---------------------------------------------------------------------------------------------


def _schema_snapshot() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = {
        path: {method: operation.get("operationId") for method, operation in item.items()}
        for path, item in schema["paths"].items()
    }
    components = _sorted_values(
        {section: list(entries) for section, entries in schema.get("components", {}).items()}
    )
    return {"paths": paths, "components": components}


def test_api_schema_keeps_its_operations_and_components() -> None:
    """Paths, each path's methods with their operationIds, and the components' names."""
    assert_snapshot("api_schema.json", _schema_snapshot())


# ---------------------------------------------------------------------------------------------
# 4. Models and their tables
# ---------------------------------------------------------------------------------------------


def _is_project_app(app_path: str) -> bool:
    path = Path(app_path).resolve()
    return path.is_relative_to(ROOT) and not path.is_relative_to(ROOT / ".venv")


def _tables_snapshot() -> dict[str, str]:
    return {
        model._meta.label: model._meta.db_table
        for config in apps.get_app_configs()
        if _is_project_app(config.path)
        for model in config.get_models(include_auto_created=True)
    }


def test_project_models_keep_their_labels_and_tables() -> None:
    """Every model of the project's own apps (karatlever.*, integrations, webhooks, and any app
    made inside this checkout), M2M through tables included: label -> db_table."""
    tables = _tables_snapshot()

    assert any(label.startswith("integrations.") for label in tables)
    assert_snapshot("db_tables.json", tables)
