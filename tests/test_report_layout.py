"""report reads run folders, and the data only through its record contract: it imports
nothing of trainer or tuning, and of pipeline only the record contract `pipeline.schema`
(with `pipeline.records`, its TensorFlow-free encoding; never Beam)."""

import pkgutil
import subprocess
import sys

import report

PRODUCERS = ("trainer", "tuning", "pipeline", "apache_beam")
# the record contract, shared by writer and reader
ALLOWED = ["pipeline", "pipeline.records", "pipeline.schema"]


def test_report_imports_none_of_the_packages_that_write_run_folders():
    modules = sorted(f"report.{m.name}" for m in pkgutil.iter_modules(report.__path__))
    assert {"report.cli", "report.compare", "report.runs", "report.stats",
            "report.frames"} <= set(modules)
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {PRODUCERS!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == repr(ALLOWED)
