"""Small conveniences every chapter needs: choosing a device and seeding every random generator."""

import random

import numpy as np
import torch

__all__ = ["get_device", "seed_everything"]


def get_device(prefer: str = "cuda") -> torch.device:
    """Return the device a chapter should compute on.

    ``prefer="cuda"`` (the default) gives ``cuda`` when a GPU is visible and ``cpu`` otherwise, so
    the same notebook runs on a laptop and on a Colab GPU. ``prefer="cpu"`` always gives the CPU.

    >>> get_device("cpu")
    device(type='cpu')
    """
    if prefer not in ("cuda", "cpu"):
        raise ValueError(f"prefer must be 'cuda' or 'cpu', got {prefer!r}")
    if prefer == "cuda" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> int:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU).

    Calling it twice with the same seed makes the random numbers that follow identical, which is
    what lets a notebook's stored outputs be re-created exactly. Returns the seed.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed
