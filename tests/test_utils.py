import random

import numpy as np
import pytest
import torch

import nnbook
from nnbook import get_device, seed_everything


def test_get_device_prefers_cuda_only_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device().type == expected
    assert get_device("cpu") == torch.device("cpu")


def test_get_device_rejects_unknown_preference():
    with pytest.raises(ValueError, match="prefer"):
        get_device("tpu")


def draw_everything():
    return random.random(), np.random.rand(), torch.rand(3).tolist()


def test_seed_everything_repeats_every_generator():
    assert seed_everything(123) == 123
    first = draw_everything()
    seed_everything(123)
    assert draw_everything() == first
    seed_everything(124)
    assert draw_everything() != first


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (2**32, ValueError), (1.5, TypeError),
                                        ("7", TypeError), (True, TypeError)])
def test_seed_everything_rejects_bad_seeds(bad, error):
    with pytest.raises(error):
        seed_everything(bad)


def test_submodules_load_lazily():
    assert nnbook.plots.neuron_output_map is not None
    with pytest.raises(AttributeError):
        nnbook.no_such_module


def test_every_submodule_is_listed_and_reachable_after_a_bare_import():
    """nnbook's docstring table and its lazy ``nnbook.X`` access cover every public submodule."""
    import pkgutil

    import nnbook
    names = {m.name for m in pkgutil.iter_modules(nnbook.__path__) if not m.name.startswith("_")}
    assert names <= set(nnbook._SUBMODULES), f"not reachable as nnbook.X: {names - nnbook._SUBMODULES}"
    unlisted = {name for name in names - {"utils"} if f"``nnbook.{name}``" not in nnbook.__doc__}
    assert not unlisted, f"nnbook's docstring table lacks {sorted(unlisted)}"
