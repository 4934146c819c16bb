"""Exercise sets, questions and cases: the data that the public checks and the grader both run.

* A :class:`Case` is one call of the learner's function: a readable name and a function that builds
  fresh arguments on a given device. Public cases run in the notebook's check cells; the grader
  runs every case, public and instructor, and repeats each on the GPU when one is present.
* A :class:`Question` names the function the learner writes (its ``answer``), the course's
  ``reference`` implementation that the expected outputs come from, its points and its cases.
* An :class:`ExerciseSet` is one notebook's questions. ``ex.check("q1", linear_forward)`` in a
  check cell runs the public cases and prints feedback.

A set for a new chapter is one module in ``nnbook/grading/sets/`` that defines ``EXERCISE_SET``;
``ex01_neurons_and_layers.py`` is the model to copy.
"""

import keyword
import re
from dataclasses import dataclass, replace
from typing import Callable, Optional, Tuple

from nnbook.grading import feedback, runner

__all__ = ["Case", "Question", "ExerciseSet", "enter_grading_mode", "in_grading_mode"]

_QUESTION_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_grading_mode = False


def enter_grading_mode() -> None:
    """Make every notebook check cell a silent no-op: the grader runs its own tests instead."""
    global _grading_mode
    _grading_mode = True


def in_grading_mode() -> bool:
    return _grading_mode


@dataclass(frozen=True)
class Case:
    """One test case.

    ``make_args(device)`` returns a fresh tuple of arguments each time it is called (the answer may
    modify them, and the grader needs pristine copies to detect that). It must be deterministic:
    the same numbers on every call, machine and device.
    """

    name: str
    make_args: Callable
    public: bool = False
    hint: str = ""
    cuda: bool = True  # the grader repeats the case with the arguments on the GPU, when present

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a Case needs a non-empty name")
        if not callable(self.make_args):
            raise TypeError(f"Case {self.name!r}: make_args must be callable, got {type(self.make_args).__name__}")


@dataclass(frozen=True)
class Question:
    """One graded question: the learner defines a function called ``answer``.

    ``reference`` has the same signature and gives the expected outputs. ``args`` names the
    arguments (for messages such as "changed its argument `x` in place"); ``returns`` names the
    items of a returned tuple. ``call(answer, args)``, when given, says how to exercise an answer
    that is not a plain function (a class to build and run, say); it is used for the reference too.
    """

    id: str
    answer: str
    args: Tuple[str, ...]
    reference: Callable
    cases: Tuple[Case, ...]
    points: float
    title: str = ""
    hint: str = ""
    returns: Tuple[str, ...] = ()
    call: Optional[Callable] = None

    def __post_init__(self):
        if not isinstance(self.id, str) or not _QUESTION_ID.match(self.id):
            raise ValueError(f"question id must look like 'q1', got {self.id!r}")
        if not self.answer.isidentifier() or keyword.iskeyword(self.answer):
            raise ValueError(f"{self.id}: answer must be a Python name, got {self.answer!r}")
        if not (isinstance(self.points, (int, float)) and self.points > 0):
            raise ValueError(f"{self.id}: points must be a positive number, got {self.points!r}")
        object.__setattr__(self, "cases", tuple(self.cases))
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "returns", tuple(self.returns))
        if not all(isinstance(case, Case) for case in self.cases):
            raise TypeError(f"{self.id}: cases must be Case objects")
        names = [case.name for case in self.cases]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.id}: two cases share a name; names identify cases in results")
        if not any(case.public for case in self.cases):
            raise ValueError(f"{self.id}: needs at least one public case for the notebook's check cell")

    def run(self, function, args: tuple):
        """Exercise ``function`` (the learner's answer or the reference) on one case's arguments."""
        return self.call(function, args) if self.call else function(*args)

    def with_cases(self, *cases: Case) -> "Question":
        """A copy of this question with more cases (how a teacher adds private tests)."""
        return replace(self, cases=self.cases + tuple(cases))


@dataclass(frozen=True)
class ExerciseSet:
    """The questions of one exercise notebook, found by ``name`` (the notebook's
    ``metadata.nnbook.exercise_set``)."""

    name: str
    title: str
    questions: Tuple[Question, ...]

    def __post_init__(self):
        if not isinstance(self.name, str) or not _SET_NAME.match(self.name):
            raise ValueError(f"exercise set name must look like '01-neurons-and-layers', got {self.name!r}")
        object.__setattr__(self, "questions", tuple(self.questions))
        if not self.questions or not all(isinstance(q, Question) for q in self.questions):
            raise ValueError(f"exercise set {self.name!r} needs a tuple of Question objects")
        for attribute in ("id", "answer"):
            values = [getattr(q, attribute) for q in self.questions]
            if len(set(values)) != len(values):
                raise ValueError(f"exercise set {self.name!r}: two questions share an {attribute}")

    @property
    def max_points(self) -> float:
        return sum(q.points for q in self.questions)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        known = ", ".join(q.id for q in self.questions)
        raise KeyError(f"exercise set {self.name!r} has no question {question_id!r}; its questions are {known}")

    def with_cases(self, question_id: str, *cases: Case) -> "ExerciseSet":
        """A copy of the set in which one question has extra cases."""
        extended = self.question(question_id).with_cases(*cases)
        return replace(self, questions=tuple(extended if q.id == question_id else q for q in self.questions))

    def check(self, question_id: str, answer) -> None:
        """Run the question's public cases on ``answer`` and print friendly feedback.

        Inside the grader this does nothing: the grader runs all cases itself, outside the notebook.
        """
        question = self.question(question_id)
        if in_grading_mode():
            return
        print(feedback.check_report(runner.check_answer(question, answer)))
