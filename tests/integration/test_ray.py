"""Episodes as tasks on a local Ray with 2 CPUs give what a serial run and worker processes give.
Tiny on purpose: Ray takes seconds to start, the episodes take less."""

import json
from pathlib import Path

import pytest

from training.env.environment import EnvConfig
from training.records import LaneInfo, record_to_line
from training.runs.config import RunConfig
from training.runs.driver import InProcessBackend, ProcessBackend, run_episodes
from training.runs.lanes import Lane

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.cluster

MODEL = Path(__file__).parent.parent / "fixtures" / "tiny_iql.pt"
WALL_CLOCK = {"wall_seconds", "samples_per_second", "created_at", "captured_at", "vitals"}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def run(backend) -> list[dict]:
    config = RunConfig(env=EnvConfig(preset="tiny", max_epochs=2, seed=7), episodes=3, run_id="ray")
    lanes = [
        Lane.heuristic(),
        Lane(LaneInfo("iql", "iql", str(MODEL), 37, "seed"), model=MODEL.read_bytes()),
    ]
    records = []
    with backend:
        run_episodes(config, lanes, records.append, backend)
    return [_strip(json.loads(record_to_line(r))) for r in records]


def test_a_local_ray_run_equals_the_serial_and_the_worker_runs(local_ray):
    from training.runs.cluster import RayBackend

    backend = RayBackend(cpus_per_episode=1)
    assert backend.capacity == 2
    on_ray = run(backend)
    assert ray.is_initialized()  # the test started Ray, so the backend leaves it up
    assert on_ray == run(InProcessBackend())
    assert on_ray == run(ProcessBackend(2))
