"""The layout's rules, checked on the source: one ATS boundary, and hiring below integrations."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from integrations.ats import ADAPTERS

ROOT = Path(__file__).resolve().parent.parent
# Only integrations/lever/ speaks Lever (docs/architecture.md, layer 4). The two allowed
# exceptions are commands that exist to drive Lever-shaped things locally: lever_sandbox serves
# the local stand-in Lever (integrations/lever/sandbox/), and seed_demo, which sits above every
# other app, seeds the demo integration with the sandbox's demo key and links the demo
# candidacies to the sandbox's opportunities (integrations/lever/sandbox/demo.py).
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


# --- one folder per feature (docs/architecture.md) --------------------------------------------
# A feature folder inside `integrations` (connection/, invites/, …) uses another feature only
# through that feature's services or selectors, or through one of these leaves, each a
# deliberate public entry point that imports no feature: the status-recompute request every
# service makes, and the one pure role-matching rule that invites apply too.
PUBLIC_LEAVES = ("integrations.status.refresh", "integrations.roles.matching")
# Every package in integrations/ is a feature, so a new folder is checked without a line here;
# but an ATS's folder (each named in ats.ADAPTERS), the commands and the migrations.
NOT_FEATURES = {target.split(".")[1] for target in ADAPTERS.values()} | {
    "management",
    "migrations",
}
FEATURES = tuple(
    sorted(
        path.name
        for path in (ROOT / "integrations").iterdir()
        if (path / "__init__.py").is_file() and path.name not in NOT_FEATURES
    )
)


def test_the_feature_folders_are_found_and_no_ats_folder_is_one() -> None:
    assert {"connection", "invites", "status", "outbound", "deletions"} <= set(FEATURES)
    assert "lever" not in FEATURES


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in _sources("integrations", "webhooks")}


def _imported_modules(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports when it runs, at any depth of the file (lazy
    imports included, ``if TYPE_CHECKING:`` blocks not): ``from a.b import c`` is ``a.b.c``
    when that is a module, else ``a.b``."""
    return _imports_in(ast.parse(path.read_text(), filename=str(path)), modules)


def _imports_in(tree: ast.Module, modules: dict[str, Path]) -> set[str]:
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in modules else node.module)
    found: set[str] = set()
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name not in ("integrations", "webhooks"):
            found.add(name)
    return found


def _feature_of(module: str) -> str | None:
    parts = module.split(".")
    return (
        parts[1] if parts[0] == "integrations" and len(parts) > 2 and parts[1] in FEATURES else None
    )


def _through_services_or_selectors(module: str) -> bool:
    parts = module.split(".")
    return module in PUBLIC_LEAVES or (len(parts) > 2 and parts[2] in ("services", "selectors"))


MODULES = _project_modules()


@pytest.mark.parametrize("module", sorted(MODULES), ids=str)
def test_a_feature_uses_another_only_through_its_services_or_selectors(module: str) -> None:
    own = _feature_of(module)
    wrong = sorted(
        target
        for target in _imported_modules(MODULES[module], MODULES)
        if (feature := _feature_of(target)) is not None
        and feature != own
        and not _through_services_or_selectors(target)
        # The URL and API route lists are composed at the app's root from every feature.
        and module not in ("integrations.urls", "integrations.api_urls")
    )

    assert wrong == [], f"{module} reaches into another feature: {wrong}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.endswith(".selectors")), ids=str)
def test_selectors_never_import_services(module: str) -> None:
    services = sorted(
        target for target in _imported_modules(MODULES[module], MODULES) if ".services" in target
    )

    assert services == [], f"{module} imports services: {services}"


def test_features_report_their_health_from_a_health_module_that_only_reads() -> None:
    healths = sorted(m for m in MODULES if m.endswith(".health"))
    importers = sorted(
        f"{module} imports {target}"
        for module, path in MODULES.items()
        for target in _imported_modules(path, MODULES)
        if target in healths
    )
    writers = sorted(
        f"{module} imports {target}"
        for module in healths
        for target in _imported_modules(MODULES[module], MODULES)
        if ".services" in target
    ) + sorted(f"{module}: {call}" for module in healths for call in _writes(MODULES[module]))

    assert len(healths) >= 5  # one per feature on the status page (integrations/features.py)
    assert importers == [], "a health module is named in integrations/features.py, never imported"
    assert writers == [], "a health module only reads (selectors, models, the ATS)"


# Calls that write rows whatever they are called on; ``update`` only on a query (``dict.update``
# is a read's bookkeeping).
_ROW_WRITES = {"save", "delete", "create", "bulk_create", "bulk_update", "get_or_create"}
_ROW_WRITES |= {"update_or_create"}


def _writes(path: Path) -> list[str]:
    """The row-writing calls in ``path``, as source text with their line number."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        on = node.func.value
        query = isinstance(on, ast.Call) or ".objects" in f".{ast.unparse(on)}"
        if node.func.attr in _ROW_WRITES or (node.func.attr == "update" and query):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_the_write_finder_sees_row_writes_and_not_a_dicts_update(tmp_path: Path) -> None:
    source = tmp_path / "health.py"
    source.write_text(
        "detail.update(counts)\n"
        "Row.objects.filter(pk=1).update(x=1)\n"
        "row.save()\n"
        "Row.objects.create(x=1)\n"
    )

    assert [line.split(":")[0] for line in _writes(source)] == ["line 2", "line 3", "line 4"]


def _module_level_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """What ``_imported_modules`` finds in ``path`` outside any function body (what importing
    the module runs)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.body = [ast.Pass()]
    return _imports_in(tree, modules)


def test_the_status_recompute_leaf_imports_only_models() -> None:
    path = ROOT / "integrations/status/refresh.py"

    # Its task only lazily, inside the function that publishes it: tasks import services,
    # which import this leaf.
    assert _imported_modules(path, MODULES) <= {"integrations.models", "integrations.tasks"}
    assert _module_level_imports(path, MODULES) <= {"integrations.models"}


def test_no_import_cycle_among_integrations_and_webhooks_besides_tasks() -> None:
    """Tasks import their service lazily and services publish tasks lazily
    (docs/architecture.md): those edges are dropped; every other import is a one-way street."""
    graph = {
        module: {
            target
            for target in _imported_modules(path, MODULES)
            if not target.endswith(".tasks") and target != module
        }
        for module, path in MODULES.items()
        if not module.endswith(".tasks")
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)

    assert cycles == [], "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)
