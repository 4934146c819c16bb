"""Graded exercises: public checks for learners and a robust grader for teachers.

In an exercise notebook (works in Colab and locally with nothing but ``nnbook`` installed)::

    from nnbook.grading import exercise_set
    ex = exercise_set("01-neurons-and-layers")
    ...
    ex.check("q1", linear_forward)   # prints which public cases pass, expected versus got, hints

For a class, ``nnbook-grade SUBMISSIONS_DIR --out grades.csv`` (or ``python -m nnbook.grading``)
grades every notebook in a folder; :mod:`nnbook.grading.grader` describes how, and what it does
and does not protect against.

Modules: ``questions`` (Case, Question, ExerciseSet), ``sets`` (the course's exercise sets),
``registry`` (finding sets), ``values`` and ``runner`` (observing and judging answers),
``feedback`` (the words), ``notebooks`` (reading submissions), ``child``, ``sandbox`` and ``procs``
(running one submission in a limited process under a watchdog), ``grader`` and ``cli`` (a whole
folder), ``containers`` (a whole folder, one container per submission).
"""

from importlib import import_module

from nnbook.grading.questions import Case, ExerciseSet, Question
from nnbook.grading.registry import exercise_set, load_sets

__all__ = ["Case", "ExerciseSet", "Question", "exercise_set", "load_sets", "grade_folder"]


def __getattr__(name):
    # The grader (subprocesses, CSV, tqdm) is loaded only when a teacher asks for it.
    if name == "grade_folder":
        return import_module("nnbook.grading.grader").grade_folder
    raise AttributeError(f"module 'nnbook.grading' has no attribute {name!r}")
