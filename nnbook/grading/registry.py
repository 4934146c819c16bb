"""Finding exercise sets: the course's own (``nnbook.grading.sets``) and a teacher's private folder.

A private tests folder holds Python files; each one that does not start with ``_`` must define
``EXERCISE_SET``. A private set replaces the course's set of the same name, so a teacher can grade
with secret cases (often by extending the course's set: ``base.with_cases("q1", Case(...))``).
"""

import importlib
import importlib.util
import pkgutil
import sys
from functools import lru_cache
from pathlib import Path

from nnbook.grading.questions import ExerciseSet

__all__ = ["builtin_sets", "private_sets", "load_sets", "exercise_set"]


def _set_of(module, where: str) -> ExerciseSet:
    found = getattr(module, "EXERCISE_SET", None)
    if not isinstance(found, ExerciseSet):
        raise ValueError(f"{where} must define EXERCISE_SET = ExerciseSet(...), found {type(found).__name__}")
    return found


def _add(sets: dict, new: ExerciseSet, where: str) -> None:
    if new.name in sets:
        raise ValueError(f"{where}: a second exercise set is named {new.name!r}")
    sets[new.name] = new


@lru_cache(maxsize=None)
def _builtin_sets() -> tuple:
    from nnbook.grading import sets as package

    found = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        _add(found, _set_of(module, f"nnbook.grading.sets.{info.name}"), info.name)
    return tuple(found.items())


def builtin_sets() -> dict:
    """{name: ExerciseSet} for every set shipped with the course."""
    return dict(_builtin_sets())


def private_sets(folder) -> dict:
    """{name: ExerciseSet} from the ``*.py`` files in a teacher's private tests folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"private tests folder {folder} does not exist")
    found = {}
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = f"nnbook_private_tests.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        spec.loader.exec_module(module)
        _add(found, _set_of(module, str(path)), str(path))
    if not found:
        raise ValueError(f"private tests folder {folder} has no .py file defining EXERCISE_SET")
    return found


def load_sets(tests_dir=None) -> dict:
    """The course's sets, with a private folder's sets added or replacing those of the same name."""
    sets = builtin_sets()
    if tests_dir is not None:
        sets.update(private_sets(tests_dir))
    return sets


def exercise_set(name: str, tests_dir=None) -> ExerciseSet:
    """The exercise set called ``name``; a notebook starts with ``ex = exercise_set("01-neurons-and-layers")``."""
    sets = load_sets(tests_dir)
    if name not in sets:
        raise KeyError(f"no exercise set named {name!r}; known sets: {', '.join(sorted(sets)) or 'none'}")
    return sets[name]
