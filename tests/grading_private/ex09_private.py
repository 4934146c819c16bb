"""A teacher's private tests for set 9, as `nnbook-grade --tests tests/grading_private` loads them.

This file replaces the course's set "09-handwritten-digits" by the same set with one secret case
added to q1 (the same name, so it wins over the built-in set).
"""

import torch

from nnbook.grading import Case
from nnbook.grading.sets.ex09_handwritten_digits import EXERCISE_SET as COURSE_SET


def _grey_levels_with_a_blank_corner(device):
    train = torch.tensor([[0.0, 16.0, 3.0], [0.0, 8.0, 5.0], [0.0, 0.0, 4.0]], device=device)
    test = torch.tensor([[2.0, 4.0, 6.0]], device=device)
    return train, test


EXERCISE_SET = COURSE_SET.with_cases(
    "q1", Case("grey levels with a blank corner pixel", _grey_levels_with_a_blank_corner),
)
