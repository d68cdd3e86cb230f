"""The import rules of DESIGN.md, checked by tools rather than by memory.

- import-linter runs the contracts in pyproject.toml ([tool.importlinter]);
- no two modules of studio or backends import each other, directly or round a loop;
- no module imports another module's private (`_name`) names.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("studio", "backends")


def test_import_linter_contracts_hold() -> None:
    # The same check as `lint-imports` in the project folder, with the interpreter running the
    # tests (so its packages), and no cache written into the working tree.
    command = [sys.executable, "-c",
               "import sys; from importlinter.cli import lint_imports_command; "
               "sys.exit(lint_imports_command())",
               "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (
        f"import-linter found broken contracts (exit {done.returncode}):\n"
        f"{done.stdout}{done.stderr}")


def _import_cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Groups of modules that import each other round a loop (Tarjan's strongly connected
    components, iteratively), each sorted, only groups of two or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & modules)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            following = next(imported, None)
            if following is not None:
                if following not in index:
                    index[following] = low[following] = len(index)
                    stack.append(following)
                    on_stack.add(following)
                    work.append((following, iter(sorted(
                        graph.find_modules_directly_imported_by(following) & modules))))
                elif following in on_stack:
                    low[module] = min(low[module], index[following])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return sorted(cycles)


def _describe(graph: grimp.ImportGraph, group: list[str]) -> str:
    members = set(group)
    lines = [" <-> ".join(group)]
    for importer in group:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            for detail in graph.get_import_details(importer=importer, imported=imported) or [
                    {"line_number": "?", "line_contents": f"import of {imported}"}]:
                lines.append(f"    {importer} (l.{detail['line_number']}): "
                             f"{detail['line_contents']}")
    return "\n".join(lines)


def test_no_import_cycles() -> None:
    # Imports inside functions count: a cycle hidden in a function still ties the modules
    # together, and breaks the moment someone moves the import up.
    graph = grimp.build_graph(*PACKAGES)
    modules = {m for m in graph.modules if m.split(".")[0] in PACKAGES}
    cycles = _import_cycles(graph, modules)
    assert not cycles, ("Modules that import each other (move what they share into a module "
                        "both import):\n" + "\n".join(_describe(graph, c) for c in cycles))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def private_imports() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.ImportFrom):
                    continue
                source = _imported_from(node, module, path.name == "__init__.py")
                if source.split(".")[0] not in PACKAGES:
                    continue
                for alias in node.names:
                    name = alias.name
                    if name.startswith("_") and not (name.startswith("__")
                                                     and name.endswith("__")):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                                     f"from {source} import {name}")
    return found


def test_no_module_imports_a_private_name_of_another() -> None:
    found = private_imports()
    assert not found, ("A leading underscore means 'only this module uses it'. Make these "
                       "public (and name them for what they are) or move them to a module both "
                       "share:\n" + "\n".join(found))


def test_the_cycle_finder_finds_loops_and_only_loops() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.d", "p.a"),
                               ("p.e", "p.f"), ("p.f", "p.e")]:
        graph.add_import(importer=importer, imported=imported)
    assert _import_cycles(graph, set(graph.modules)) == [["p.a", "p.b", "p.c"], ["p.e", "p.f"]]
