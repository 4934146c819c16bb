"""A small exercise set owned by the grader's tests, so that they do not depend on any chapter's.

Loaded the way a teacher's private tests are (``--tests tests/grading_fixture``). Three questions
with the shapes the grader must handle: a tensor result with several cases (partial credit,
dtypes), an int computed from a list (an argument that can be modified in place), and a named
tuple of tensors.

q1 ``scale_shift(x, a, b)``   a * x + b, elementwise
q2 ``total(sizes)``           the sum of a list of ints
q3 ``sum_and_mean(x)``        (x.sum(), x.mean()), returned as a tuple
"""

import torch

from nnbook.grading import Case, ExerciseSet, Question
from nnbook.grading.inputs import randn, tensor

NAME = "zz-grader-fixture"


def _scale_case(name, shape, seed, *, public=False, dtype=torch.float32):
    def make_args(device):
        return randn(seed, *shape, dtype=dtype, device=device), 2.0, -1.0
    return Case(name, make_args, public=public, hint="multiply every entry by a, then add b")


Q1 = Question(
    id="q1", answer="scale_shift", args=("x", "a", "b"), reference=lambda x, a, b: a * x + b, points=3,
    title="Scale and shift", hint="a * x + b works for tensors of any shape",
    cases=(
        Case("three numbers", lambda device: (tensor([1.0, 2.0, 3.0], device=device), 2.0, -1.0), public=True),
        _scale_case("a 4 x 5 matrix", (4, 5), seed=1, public=True),
        _scale_case("a float64 vector", (6,), seed=2, dtype=torch.float64),
        _scale_case("an empty batch", (0, 3), seed=3),
    ),
)

Q2 = Question(
    id="q2", answer="total", args=("sizes",), reference=lambda sizes: sum(sizes), points=3,
    title="A total", hint="sum(sizes), as an int",
    cases=(
        Case("[1, 2, 3]", lambda device: ([1, 2, 3],), public=True, cuda=False),
        Case("[5]", lambda device: ([5],), cuda=False),
        Case("an empty list", lambda device: ([],), cuda=False),
    ),
)

Q3 = Question(
    id="q3", answer="sum_and_mean", args=("x",), reference=lambda x: (x.sum(), x.mean()), points=4,
    returns=("total", "mean"), title="Sum and mean", hint="return both, as (x.sum(), x.mean())",
    cases=(
        Case("a vector", lambda device: (tensor([1.0, 2.0, 3.0, 6.0], device=device),), public=True),
        Case("a 3 x 3 matrix", lambda device: (randn(7, 3, 3, device=device),)),
    ),
)

EXERCISE_SET = ExerciseSet(name=NAME, title="The grader's test fixture", questions=(Q1, Q2, Q3))
