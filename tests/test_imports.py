"""Imports inside ``rag`` go one way: the module graph has no cycle.

Every import counts, also one inside a function (a lazy import hides a cycle; it does not remove
it): the graph is read from the source with ``ast``, nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rag"


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the modules of the package it imports (``from a import b`` counts ``a.b`` when
    ``b`` is a module, else ``a``)."""
    modules = _modules(root)
    top = root.name

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}".rstrip(".")
                targets.update(f"{base}.{a.name}" for a in node.names)
        resolved = {known(t) for t in targets if t == top or t.startswith(top + ".")}
        graph[name] = {t for t in resolved if t and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as a path (first node repeated at the end), or [] when there is none.

    >>> find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}})
    ['a', 'b', 'c', 'a']
    >>> find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}})
    []
    """
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        stack, path, on_path = [(start, iter(sorted(graph[start])))], [start], {start}
        while stack:
            node, nexts = stack[-1]
            step = next(nexts, None)
            if step is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
            elif step in on_path:
                return path[path.index(step) :] + [step]
            elif step not in done:
                stack.append((step, iter(sorted(graph.get(step, ())))))
                path.append(step)
                on_path.add(step)
    return []


def test_the_graph_reader_sees_lazy_and_relative_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n")
    (package / "b.py").write_text("from .sub import c\nimport os\n")
    (package / "sub" / "c.py").write_text("from ..a import f\n")
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub.c"] == {"pkg.a"}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]


def test_rag_imports_have_no_cycle():
    graph = import_graph()
    assert {"rag.cli", "rag.server", "rag.readers.pdf"} <= graph.keys()
    cycle = find_cycle(graph)
    assert not cycle, " → ".join(cycle)


def test_answers_are_worded_in_one_module_the_routes_share():
    """The API, the OpenAI route and the bots each import ``rag.replies``, not one another."""
    graph = import_graph()
    bots = {m for m in graph if m.startswith("rag.integrations")}
    assert "rag.replies" in graph["rag.api"] & graph["rag.openai_compat"]
    assert not graph["rag.openai_compat"] & bots
    assert not graph["rag.openai_compat"] & {"rag.api", "rag.web"}
    for bot in bots:
        assert not graph[bot] & {"rag.api", "rag.openai_compat", "rag.web"}, bot
