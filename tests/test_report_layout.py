"""report reads run folders, and the data only through its record contract: it imports
nothing of trainer or tuning, and of pipeline only the record contract `pipeline.schema`
(with `pipeline.records`, its TensorFlow-free encoding; never Beam). Its rooms: loading
runs, statistics, the answer, rendering, videos; none holds a module over 300 lines."""

import pathlib
import pkgutil
import subprocess
import sys

import report

PRODUCERS = ("trainer", "tuning", "pipeline", "apache_beam")
# the record contract, shared by writer and reader
ALLOWED = ["pipeline", "pipeline.records", "pipeline.schema"]
ROOMS = {"report.runs", "report.stats", "report.answer", "report.render", "report.videos"}
MAX_LINES = 300


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(report.__path__, "report."))


def test_report_is_a_few_rooms_under_its_entry_points():
    modules = _modules()
    assert {"report.cli", "report.compare", *ROOMS} <= set(modules)
    top = {m for m in modules if m.count(".") == 1}
    assert top == {"report.cli", "report.compare", *ROOMS}
    assert {"report.runs.load", "report.stats.paired", "report.answer.split_summary",
            "report.render.markdown", "report.videos.frames"} <= set(modules)
    long = {str(p): n for p in pathlib.Path(report.__path__[0]).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_report_imports_none_of_the_packages_that_write_run_folders():
    code = ("import importlib, sys\n"
            f"for name in {_modules()!r}:\n"
            "    importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {PRODUCERS!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == repr(ALLOWED)
