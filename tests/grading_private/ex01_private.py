"""A teacher's private tests, as `nnbook-grade --tests tests/grading_private` loads them.

This file replaces the course's set "01-neurons-and-layers" by the same set with one secret case
added to q2 (the same name, so it wins over the built-in set).
"""

from nnbook.grading import Case
from nnbook.grading.sets.ex01_neurons_and_layers import EXERCISE_SET as COURSE_SET

EXERCISE_SET = COURSE_SET.with_cases(
    "q2", Case("a tall hat: height 10 at -7", lambda device: (-7.0, 10.0), cuda=False),
)
