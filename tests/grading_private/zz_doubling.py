"""A teacher's own exercise set, unknown to the course: one question, `double(x)` returns 2 x."""

import torch

from nnbook.grading import Case, ExerciseSet, Question


def _vector(device):
    return (torch.arange(4.0, device=device),)


def _matrix(device):
    return (torch.ones(2, 3, dtype=torch.float64, device=device),)


EXERCISE_SET = ExerciseSet(
    name="zz-doubling", title="Doubling (a teacher's set)",
    questions=(Question(id="q1", answer="double", args=("x",), reference=lambda x: 2 * x, points=1,
                        cases=(Case("a vector", _vector, public=True), Case("a float64 matrix", _matrix))),),
)
