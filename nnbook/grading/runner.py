"""Running and judging a question's cases.

Two halves, kept apart on purpose:

* :func:`observe` calls the learner's answer on one case and records, as plain data, what came
  back (or what it raised) and what its arguments look like afterwards. In the grader this runs
  in the child process, next to the student's code.
* :func:`judge` compares an observation with the reference's output. In the grader this runs in
  the parent process, which student code never touches, so patching the comparison from a
  notebook changes nothing.

The notebook's public check (:func:`check_answer`) simply does both in one process.
"""

import sys
import traceback
import types
from dataclasses import dataclass, field
from functools import lru_cache
from typing import List, Optional

import torch

from nnbook.grading.forbidden import forbidden
from nnbook.grading.values import compare, encode, owned

__all__ = ["GradingTimeout", "CaseResult", "QuestionResult", "plan", "observe", "judge",
           "summarize", "check_answer", "STATUSES"]

STATUSES = ("ok", "failed", "error", "timeout", "unreadable")
CELL_FILENAME = "<cell {}>"  # how the grading child names student code, so errors can say where


class GradingTimeout(BaseException):
    """Raised by the grading child's alarm. A BaseException, so ``except Exception`` in student
    code does not swallow it."""


@dataclass(frozen=True)
class CaseResult:
    key: str
    passed: bool
    message: str = ""
    hint: str = ""
    timed_out: bool = False


@dataclass
class QuestionResult:
    question_id: str
    answer: str
    max_points: float
    status: str
    cases: List[CaseResult] = field(default_factory=list)
    message: str = ""  # why the question could not be graded (status error/timeout/unreadable)
    hint: str = ""

    @property
    def passed(self) -> int:
        return sum(case.passed for case in self.cases)

    @property
    def points(self) -> float:
        if not self.cases:
            return 0.0
        return round(self.max_points * self.passed / len(self.cases), 2)


def plan(question, *, public_only: bool, cuda: bool):
    """The cases to run, as (key, case, device) triples; keys identify observations."""
    cases = [c for c in question.cases if c.public or not public_only]
    planned = [(case.name, case, "cpu") for case in cases]
    if cuda:
        planned += [(f"{case.name} (cuda)", case, "cuda") for case in cases if case.cuda]
    return planned


# --------------------------------------------------------------------------- observing

@lru_cache(maxsize=None)
def reference_answers() -> tuple:
    """(module, name) of every built-in exercise set's reference answer.

    The answer keys ship inside the package, so a learner could import one and return what it
    returns. While an answer runs they refuse (:func:`nnbook.grading.forbidden.forbidden`: under
    every name, also a copy imported in an earlier cell), so calling a key scores nothing.
    Reading a key's source and copying it is not stopped; that is the honour code's part.
    """
    from nnbook.grading.registry import builtin_sets
    entries = set()
    for exercise in builtin_sets().values():
        for question in exercise.questions:
            reference = question.reference
            module = sys.modules.get(getattr(reference, "__module__", None) or "")
            if (isinstance(reference, types.FunctionType) and module is not None
                    and module.__name__.startswith("nnbook.grading.sets.")
                    and getattr(module, reference.__name__, None) is reference):
                entries.add((module, reference.__name__))
    return tuple(sorted(entries, key=lambda entry: (entry[0].__name__, entry[1])))


def _refused_for(question) -> tuple:
    """The reference answers refused while ``question``'s answer runs: its own, and every other
    set's. The other references of its own set stay callable: a question's ``call`` may use them
    (set 3's third question measures a tensor with the first question's ``fans_reference``)."""
    own = getattr(question.reference, "__module__", None)
    return tuple((module, name) for module, name in reference_answers()
                 if module.__name__ != own or getattr(module, name) is question.reference)


def _grading() -> bool:
    from nnbook.grading.questions import in_grading_mode
    return in_grading_mode()


def observe(question, key: str, case, device: str, answer) -> dict:
    """Call ``answer`` on one case and return what happened, as plain (encoded) data.

    In the grader, the question's own reference answer and every other set's refuse while it runs
    (:func:`reference_answers`); a notebook's check cells leave them alone (no score there).
    """
    args = tuple(case.make_args(torch.device(device)))
    try:
        with forbidden(_refused_for(question) if _grading() else ()):
            result = question.run(answer, args)
    except (KeyboardInterrupt, GradingTimeout):
        raise
    except BaseException as exc:  # SystemExit too: calling sys.exit in an answer is a wrong answer
        return {"case": key, "outcome": "raised", "error": describe_exception(exc)}
    return {"case": key, "outcome": "returned", "output": _safe_encode(result),
            "args_after": _safe_encode(args)}


def _safe_encode(value):
    try:
        return encode(value)
    except Exception as exc:  # e.g. a tensor subclass that refuses to be copied
        return ("other", type(value).__name__, f"could not be read ({type(exc).__name__})")


def describe_exception(exc: BaseException) -> str:
    """'ZeroDivisionError: division by zero (cell 5, line 3)'; the location only for grader cells."""
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
    cell_frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell ")]
    if cell_frames:
        last = cell_frames[-1]
        message += f" ({last.filename.strip('<>')}, line {last.lineno})"
    return message


# --------------------------------------------------------------------------- judging

def judge(question, key: str, case, device: str, observation: Optional[dict]) -> CaseResult:
    """Decide whether one observation is right, by the reference computed here on the CPU."""
    if observation is None:
        return CaseResult(key, False, "this case did not run", case.hint)
    outcome = observation.get("outcome")
    if outcome == "timeout":
        return CaseResult(key, False, "stopped: it ran past the time limit", case.hint, timed_out=True)
    if outcome == "raised":
        error = str(observation.get("error", "an exception"))
        if error.startswith("NotImplementedError"):  # the exercise notebook's stub, still in place
            return CaseResult(key, False, "not answered yet: it still raises NotImplementedError")
        return CaseResult(key, False, f"raised {error}", case.hint)
    expected = encode(question.run(question.reference, _fresh_args(case)))
    try:
        # Rebuilt from plain data first: what the student's process sent is never used as it came.
        output, args_after = owned(observation["output"]), owned(observation["args_after"])
        problem = _compare_output(question, expected, output, device)
        problem = problem or _changed_argument(question, _fresh_args(case), args_after, device)
    except Exception:  # observations come from the student's process: malformed ones are wrong, not fatal
        problem = "the grader could not read what this case returned"
    return CaseResult(key, problem is None, problem or "", "" if problem is None else case.hint)


def _fresh_args(case):
    return tuple(case.make_args(torch.device("cpu")))


def _compare_output(question, expected, got, device):
    if not question.returns or expected[0] not in ("tuple", "list"):
        return compare(expected, got, "the result", device)
    names = question.returns
    if got[0] not in ("tuple", "list") or len(got[1]) != len(names):
        return compare(expected, got, f"the result ({', '.join(names)})", device)
    for name, want, have in zip(names, expected[1], got[1]):
        problem = compare(want, have, f"the returned {name}", device)
        if problem:
            return problem
    return None


def _changed_argument(question, args, args_after, device):
    if args_after[0] != "tuple" or len(args_after[1]) != len(args):
        return "the grader could not read the arguments back after the call"
    for index, (before, after) in enumerate(zip(args, args_after[1])):
        name = question.args[index] if index < len(question.args) else f"number {index + 1}"
        if compare(encode(before), after, "argument", device):
            return (f"it changed its argument `{name}` in place; compute a new result instead of "
                    f"modifying the inputs")
    return None


def summarize(question, case_results: List[CaseResult]) -> QuestionResult:
    """Turn a question's case results into its status: ok, failed or timeout."""
    if all(c.passed for c in case_results):
        status = "ok"
    elif any(c.timed_out for c in case_results):
        status = "timeout"
    else:
        status = "failed"
    return QuestionResult(question.id, question.answer, question.points, status, list(case_results),
                          hint=question.hint if status != "ok" else "")


def unanswered(question, status: str, message: str) -> QuestionResult:
    """A question that could not be graded at all (no function, crashed process, ...)."""
    return QuestionResult(question.id, question.answer, question.points, status, [], message, question.hint)


# --------------------------------------------------------------------------- the notebook's check

def check_answer(question, answer) -> QuestionResult:
    """Run the public cases on the CPU, in this process, and judge them."""
    if not callable(answer):
        return unanswered(question, "error", f"{question.answer} should be a function, but it is "
                                             f"of type {type(answer).__name__}")
    results = []
    for key, case, device in plan(question, public_only=True, cuda=False):
        results.append(judge(question, key, case, device, observe(question, key, case, device, answer)))
    return summarize(question, results)
