import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The test workloads are tiny: one thread avoids oversubscribing the 2 cores (with more,
    tiny convolutions spend their time synchronising threads, worse still under any other load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
