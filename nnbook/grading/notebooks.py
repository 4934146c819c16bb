"""Reading submissions: leniently, without trusting anything in them.

A submission is read with ``json`` rather than ``nbformat``: a notebook that fails strict schema
validation (a hand edit, an odd front end) can still be graded, and reading needs nothing beyond
``nnbook``. What cannot be read becomes a reason string, never an exception.

Which exercise set a notebook belongs to is decided by :func:`choose_set`: a teacher's ``--set``
wins; otherwise ``metadata.nnbook.exercise_set`` is believed only if the notebook's code defines at
least as many of that set's answers as of any other set's; otherwise the set whose answers it
defines wins. So editing the metadata cannot move a notebook to a set it did not answer.
"""

import ast
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from nnbook.grading.feedback import safe_text

__all__ = ["Submission", "looks_like_a_submission", "find_notebooks", "read_submission", "defined_names", "choose_set"]

MAX_NOTEBOOK_BYTES = 50 * 2**20
_DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s+(\w+)|^(\w+)\s*(?::[^=]*)?=(?!=)", re.MULTILINE)


@dataclass
class Submission:
    """One notebook file: its name relative to the submissions folder, and what could be read."""

    path: Path
    name: str
    cells: List[Tuple[int, str]] = field(default_factory=list)  # (cell number from 1, code)
    metadata_set: Optional[str] = None
    error: str = ""  # why it is unreadable; empty when it was read


def looks_like_a_submission(name: str) -> bool:
    """Any name ending in .ipynb, in any case (``Alice.IPYNB`` too)."""
    return name.lower().endswith(".ipynb") and name.lower() != ".ipynb_checkpoints"


def find_notebooks(folder: Path) -> List[Path]:
    """Every path under ``folder`` that looks like a submission, in a stable order.

    Files, but also folders and links (broken ones included) whose name ends in ``.ipynb`` in any
    case: those are reported as unreadable rather than silently left out. Sub-folders are searched
    without following links (so a link loop cannot trap the search); checkpoints are skipped.
    """
    folder = Path(folder)
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if d != ".ipynb_checkpoints"]
        found += [Path(root, name) for name in files + dirs if looks_like_a_submission(name)]
    return sorted(found, key=lambda p: os.fsencode(p.relative_to(folder).as_posix()))


def read_submission(path: Path, folder: Path) -> Submission:
    """Read one submission; every failure becomes ``error`` (a reason), never an exception."""
    submission = Submission(path=path, name=safe_text(path.relative_to(folder).as_posix()))
    try:
        submission.cells, submission.metadata_set = _parse(path)
    except (OSError, ValueError) as exc:
        submission.error = str(exc)
    except RecursionError:
        submission.error = "the file is nested too deeply to be a notebook"
    except MemoryError:
        submission.error = "the file needs too much memory to read"
    except Exception as exc:  # whatever else reading can raise: this submission's problem only
        submission.error = f"the file could not be read ({type(exc).__name__})"
    return submission


def _kind_problem(path: Path) -> str:
    """Why ``path`` is not a regular file, or ""."""
    if path.is_symlink() and not path.exists():
        return "it is a link to something that does not exist"
    if path.is_dir():
        return "it is a folder, not a notebook file"
    if path.exists() and not path.is_file():
        return "it is not a regular file"
    return ""


def _parse(path: Path):
    problem = _kind_problem(path)
    if problem:
        raise ValueError(problem)
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"the file is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError("the file is empty")
    try:
        nb = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValueError("the file is not text (not UTF-8), so it is not a notebook") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the file is not valid notebook JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise ValueError("the file's JSON is nested too deeply to be a notebook") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("the file is JSON but not a Jupyter notebook (it has no list of cells)")
    if nb.get("nbformat", 4) != 4:
        raise ValueError(f"the notebook uses format {nb.get('nbformat')!r}; open and save it in Jupyter")
    cells = []
    for number, cell in enumerate(nb["cells"], start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cells.append((number, _source_text(cell.get("source", ""), number)))
    metadata = nb.get("metadata")
    nnbook = metadata.get("nnbook") if isinstance(metadata, dict) else None
    declared = nnbook.get("exercise_set") if isinstance(nnbook, dict) else None
    return cells, declared if isinstance(declared, str) else None


def _source_text(source, number: int) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    raise ValueError(f"cell {number} has a malformed source")


def defined_names(cells) -> set:
    """Names a notebook defines at the top level of its cells (functions, classes, assignments)."""
    names = set()
    for _, source in cells:
        try:
            tree = ast.parse(source)
        except Exception:  # magics, a typo, nesting too deep for the parser: fall back to a line scan
            names.update(a or b for a, b in _DEFINITION.findall(source))
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def choose_set(submission: Submission, sets: dict, forced: Optional[str] = None):
    """(set name or None, a note for the feedback or ""): see the module docstring for the rules."""
    declared = submission.metadata_set
    if forced:
        if declared == forced:
            return forced, ""
        return forced, f"graded as {forced!r} (chosen by the teacher); its metadata says {declared!r}"
    names = defined_names(submission.cells)
    score = {name: sum(q.answer in names for q in ex.questions) for name, ex in sets.items()}
    best = max(score.values(), default=0)
    if declared in sets and score[declared] == best:
        return declared, ""
    leaders = [name for name, value in score.items() if value == best]
    if best > 0 and len(leaders) == 1:
        said = f"its metadata says {declared!r}" if declared else "it has no exercise-set metadata"
        return leaders[0], f"graded as {leaders[0]!r}: {said}, but it defines that set's answers"
    if declared in sets:
        return declared, ""
    return None, ""
