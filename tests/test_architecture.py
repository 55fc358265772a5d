"""The tree shows the architecture, and these tests hold it to it.

Read from the source (the AST), never by importing: a module's imports, including those inside functions
(lazy imports to keep hand-run commands quick are still dependencies), decide its room's dependencies.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PROJECT

ROOT_PACKAGE = "sendflow"
# Each room and the rooms it may import. The order is the layering: nothing imports a room after it.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "transforms": {"core"},
    "warehouse": {"core"},
    "expectations": {"core", "transforms", "warehouse"},
    "registry": {"core", "transforms", "expectations", "warehouse"},
    "intake": {"core", "transforms"},
    "synthetic": {"core", "transforms", "warehouse"},
    "reports": {"core", "transforms", "warehouse", "registry"},
    "loading": {"core", "transforms", "expectations", "warehouse", "registry", "intake"},
    "landing": {"core", "intake"},
    "web": {"core"},
    "flows": {
        "core", "transforms", "expectations", "warehouse", "registry", "intake", "loading", "landing", "reports",
        "synthetic", "web",
    },
    "cli": {
        "core", "transforms", "expectations", "warehouse", "registry", "intake", "loading", "landing", "reports",
        "synthetic", "web", "flows",
    },
}  # fmt: skip
ROOMS = tuple(ALLOWED)
NOT_SOURCES = (
    ".git",
    ".venv",
    "var",
    "build",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
)


@dataclass
class Module:
    name: str  # sendflow.<room>.<...>
    path: Path
    tree: ast.Module
    imports: set[str] = field(default_factory=set)  # sendflow modules it imports (anywhere in the file)

    @property
    def room(self) -> str:
        return self.name.split(".")[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((ROOT_PACKAGE, *parts))


def _resolve(name: str, known: set[str]) -> str:
    """`from sendflow.a.b import c` imports module sendflow.a.b.c when that is a module, else sendflow.a.b."""
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _modules() -> dict[str, Module]:
    modules = {}
    for room in ROOMS:
        for path in sorted((PROJECT / room).rglob("*.py")):
            if "migrations" in path.parts and "versions" in path.parts:
                continue  # frozen Alembic revisions import only Alembic and SQLAlchemy
            modules[_module_name(path)] = Module(_module_name(path), path, ast.parse(path.read_text(encoding="utf-8")))
    known = set(modules)
    for module in modules.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith(ROOT_PACKAGE + "."):
                    for alias in node.names:
                        module.imports.add(_resolve(f"{node.module}.{alias.name}", known))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(ROOT_PACKAGE + "."):
                        module.imports.add(_resolve(alias.name, known))
        module.imports.discard(module.name)
    return modules


MODULES = _modules()


def _python_files() -> Iterator[Path]:
    for folder in (*ROOMS, "tests", "bench"):
        yield from sorted((PROJECT / folder).rglob("*.py"))


def test_every_room_is_linked_under_the_one_import_root() -> None:
    root = PROJECT / ROOT_PACKAGE
    linked = {p.name for p in root.iterdir() if p.is_symlink()}
    assert linked == set(ROOMS)
    for room in ROOMS:
        assert (root / room).resolve() == (PROJECT / room).resolve()
        assert (PROJECT / room / "__init__.py").is_file(), f"{room}/ is a package"


def test_nothing_imports_a_room_by_its_bare_name() -> None:
    """`import flows` would load a second copy of a module beside `sendflow.flows` (and fails once installed)."""
    bare = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names, line = [node.module], node.lineno
            elif isinstance(node, ast.Import):
                names, line = [alias.name for alias in node.names], node.lineno
            else:
                continue
            bare += [f"{path.relative_to(PROJECT)}:{line} {n}" for n in names if n.split(".")[0] in ROOMS]
    assert not bare, "import through sendflow.<room>: " + "; ".join(bare)


def test_each_room_imports_only_the_rooms_below_it() -> None:
    crossings = sorted(
        f"{module.name} imports {imported}"
        for module in MODULES.values()
        for imported in module.imports
        if (room := imported.split(".")[1]) != module.room and room not in ALLOWED[module.room]
    )
    assert not crossings, "\n".join(crossings)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph, if it has any (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == 1:
                return [*stack[stack.index(successor) :], successor]
            if successor not in state and (found := visit(successor)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_modules() -> None:
    # A package's __init__ is imported by its modules' importers, but imports nothing back: not an edge here.
    graph = {name: set(module.imports) for name, module in MODULES.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_import_cycle_between_rooms() -> None:
    graph: dict[str, set[str]] = {room: set() for room in ROOMS}
    for module in MODULES.values():
        graph[module.room] |= {i.split(".")[1] for i in module.imports} - {module.room}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def _uses_prefect() -> dict[str, bool]:
    """Every function in flows/ and whether it is Prefect's: it names Prefect (an import from prefect, a name,
    attribute or string about Prefect: its API, CLI, settings or prefect.yaml), or calls another flows/
    function that does, or is a private helper (`_name`) that only such functions call."""
    functions: dict[str, tuple[ast.AST, set[str]]] = {}
    imported: dict[str, set[str]] = {}
    for module in MODULES.values():
        if module.room != "flows":
            continue
        names: set[str] = set()
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("prefect", "sendflow.flows")):
                names |= {alias.asname or alias.name for alias in node.names}
        imported[module.name] = names
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                used |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
                docstring = ast.get_docstring(node, clean=False)
                used |= {
                    n.value
                    for n in ast.walk(node)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value != docstring
                }
                decorated = {ast.unparse(d) for d in node.decorator_list}
                functions[f"{module.name}.{node.name}"] = (node, used | decorated)

    def names_prefect(name: str, used: set[str]) -> bool:
        return bool(used & imported[name.rsplit(".", 1)[0]]) or any("prefect" in u.lower() for u in used)

    uses = {name: names_prefect(name, used) for name, (_, used) in functions.items()}
    by_short = {name.rsplit(".", 1)[1]: name for name in functions}
    callers = {name: {other for other, (_, used) in functions.items() if short in used and other != name}
               for short, name in by_short.items()}  # fmt: skip
    changed = True
    while changed:
        changed = False
        for name, (_, used) in functions.items():
            if uses[name]:
                continue
            calls_prefect = any(uses[by_short[u]] for u in used if u in by_short and by_short[u] != name)
            private_helper = (
                name.rsplit(".", 1)[1].startswith("_") and callers[name] and all(uses[c] for c in callers[name])
            )
            if calls_prefect or private_helper:
                uses[name] = changed = True
    return uses


def test_every_function_in_flows_uses_prefect() -> None:
    """flows/ is Prefect only: the work itself lives in the rooms named for it."""
    without = sorted(name for name, uses in _uses_prefect().items() if not uses)
    assert not without, "not Prefect, so not in flows/: " + ", ".join(without)


@pytest.mark.skipif(sys.platform != "linux", reason="builds a wheel with the venv's pip")
def test_a_built_wheel_installs_one_top_level_package(tmp_path: Path) -> None:
    """What `pip install sendflow` puts into site-packages: sendflow/ and its metadata, nothing generic."""
    # A copy of the tree (links kept as links), since a build writes build/ and *.egg-info beside its sources.
    source = tmp_path / "source"
    shutil.copytree(PROJECT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(source)],
        capture_output=True, text=True, env=environment, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("sendflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {ROOT_PACKAGE, next(t for t in top if t.endswith(".dist-info"))}, top
    for room in ROOMS:
        assert f"{ROOT_PACKAGE}/{room}/__init__.py" in names
    assert f"{ROOT_PACKAGE}/warehouse/reference/local_authorities.csv" in names
    assert any(n.startswith(f"{ROOT_PACKAGE}/warehouse/migrations/versions/") for n in names)
