"""Checks every exercise set's test file runs (tests/test_exercise_set_NN.py): grade a notebook with
the ``nnbook-grade`` command, count the cases a wrong answer fails, and collect the solution lines
and the hints that must not contain them. A plain module next to the tests, imported by name."""

import csv
import re
import shutil
import subprocess
from pathlib import Path

import nbformat

from nnbook.grading import runner

ROOT = Path(__file__).resolve().parents[1]
PRIVATE_TESTS = ROOT / "tests" / "grading_private"
BLOCK = re.compile(r"### BEGIN SOLUTION.*?\n(.*?)### END SOLUTION", re.S)


def grade(tmp_path, notebook: Path, private_tests: Path = PRIVATE_TESTS):
    """Run the nnbook-grade command on one notebook; return its CSV rows and its feedback text."""
    (tmp_path / "in").mkdir()
    shutil.copy(notebook, tmp_path / "in" / "submission.ipynb")
    shutil.copytree(private_tests, tmp_path / "private")
    result = subprocess.run(
        ["nnbook-grade", "in", "--out", "grades.csv", "--feedback", "fb", "--tests", "private",
         "--timeout", "120", "--memory", "2048", "--workers", "1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    return rows, (tmp_path / "fb" / "submission.txt").read_text(encoding="utf-8")


def failures(exercise_set, question_id, answer):
    """How many of a question's cases (public and instructor, CPU only) ``answer`` fails."""
    question = exercise_set.question(question_id)
    results = [runner.judge(question, key, case, device,
                            runner.observe(question, key, case, device, answer))
               for key, case, device in runner.plan(question, public_only=False, cuda=False)]
    return sum(not r.passed for r in results)


def solution_lines(solution: Path, trivial=frozenset()):
    """Every non-trivial line of code inside a solution block (comments stripped)."""
    source = "\n".join(c.source for c in nbformat.read(solution, 4).cells if c.cell_type == "code")
    lines = {line.split("#")[0].strip() for block in BLOCK.findall(source)
             for line in block.splitlines()}
    return {line for line in lines if len(line) > 6 and line not in trivial}


def hints_and_stubs(exercise_set, exercise: Path):
    """Every hint of the set and the source of every code cell of the generated exercises."""
    texts = [q.hint for q in exercise_set.questions]
    texts += [c.hint for q in exercise_set.questions for c in q.cases]
    texts += [c.source for c in nbformat.read(exercise, 4).cells if c.cell_type == "code"]
    return texts
