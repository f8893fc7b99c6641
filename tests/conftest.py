import pytest
import torch


@pytest.fixture(autouse=True)
def _small_torch():
    """Two cores here; keep torch from oversubscribing them while pytest runs."""
    torch.set_num_threads(2)
