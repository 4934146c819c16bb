"""A teacher's private tests for set 5, as `nnbook-grade --tests tests/grading_private` loads them.

This file replaces the course's set "05-backpropagation" by the same set with one secret case
added to q1 (the same name, so it wins over the built-in set).
"""

import torch

from nnbook.grading import Case
from nnbook.grading.sets.ex05_backpropagation import EXERCISE_SET as COURSE_SET


def _sliced_float64_sequences(device):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 4, 6, dtype=torch.float64, generator=g)[:, :, ::2]   # a strided view
    weight = torch.randn(2, 3, dtype=torch.float64, generator=g)
    grad_output = torch.randn(3, 4, 2, dtype=torch.float64, generator=g)
    return x.to(device), weight.to(device), grad_output.to(device)


EXERCISE_SET = COURSE_SET.with_cases(
    "q1", Case("a strided slice of sequences, float64", _sliced_float64_sequences),
)
