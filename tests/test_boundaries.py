"""Import boundaries (docs/architecture.md, "Layers"): ``training`` never loads the UI, and ``widgets`` never
loads torch. Each check imports every module of the package in a fresh interpreter, so that
nothing this test process already imported can hide a violation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import importlib, json, pkgutil, sys
sys.path.insert(0, {root!r})
package = importlib.import_module({package!r})
names = [package.__name__] + [info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({{"modules": names, "file": package.__file__,
                  "loaded": sorted({{key.split(".")[0] for key in sys.modules}})}}))
"""


def import_everything(package: str) -> dict:
    """Import ``package`` and all its submodules in a clean interpreter (``-I``: no PYTHONPATH,
    no user site) and report which top-level modules ended up loaded."""
    result = subprocess.run(
        [sys.executable, "-I", "-c", PROBE.format(root=str(ROOT), package=package)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).resolve().is_relative_to(ROOT), (
        "imported another checkout's package"
    )
    return report


def test_training_loads_no_ui():
    report = import_everything("training")
    assert (
        "training.runs.comparison" in report["modules"]
        and "training.policies.iql" in report["modules"]
    )
    assert "torch" in report["loaded"]  # the probe sees what the imports pulled in
    ui = {"textual", "rich", "widgets", "esper_tui"} & set(report["loaded"])
    assert ui == set(), f"importing training loads {sorted(ui)}"


def test_widgets_load_no_torch():
    report = import_everything("widgets")
    assert "widgets.charts" in report["modules"]
    assert "textual" in report["loaded"]
    assert "torch" not in report["loaded"], "importing widgets loads torch"
