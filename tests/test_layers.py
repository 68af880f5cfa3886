"""The package's architecture, checked: no import cycles, and imports only run from higher layers to lower ones.

The layer order is written once, here. A module may import from its own layer
or any layer below; ``stance/__init__.py`` (the public face) and ``stance/_*``
helpers are outside the order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "stance"

# Lowest first. Each entry: a layer name and the subpackages / top-level modules in it.
LAYERS: list[tuple[str, set[str]]] = [
    ("core", {"errors"}),
    ("text-io", {"text", "io"}),
    ("modeling", {"modeling"}),
    ("inference", {"inference"}),
    ("fit", {"fit"}),
    ("capabilities", {"explain", "actors", "report"}),
    ("serving-scale", {"serving", "scale", "annotate"}),
    ("cli", {"cli"}),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every ``stance.*`` module this file imports (at any depth, lazy imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "stance"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "stance":
                continue
            found.add(target)
            for alias in node.names:  # `from stance.fit import trainer` imports a submodule
                found.add(f"{target}.{alias.name}")
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        graph[name] = {m for m in _imports(path, name) if m in files and m != name}
    return graph


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1].startswith("_"):
        return None
    for index, (_, members) in enumerate(LAYERS):
        if parts[1] in members:
            return index
    raise AssertionError(f"{module} belongs to no layer: add its subpackage to LAYERS in tests/test_layers.py")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of size > 1 (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer():
    for name in _graph():
        _layer(name)


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, f"import cycles in stance/: {cycles}"


def test_imports_only_go_down_the_layers():
    upward = []
    for module, targets in _graph().items():
        mine = _layer(module)
        if mine is None:
            continue
        for target in targets:
            theirs = _layer(target)
            if theirs is not None and theirs > mine:
                upward.append(f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})")
    assert not upward, "imports from a lower layer into a higher one:\n" + "\n".join(sorted(upward))


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from stance.fit.trainer import train\n", {"stance.fit.trainer", "stance.fit.trainer.train"}),
        (
            "def f():\n    from stance.inference import classifier\n",
            {"stance.inference", "stance.inference.classifier"},
        ),
        ("import stance.text.normalize\n", {"stance.text.normalize"}),
    ],
)
def test_the_checker_sees_imports(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert _imports(path, "stance.x.m") == expected


def test_the_checker_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
