"""The floors of the house, read from every import statement (function-level ones too):

    vidrec.cli, vidrec.demo, vidrec.study     the top: dispatcher, demo, studies
    tuning            report                  tuning reads the trainer; report reads run
    trainer                                   folders and records, never the trainer
    pipeline                                  videos -> records (the record contract)
    vidrec.core                               errors, run-folder contract, progress, compat

A package imports only packages on floors below it (or itself); vidrec.core imports nothing
of the project. Data flows one way, so there is no circle between packages.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("vidrec", "pipeline", "trainer", "tuning", "report", "studies")
# package -> the packages it may import (besides itself)
ALLOWED = {
    "vidrec.core": set(),
    "studies": set(),
    "pipeline": {"vidrec.core"},
    "trainer": {"vidrec.core", "pipeline"},
    "tuning": {"vidrec.core", "pipeline", "trainer"},
    "report": {"vidrec.core", "pipeline"},
    "vidrec": {"vidrec.core", "pipeline", "trainer", "tuning", "report", "studies"},
}


def package_of(module: str) -> str | None:
    """The floor a dotted module name lives on (None: not the project's)."""
    if module == "vidrec.core" or module.startswith("vidrec.core."):
        return "vidrec.core"
    top = module.split(".")[0]
    return top if top in PROJECT else None


def imported(source: str, module: str) -> set[str]:
    """Every module an import statement of `source` names (relative ones resolved)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[:-node.level]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def violations(modules: dict[str, str]) -> list[str]:
    """`module imports X (floor P may not import Q)` for each import that goes up a floor."""
    found = []
    for module, source in sorted(modules.items()):
        floor = package_of(module)
        for name in sorted(imported(source, module)):
            target = package_of(name)
            if target and target != floor and target not in ALLOWED[floor]:
                found.append(f"{module} imports {name} ({floor} may not import {target})")
    return found


def package_graph(modules: dict[str, str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, source in modules.items():
        floor = package_of(module)
        targets = {package_of(n) for n in imported(source, module)} - {None, floor}
        graph.setdefault(floor, set()).update(targets)
    return graph


def project_modules() -> dict[str, str]:
    modules = {}
    for top in PROJECT:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path.read_text()
    return modules


def test_no_package_imports_a_higher_floor():
    assert violations(project_modules()) == []


def test_there_is_no_circle_between_packages():
    graphlib.TopologicalSorter(package_graph(project_modules())).prepare()  # raises on a cycle


def test_the_check_fails_when_a_lower_floor_imports_a_higher_one():
    bad = {"pipeline.video": "def f():\n    from trainer import data\n",
           "vidrec.core.progress": "import report.stats\n",
           "report.stats": "from ..trainer import metrics\n",
           "trainer.data": "from pipeline import schema\nfrom vidrec.core import run_folder\n"}
    assert violations(bad) == [
        "pipeline.video imports trainer (pipeline may not import trainer)",
        "pipeline.video imports trainer.data (pipeline may not import trainer)",
        "report.stats imports trainer (report may not import trainer)",
        "report.stats imports trainer.metrics (report may not import trainer)",
        "vidrec.core.progress imports report.stats (vidrec.core may not import report)"]
    cycle = {"pipeline.a": "import vidrec.core.x\n", "vidrec.core.x": "import pipeline.a\n"}
    try:
        graphlib.TopologicalSorter(package_graph(cycle)).prepare()
    except graphlib.CycleError:
        pass
    else:
        raise AssertionError("a circle between packages went unseen")


MAX_LINES = 300  # a module a newcomer reads in one sitting


def test_no_module_is_over_300_lines():
    long = {name: n for name, source in project_modules().items()
            if (n := len(source.splitlines())) > MAX_LINES}
    assert long == {}
