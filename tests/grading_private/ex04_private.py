"""A teacher's private tests for set 4, as `nnbook-grade --tests tests/grading_private` loads them.

This file replaces the course's set "04-loss-functions" by the same set with one secret case
added to q2 (the same name, so it wins over the built-in set).
"""

import torch

from nnbook.grading import Case
from nnbook.grading.sets.ex04_loss_functions import EXERCISE_SET as COURSE_SET


def _one_example_ignored_among_extremes(device):
    logits = torch.tensor([[-1000.0, 1000.0], [500.0, -500.0], [3.0, 1.0]], device=device)
    target = torch.tensor([0, -100, 1], device=device)
    weight = torch.tensor([0.25, 4.0], device=device)
    return logits, target, weight, -100


EXERCISE_SET = COURSE_SET.with_cases(
    "q2", Case("weighted, one ignored, logits ±1000", _one_example_ignored_among_extremes),
)
