"""The package tree keeps its layers: errors -> format -> values -> io -> front-ends (plugin, cli, rsciio,
fuse); inside io: storage -> codec -> reader -> stats -> writer -> validate, zarr -> batch.

Every import in every module (top-level and inside functions) is read with ``ast``; a module may import
only its own layer or lower ones, the import graph has no cycles, no module passes 400 lines, and the
front-ends parse no bytes themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "napari_mrcz"
MAX_LINES = 400
RANK = {"errors": 0, "_version": 0, "config": 0, "format": 1, "values": 2, "io": 3,
        "plugin": 4, "cli": 4, "rsciio": 4, "fuse": 4}
IO_RANK = {"storage": 0, "codec": 1, "reader": 2, "stats": 3, "writer": 4, "validate": 5, "zarr": 5, "batch": 6}
FRONT_ENDS = ("plugin", "cli", "rsciio", "fuse")
COMMANDS = {("cli", "fuse")}  # the CLI starts this front-end (``napari-mrcz mount``)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The package modules ``name`` imports (resolved to module names present in the tree)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from pkg import module`` imports the module, not the package's own code
            candidates = [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found.update(c for c in candidates if c in MODULES and c != name)
    return found


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package itself (may import everything)


def io_layer(name: str) -> str | None:
    """The sub-package of io a module belongs to (None: io's own __init__)."""
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "io" else None


def test_tree_has_layers() -> None:
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert {"format", "values", "io", "plugin", "cli"} <= subpackages
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text()))
        where = init.relative_to(PACKAGE.parent)
        assert doc and "import" in doc, f"{where} must say what the package may import"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_lower_layers(name: str) -> None:
    mine = layer(name)
    if mine is None or mine == "__main__":
        return
    for target in imports_of(name):
        theirs = layer(target)
        assert theirs is not None, f"{name} imports the package root {target}"
        assert RANK[theirs] <= RANK[mine], f"{name} ({mine}) imports {target} ({theirs}), a higher layer"
        if mine in FRONT_ENDS and theirs in FRONT_ENDS:
            assert mine == theirs or (mine, theirs) in COMMANDS, f"front-end {name} imports another front-end, {target}"
        if mine == theirs == "io" and io_layer(name) and io_layer(target):
            assert IO_RANK[io_layer(target)] <= IO_RANK[io_layer(name)], (  # type: ignore[index]
                f"{name} imports {target}: io.{io_layer(target)} comes after io.{io_layer(name)}"
            )


def test_no_import_cycles() -> None:
    graph = {name: imports_of(name) for name in MODULES}
    # A package's __init__ importing its own modules is how re-exports work, not a cycle of code.
    for name in graph:
        if MODULES[name].name == "__init__.py":
            graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by responsibility"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) in FRONT_ENDS))
def test_front_ends_parse_no_bytes(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("frombuffer", "fromfile"), f"{name} parses bytes (np.{node.attr})"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert "struct" not in names, f"{name} imports struct"
