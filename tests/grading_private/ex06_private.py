"""A teacher's private tests for set 6, as `nnbook-grade --tests tests/grading_private` loads them.

This file replaces the course's set "06-optimizers" by the same set with one secret case added
to q2 (the same name, so it wins over the built-in set).
"""

import torch

from nnbook.grading import Case
from nnbook.grading.sets.ex06_optimizers import EXERCISE_SET as COURSE_SET


def _adamw_late_step_with_huge_gradients(device):
    param = torch.tensor([[1.0, -1.0], [0.5, 3.0]], device=device)
    grad = torch.tensor([[1e4, -1e-4], [0.0, 2.0]], device=device)
    exp_avg = torch.tensor([[10.0, 0.0], [0.1, -0.2]], device=device)
    exp_avg_sq = torch.tensor([[1e6, 1e-10], [0.0, 4.0]], device=device)
    return param, grad, exp_avg, exp_avg_sq, 999, 0.01, (0.9, 0.999), 1e-8, 0.05, True


EXERCISE_SET = COURSE_SET.with_cases(
    "q2", Case("AdamW at step 1000, gradients from 0 to 1e4", _adamw_late_step_with_huge_gradients),
)
