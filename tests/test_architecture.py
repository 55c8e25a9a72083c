"""The layout is a contract: no import cycles, rich only in the CLI, no exec/eval, small modules.

The layers themselves are import-linter's contract in pyproject.toml (`make lint`); here the
things it does not check, on the same import graph (grimp), TYPE_CHECKING imports included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("uploader", "jobs")
MAX_LINES = 450


def product_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


async def test_no_import_cycle_among_modules() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False)
    modules = sorted(graph.modules)
    # Package __init__ re-exports import their own children: a package importing its child
    # is not a cycle of concepts, so edges into a module's own descendants are left out.
    edges = {
        m: {
            i
            for i in graph.find_modules_directly_imported_by(m)
            if i in graph.modules and not i.startswith(m + ".")
        }
        for m in modules
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(edges[module]):
            if state.get(imported) == 1:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in modules:
        if module not in state:
            visit(module, [module])
    assert cycles == []


async def test_rich_only_under_the_cli() -> None:
    importers = [
        str(path.relative_to(ROOT))
        for path in product_files()
        if _imports(path, "rich") and "uploader/cli/" not in path.as_posix()
    ]
    assert importers == []


@pytest.mark.parametrize("name", ["exec", "eval"])
async def test_no_exec_or_eval_in_product_code(name: str) -> None:
    callers = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in product_files()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]
    assert callers == []


async def test_no_product_module_is_over_450_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in product_files()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def _imports(path: Path, package: str) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(
            a.name == package or a.name.startswith(package + ".") for a in node.names
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and (node.module == package or node.module.startswith(package + "."))
        ):
            return True
    return False
