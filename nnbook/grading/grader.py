"""Grading a folder of submitted notebooks: one row per submission and question, nothing lost.

How one submission is graded
----------------------------
1. Every path under the folder whose name ends in ``.ipynb`` (any case) is a submission, folders
   and links included. It is read as JSON (:mod:`nnbook.grading.notebooks`); a path that is not a
   regular file, or a file that is empty, not JSON, nested too deeply or not a notebook, is graded
   ``unreadable`` for every question of its set. Names are written to the CSV and the feedback with
   undecodable bytes, lone surrogates and control characters escaped (``caf\\xe9.ipynb``).
2. Its exercise set is chosen by :func:`nnbook.grading.notebooks.choose_set`: ``--set`` if the
   teacher gave one, else the metadata if the code agrees, else the set whose answers the code
   defines, else the one set every other submission in the folder was graded against.
3. Its code cells run in a fresh child process (:mod:`nnbook.grading.child`, forked from a
   server that has torch loaded, see :mod:`nnbook.grading.sandbox`) with a soft limit per cell and
   per question of ``timeout / (questions + 2)``. The child only *observes*: it calls each answer
   on every case and sends back what came out, one record at a time, through a pipe of its own.
4. The grader's watchdog enforces the hard limits from outside, whatever the child and its server
   do: the wall clock (``timeout``), the memory of all the submission's processes together
   (``memory_mb``), and their number (``processes``).
5. Here, in the parent, each observation is rebuilt into plain values the grader owns
   (:func:`nnbook.grading.values.owned`) and judged against the course's reference
   (:func:`nnbook.grading.runner.judge`). The tests and the expected values come from the course
   (or the teacher's ``--tests`` folder), never from the notebook.

Any failure while reading, analysing, running or judging one submission becomes that submission's
rows (``unreadable``, ``error`` or ``timeout``) with a note that says what happened; the run goes on,
and the CSV always has one row per submission and question.

Statuses: ``ok`` (every case passed), ``failed`` (it ran, some case was wrong or raised; partial
points = points x passed cases / cases), ``error`` (no such function, the process died or was
stopped by the watchdog before the question was graded), ``timeout`` (its cases, or the whole
submission, ran out of time), ``unreadable`` (not a notebook, or its exercise set could not be told).

Threat model
------------
Protected against, by design, with no container: answers that raise, loop (catching the soft
limit's exception included), exhaust memory, exit the interpreter (``sys.exit``, ``os._exit``),
modify their inputs, return NaN or the wrong type, dtype, shape or device, or return tensor
subclasses that lie about their dtype, shape or device, override ``__torch_function__`` or cannot
be copied (the child reads tensors through torch's own getters and copies them into plain tensors;
the parent rebuilds every value and reads dtype and shape from the data); notebooks that are not
valid JSON, are empty, nested thousands deep, have 10,000 cells (cost is linear), syntax errors,
code too deeply nested to compile, deleted or edited check cells or edited metadata; file names
that are not UTF-8; printed fake scores (stdout is never read); patching the grading code from the
notebook (judging happens in another process); forged results (records need an HMAC under a
per-run random token and are loaded with ``weights_only=True``); a child or server that is
stopped (SIGSTOP), killed, ignores signals or stops answering (every read has a deadline; at the
limit the watchdog kills the child's process group, every process below the fork server, which
adopts orphans so a double fork does not escape, and the server itself); fork bombs (the watchdog
counts the submission's processes four times a second and stops it past ``processes``; where the
kernel applies it, RLIMIT_NPROC is a backstop); memory spread over forks (the watchdog sums the
proportional anonymous memory, ``Pss_Anon``, of the server and all the submission's processes, so
forks cannot multiply ``memory_mb``; each process also has RLIMIT_DATA); a submission deleting
other submissions' files: each child's brief arrives in memory and its results and stderr leave
through pipes only it holds, so deleting every scratch folder changes no other grade.

Needs a container (or one user per submission), because without one every child runs as the
teacher's user on the teacher's machine: a student who deliberately attacks the grader can read
the token from the child's memory and report made-up outputs (they still have to be the right
outputs); read any file the teacher's account can read (other submissions, the private tests);
use the network; write or delete files anywhere the teacher can, including another running
submission's working folder (which can break that notebook's own file I/O, though not its
results); signal or ptrace the teacher's other processes, the grader and other submissions
included (``os.kill(-1, SIGKILL)`` kills everything the user runs); use the GPU's memory (no
limit covers it). The memory and process watch are Linux-only, and they look every 0.25 s, so a
burst in between is caught only afterwards (RLIMIT_DATA per process still applies); RLIMIT_NPROC
counts per user and not for root. The course's solutions are public, so copying them is a matter
for academic honesty, not the grader.

For high-stakes grading, :mod:`nnbook.grading.containers` runs one container per submission (its
own PID and mount namespaces, no network, a read-only root, an unprivileged user, cgroup limits on
memory and processes), so submissions cannot see or touch each other or the teacher's files.
"""

import csv
import os
import re
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import torch

from nnbook.grading import feedback
from nnbook.grading.notebooks import choose_set, find_notebooks, read_submission
from nnbook.grading.registry import load_sets
from nnbook.grading.runner import QuestionResult, judge, plan, summarize, unanswered
from nnbook.grading.sandbox import ServerLost, ServerPool, memory_limit_supported

__all__ = ["Limits", "SubmissionGrade", "grade_folder", "unreadable_grade", "feedback_path", "csv_rows", "write_csv",
           "write_feedback", "summary_table", "CSV_COLUMNS"]

CSV_COLUMNS = ("submission", "exercise_set", "question", "points", "max_points", "status")


@dataclass(frozen=True)
class Limits:
    """Per-submission limits: wall-clock seconds, extra memory in MB, written-file size in MB."""

    timeout: float = 60.0
    memory_mb: int = 2048
    file_mb: int = 256
    threads: int = 1  # torch threads inside each child
    processes: int = 16  # processes a submission may start besides its own (0: no limit)

    def __post_init__(self):
        if not self.timeout > 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.memory_mb < 0 or self.file_mb < 1 or self.threads < 1 or self.processes < 0:
            raise ValueError("memory_mb and processes must be >= 0 (0: no limit), file_mb and threads >= 1")


@dataclass
class SubmissionGrade:
    submission: str
    exercise_set: str = ""
    title: str = ""
    questions: List[QuestionResult] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    seconds: float = 0.0  # grading this submission, not counting the start of a fork server
    server_start: float = 0.0

    @property
    def points(self) -> float:
        return round(sum(q.points for q in self.questions), 2)

    @property
    def max_points(self) -> float:
        return sum(q.max_points for q in self.questions)


# --------------------------------------------------------------------------- one submission

def _brief(submission, exercise, tests_dir, limits: Limits, cuda: bool) -> dict:
    return {
        "cells": submission.cells, "exercise_set": exercise.name,
        # Absolute, because the child works in a scratch folder of its own.
        "tests_dir": str(Path(tests_dir).resolve()) if tests_dir else None, "cuda": cuda, "threads": limits.threads,
        "memory_mb": limits.memory_mb, "file_mb": limits.file_mb,
        "max_processes": limits.processes or 2**20,
        "step_seconds": limits.timeout / (len(exercise.questions) + 2),
    }


def _why_missing(outcome, limits: Limits):
    """(status, message) for a question the child never reported."""
    if outcome.timed_out:
        return "timeout", f"the submission ran past its {limits.timeout:g} s time limit before this question"
    if outcome.killed_for:
        return "error", f"the grader stopped the submission before this question: {outcome.killed_for}"
    code = outcome.returncode
    if code is None:
        return "error", "the grading process was lost before this question (its server was killed)"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return "error", f"the grading process was killed by {name} before this question"
    return "error", f"the notebook ended the grading process (exit code {code}) before this question"


def _grade_question(question, record, outcome, limits, cuda) -> QuestionResult:
    if record is None:
        return unanswered(question, *_why_missing(outcome, limits))
    if "missing" in record:
        return unanswered(question, "error", str(record["missing"]))
    seen = {obs.get("case"): obs for obs in record["observations"] if isinstance(obs, dict)}
    return summarize(question, [judge(question, key, case, device, seen.get(key))
                                for key, case, device in plan(question, public_only=False, cuda=cuda)])


def _stopped_in_cell(submission, outcome):
    """The number of the cell that was running when the process stopped, if it was one."""
    ran = outcome.records.get("cells", {}).get("cells", [])
    if "done" in outcome.records or len(ran) >= len(submission.cells):
        return None
    return submission.cells[len(ran)][0]


def _cell_number(note: str) -> float:
    match = re.match(r"cell (\d+):", note)
    return int(match.group(1)) if match else float("inf")


def _notes(submission, outcome) -> List[str]:
    notes = []
    stopped = _stopped_in_cell(submission, outcome)
    if stopped is not None:
        how = ("ran out of time" if outcome.timed_out else
               "was stopped by the grader" if outcome.killed_for else "ended")
        notes.append(f"cell {stopped}: the grading process {how} while running this cell")
    cells = outcome.records.get("cells", {})
    for cell in cells.get("cells", []):
        if cell.get("status") != "ok":
            notes.append(f"cell {cell.get('cell')}: {cell.get('message')}")
    notes += list(cells.get("skipped", []))
    notes.sort(key=_cell_number)  # in notebook order; notes about no cell keep their place at the end
    if outcome.killed_for:
        notes.append(f"the grader stopped the submission: {outcome.killed_for}")
    if outcome.rejected:
        notes.append(f"ignored results that failed verification: {', '.join(outcome.rejected)}")
    if "done" not in outcome.records and not outcome.timed_out and outcome.stderr_tail:
        notes.append("the grading process stopped early; the end of its error output reads:\n"
                     + outcome.stderr_tail)
    return notes


def grade_submission(submission, exercise, tests_dir, limits: Limits, cuda: bool, server) -> SubmissionGrade:
    """Run (on ``server``, a sandbox.ForkServer) and judge one readable submission against ``exercise``."""
    grade = SubmissionGrade(submission.name, exercise.name, exercise.title)
    try:
        outcome = server.run(_brief(submission, exercise, tests_dir, limits, cuda), limits.timeout,
                             memory_mb=limits.memory_mb if memory_limit_supported() else 0,
                             max_processes=limits.processes)
    except ServerLost as exc:  # the next submission starts a new server
        grade.questions = [unanswered(q, "error", f"the grader could not run it: {exc}") for q in exercise.questions]
        return grade
    for question in exercise.questions:
        record = outcome.records.get(question.id)
        try:
            result = _grade_question(question, record, outcome, limits, cuda)
        except Exception:  # a malformed record comes from the submission: its own fault, not fatal
            result = unanswered(question, "error", "the grader could not read this question's results")
        grade.questions.append(result)
    try:
        grade.notes = _notes(submission, outcome)
    except Exception:  # a malformed cell report
        grade.notes = ["the report on the notebook's cells could not be read"]
    grade.server_start = outcome.server_start
    return grade


def unreadable_grade(submission, exercise, reason: str) -> SubmissionGrade:
    """Rows of status ``unreadable`` for every question of ``exercise`` (none when it is None)."""
    grade = SubmissionGrade(submission.name, exercise.name if exercise else "", exercise.title if exercise else "")
    questions = exercise.questions if exercise else ()
    grade.questions = [unanswered(q, "unreadable", "") for q in questions]
    grade.notes = [reason]  # said once, in the notes, rather than on every question's line
    return grade


# --------------------------------------------------------------------------- a folder

def _plan_folder(folder: Path, sets: dict, forced: Optional[str]):
    """[(submission, set name or None, note)], with the folder's common set as the fallback."""
    submissions = [read_submission(path, folder) for path in find_notebooks(folder)]
    chosen = [(s, *_choose(s, sets, forced)) if not s.error else (s, None, "") for s in submissions]
    common = {name for _, name, _ in chosen if name}
    fallback = forced or (common.pop() if len(common) == 1 else None)
    jobs = []
    for submission, name, note in chosen:
        if name is None and fallback and not submission.error:
            name, note = fallback, f"graded as {fallback!r}, the exercise set of the other notebooks in the folder"
        jobs.append((submission, name or fallback, note))
    return jobs


def _choose(submission, sets, forced):
    try:
        return choose_set(submission, sets, forced)
    except Exception as exc:  # analysing one notebook must not stop the run
        submission.error = f"the grader could not analyse its code ({type(exc).__name__})"
        return None, ""


def _grade_one(submission, set_name, note, sets, tests_dir, limits, cuda, servers) -> SubmissionGrade:
    start = time.monotonic()
    exercise = sets.get(set_name) if set_name else None
    try:
        grade = _grade_or_explain(submission, exercise, tests_dir, limits, cuda, servers)
    except Exception as exc:  # the last line of defence: the submission keeps its rows
        grade = unreadable_grade(submission, exercise, f"internal grader error: {type(exc).__name__}: {exc}")
        for q in grade.questions:
            q.status = "error"
    if note:
        grade.notes.insert(0, note)
    grade.seconds = time.monotonic() - start - grade.server_start
    return grade


def _grade_or_explain(submission, exercise, tests_dir, limits, cuda, servers) -> SubmissionGrade:
    if submission.error:
        grade = unreadable_grade(submission, exercise, f"unreadable: {submission.error}")
    elif exercise is None:
        grade = unreadable_grade(submission, None, "unreadable: could not tell which exercise set this "
                                              "notebook belongs to; grade it with --set NAME")
    else:
        try:
            with servers.server() as server:
                grade = grade_submission(submission, exercise, tests_dir, limits, cuda, server)
        except Exception as exc:  # the grader's own failure must not lose the submission
            grade = SubmissionGrade(submission.name, exercise.name, exercise.title,
                                    [unanswered(q, "error", "internal grader error") for q in exercise.questions],
                                    [f"internal grader error: {type(exc).__name__}: {exc}"])
    return grade


def grade_folder(folder, *, tests_dir=None, set_name: Optional[str] = None, limits: Limits = Limits(),
                 workers: Optional[int] = None, progress: bool = False) -> List[SubmissionGrade]:
    """Grade every ``.ipynb`` under ``folder``; returns one SubmissionGrade per file, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    sets = load_sets(tests_dir)
    if set_name is not None and set_name not in sets:
        raise KeyError(f"no exercise set named {set_name!r}; known sets: {', '.join(sorted(sets))}")
    jobs = _plan_folder(folder, sets, set_name)
    cuda = torch.cuda.is_available()
    workers = workers or min(8, os.cpu_count() or 1)
    bar = _progress_bar(len(jobs), progress)
    grades, servers = [], ServerPool()
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_grade_one, s, name, note, sets, tests_dir, limits, cuda, servers)
                       for s, name, note in jobs]
            for future in as_completed(futures):
                grades.append(future.result())
                bar.update(1)
    finally:
        bar.close()
        servers.close()
    return sorted(grades, key=lambda g: g.submission)


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="grading", unit="notebook", disable=not enabled)


# --------------------------------------------------------------------------- outputs

def csv_rows(grades):
    """One row per submission and question (one row with an empty question when none apply)."""
    for grade in grades:
        if not grade.questions:
            yield [grade.submission, grade.exercise_set, "", "0", "0", "unreadable"]
        for q in grade.questions:
            yield [grade.submission, grade.exercise_set, q.question_id, feedback.points_text(q.points),
                   feedback.points_text(q.max_points), q.status]


def write_csv(grades, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([feedback.safe_text(cell) for cell in row] for row in csv_rows(grades))


def feedback_path(folder, submission: str) -> Path:
    """feedback/alice/Copy of 01.txt for the submission alice/Copy of 01.ipynb (and
    feedback/alice/Copy of 01.IPYNB.txt for alice/Copy of 01.IPYNB, so the two do not collide)."""
    name = Path(feedback.safe_text(submission))
    if name.suffix == ".ipynb":
        return Path(folder) / name.with_suffix(".txt")
    return Path(folder) / name.with_name(name.name + ".txt")  # alice.IPYNB.txt: never alice.ipynb's file


def write_feedback(grades, folder) -> None:
    """One feedback file per submission; a file that cannot be written is said in the file's place
    on stderr, and the others are still written."""
    for grade in grades:
        path = feedback_path(folder, grade.submission)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(feedback.submission_report(grade), encoding="utf-8", errors="backslashreplace")
        except OSError as exc:
            print(f"nnbook-grade: could not write feedback {path}: {exc}", file=sys.stderr)


def summary_table(grades) -> str:
    """Per exercise set and question: points, mean, and how many submissions got each status."""
    statuses = ("ok", "failed", "error", "timeout", "unreadable")
    header = f"{'question':<10}{'max':>6}{'mean':>8}" + "".join(f"{s:>12}" for s in statuses)
    lines = []
    for set_name in sorted({g.exercise_set for g in grades}):
        group = [g for g in grades if g.exercise_set == set_name]
        lines += ["", f"{set_name or '(no exercise set)'}: {len(group)} submissions", header]
        ids = list(dict.fromkeys(q.question_id for g in group for q in g.questions))
        for qid in ids:
            results = [q for g in group for q in g.questions if q.question_id == qid]
            mean = sum(q.points for q in results) / len(results)
            counts = "".join(f"{sum(q.status == s for q in results):>12}" for s in statuses)
            lines.append(f"{qid:<10}{feedback.points_text(results[0].max_points):>6}{mean:>8.2f}{counts}")
        if ids:
            total_mean = sum(g.points for g in group) / len(group)
            lines.append(f"{'total':<10}{feedback.points_text(group[0].max_points):>6}{total_mean:>8.2f}")
    return "\n".join(lines).lstrip("\n")
