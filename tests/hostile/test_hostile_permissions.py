"""Permission errors on any path give one sentence naming the path. Root reads everything, so
under root the commands run as the unprivileged user ``nobody``."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534


def unprivileged() -> list[str]:
    """The prefix that runs a command as ``nobody`` when we are root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.fixture(scope="module")
def place():
    folder = Path(tempfile.mkdtemp(prefix="esper-perm-"))
    folder.chmod(0o755)
    shutil.copy(ROOT / "tests/fixtures/tiny_iql.pt", folder / "locked.pt")
    shutil.copy(ROOT / "tests/fixtures/run.jsonl", folder / "locked.jsonl")
    (folder / "locked.pt").chmod(0)
    (folder / "locked.jsonl").chmod(0)
    (folder / "readonly").mkdir(mode=0o555)
    (folder / "readonly").chmod(0o555)
    yield folder
    shutil.rmtree(folder)


CASES = {
    "model": (["esper_tui.cli", "--model", "{p}/locked.pt"], "locked.pt"),
    "replay": (["esper_tui.cli", "--replay", "{p}/locked.jsonl"], "locked.jsonl"),
    "record-in-read-only-folder": (
        [
            "esper_tui.cli",
            "--record",
            "{p}/readonly/r.jsonl",
            "--preset",
            "tiny",
            "--model",
            str(ROOT / "tests/fixtures/tiny_iql.pt"),
        ],
        "readonly/r.jsonl",
    ),
    "compare-model": (["esper_tui.cli.iql", "compare", "--model", "{p}/locked.pt"], "locked.pt"),
    "collect-output-in-read-only-folder": (
        ["esper_tui.cli.iql", "collect", "-o", "{p}/readonly/d.npz"],
        "readonly/d.npz",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_path_that_cannot_be_read_or_written_is_one_sentence_naming_it(case, place):
    if os.geteuid() != 0 and os.access(place / "locked.pt", os.R_OK):
        pytest.skip("permissions are not enforced here")
    args, named = CASES[case]
    argv = [*unprivileged(), sys.executable, "-m", *[a.replace("{p}", str(place)) for a in args]]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=place,
        env=dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HOME=str(place)),
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert named in result.stderr and "ermission denied" in result.stderr, result.stderr
