"""The package's shape holds: stages import only from the top and from earlier stages, with no cycles,
and every command stays thin."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "patrol"
# The order data flows in (docs/architecture.md). The top holds what every stage shares.
STAGES = ("top", "inputs", "speech", "plan", "package", "vehicle", "review", "ledger", "commands")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES) else "top"


def _imports(path: Path) -> set[str]:
    """Every patrol module ``path`` imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("patrol")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("patrol"):
            out.add(node.module)
            base = node.module
            for a in node.names:  # `from patrol.speech import engines` imports a module
                if (PKG.parent / f"{base}.{a.name}".replace(".", "/")).with_suffix(".py").exists():
                    out.add(f"{base}.{a.name}")
    return out


def _graph() -> dict[str, set[str]]:
    mods = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for name, path in mods.items():
        deps = set()
        for imp in _imports(path):
            while imp not in mods and "." in imp:  # a name inside a module
                imp = imp.rsplit(".", 1)[0]
            if imp in mods and imp != name:
                deps.add(imp)
        graph[name] = deps
    return graph


def test_every_folder_is_a_known_stage():
    folders = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(STAGES[1:]), f"unknown stage folders: {folders - set(STAGES)}"


def _backward(graph: dict[str, set[str]]) -> list[str]:
    rank = {s: k for k, s in enumerate(STAGES)}
    return sorted(
        f"{mod} ({_stage(mod)}) imports {dep} ({_stage(dep)})"
        for mod, deps in graph.items()
        for dep in deps
        if rank[_stage(dep)] > rank[_stage(mod)]
    )


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_stage_imports_a_later_stage():
    backward = _backward(_graph())
    assert not backward, "backward arrows:\n" + "\n".join(backward)


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_a_backward_arrow_and_a_cycle(tmp_path, monkeypatch):
    """The walk itself works: a planted backward import and a planted cycle are both reported."""
    fake = tmp_path / "patrol"
    for stage in STAGES[1:]:
        (fake / stage).mkdir(parents=True)
        (fake / stage / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "inputs" / "a.py").write_text("from patrol.review.b import x\n")
    (fake / "review" / "b.py").write_text("def f():\n    from patrol.review.c import y\n")
    (fake / "review" / "c.py").write_text("from patrol.review import b\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    graph = _graph()
    assert _backward(graph) == ["patrol.inputs.a (inputs) imports patrol.review.b (review)"]
    assert _cycles(graph) == [["patrol.review.b", "patrol.review.c"]]


def test_commands_are_thin():
    """No command function body is longer than about 60 lines: the work is in the library."""
    long = []
    for path in sorted((PKG / "commands").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                body_lines = node.end_lineno - node.body[0].lineno + 1
                if body_lines > 60:
                    long.append(f"{path.name}:{node.name} ({body_lines} lines)")
    assert not long, f"too long: {long}"
    cli = (ROOT / "cli.py").read_text(encoding="utf-8")
    assert len(cli.splitlines()) < 60 and "def plan(" not in cli
