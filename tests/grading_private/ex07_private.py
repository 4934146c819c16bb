"""A teacher's private tests for set 7, as `nnbook-grade --tests tests/grading_private` loads them.

This file replaces the course's set "07-regularization" by the same set with one secret case
added to q2 (the same name, so it wins over the built-in set).
"""

import torch

from nnbook.grading import Case
from nnbook.grading.sets.ex07_regularization import EXERCISE_SET as COURSE_SET


def _sequences_after_nine_batches(device):
    x = torch.tensor([[[1.0, 3.0], [0.0, -2.0]], [[5.0, 7.0], [4.0, 2.0]]], device=device)
    gamma = torch.tensor([2.0, 0.5], device=device)
    beta = torch.tensor([-1.0, 1.0], device=device)
    running_mean = torch.tensor([4.0, 1.0], device=device)
    running_var = torch.tensor([6.0, 8.0], device=device)
    return x, gamma, beta, running_mean, running_var, None, 1e-5, 9


EXERCISE_SET = COURSE_SET.with_cases(
    "q2", Case("sequences, cumulative average after nine batches", _sequences_after_nine_batches),
)
