"""A teacher's private tests for set "03-parameter-initialization": one secret case added to q4
(the same set name, so it wins over the built-in set)."""

import torch

from nnbook.grading import Case
from nnbook.grading.sets.ex03_parameter_initialization import EXERCISE_SET as COURSE_SET


def _three_groups(device):
    a, b, c = torch.eye(3, dtype=torch.float64, device=device)
    weight = torch.stack([a, b, c, c, b, a, a])
    return weight, torch.zeros(7, dtype=torch.float64, device=device), 1e-8


EXERCISE_SET = COURSE_SET.with_cases("q4", Case("three kinds of unit among seven", _three_groups))
