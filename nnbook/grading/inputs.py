"""Deterministic inputs for test cases: the same numbers on every machine, device and call."""

import torch

__all__ = ["randn", "tensor"]


def randn(seed: int, *shape: int, dtype: torch.dtype = torch.float32, device="cpu", scale: float = 1.0):
    """Standard-normal numbers (times ``scale``) from their own generator seeded with ``seed``.

    Drawn on the CPU and then moved, so a case's CUDA arguments equal its CPU arguments exactly.
    """
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=generator, dtype=dtype) * scale).to(device)


def tensor(data, dtype: torch.dtype = torch.float32, device="cpu"):
    """``torch.tensor(data)`` with the dtype and device a case asks for."""
    return torch.tensor(data, dtype=dtype, device=device)
