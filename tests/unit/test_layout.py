"""The architecture, checked: rooms that import only what their rules allow, no import cycle,
no project import hidden in a function, facades with `__all__`, short functions, a true layout
table."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.workspace import ROOT

PACKAGES = ("bot", "index", "reader")
# Packages whose modules code outside them may not import: only the facade (`__init__`).
FACADES = ("bot.engine", "bot.state", "bot.chat", "bot.i18n", "bot.render", "index.build",
           "index.sources", "index.encoders", "index.pg", "reader", "reader.train")
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


MODULES = project_modules()


def imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import in a file; `from p import m`
    yields `p.m` when `m` is a module of the project."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST, in_function: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            local = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, in_function
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1]
                                    + ([base] if base else []))
                yield base, child.lineno, in_function  # runs `base/__init__` first
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    if sub in MODULES:
                        yield sub, child.lineno, in_function
            else:
                yield from visit(child, local)

    yield from visit(tree, False)


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in imports(path):
            if target in MODULES and target != name:
                edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            connect(node)
    return found


def test_no_import_cycle_among_the_projects_modules() -> None:
    assert cycles(graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_project_import_hides_inside_a_function() -> None:
    hidden = [f"{path.relative_to(ROOT)}:{line} imports {target}"
              for path in [*MODULES.values(), ROOT / "build_index.py"]
              for target, line, local in imports(path)
              if local and target.split(".")[0] in PACKAGES]
    assert hidden == []


def offending(room: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {target}"
            for name, path in MODULES.items() if name == room or name.startswith(room + ".")
            for target, line, _ in imports(path)
            if any(target == f or target.startswith(f + ".") for f in forbidden)]


@pytest.mark.parametrize(("room", "forbidden"), [
    ("index", ("bot",)),
    ("reader", ("bot",)),
    # The run time reads with ONNX Runtime and the fast tokenizer only (no torch import).
    ("reader.model", ("torch", "transformers", "sentence_transformers", "reader.train")),
    ("reader.text", ("torch", "transformers", "sentence_transformers", "reader.train")),
    ("bot.engine", ("telegram", "bot.state", "bot.chat", "bot.render", "sqlalchemy")),
    ("bot.state", ("telegram", "bot.chat", "bot.engine", "bot.render", "faiss")),
    # Presentation turns answers into text and HTML: it sends nothing, serves nothing, stores
    # nothing (the article page's web server is bot.chat's).
    ("bot.render", ("telegram", "tornado", "bot.state", "bot.chat", "sqlalchemy")),
    ("bot.i18n", ("telegram", "bot.chat", "bot.engine", "bot.state", "bot.render", "index")),
    ("bot.chat", ("faiss", "numpy", "sqlite3", "sqlalchemy", "torch", "onnxruntime",
                  "sentence_transformers", "index.encoders", "index.store", "index.reader",
                  "index.lexical", "index.database", "bot.state.store", "bot.state.schema")),
])
def test_each_room_imports_only_what_its_rule_allows(room: str, forbidden: tuple[str, ...]) -> None:
    assert offending(room, forbidden) == []


def test_code_outside_a_package_imports_only_its_facade() -> None:
    leaks = [f"{path.relative_to(ROOT)}:{line} imports {target}"
             for name, path in [*MODULES.items(), ("build_index", ROOT / "build_index.py")]
             for target, line, _ in imports(path)
             for facade in FACADES
             if target.startswith(facade + ".") and not name.startswith(facade)]
    assert leaks == []


def test_every_package_names_its_public_api() -> None:
    missing = [name for name, path in MODULES.items() if path.name == "__init__.py"
               and name in FACADES + PACKAGES and "__all__" not in path.read_text()]
    assert missing == []


def test_no_function_is_longer_than_a_screen() -> None:
    long = []
    for folder in ("bot", "index", "reader", "benchmarks", "tests/support"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {lines}")
    assert long == []


def test_the_readmes_layout_table_names_every_folder_and_only_those() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([\w./-]+/)`", section, flags=re.MULTILINE))
    packages = {str(p.parent.relative_to(ROOT)) + "/" for pkg in PACKAGES
                for p in (ROOT / pkg).rglob("__init__.py") if "migrations" not in p.parts}
    folders = packages | {"tests/support/", "tests/unit/", "tests/e2e/", "benchmarks/",
                          "deploy/", "docs/", "corpus/"}
    assert {f for f in folders if (ROOT / f).is_dir()} == listed
