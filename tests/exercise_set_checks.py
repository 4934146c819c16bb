"""What every ``tests/test_exercise_set_NN.py`` needs: grading a notebook with the ``nnbook-grade``
command, counting the cases a wrong answer fails, and collecting the lines of the solutions and
the texts (hints, stubs) that must not contain them."""

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


def grade(tmp_path, notebook: Path):
    """Run the nnbook-grade command on one notebook (with the private tests); return its CSV rows
    and its feedback text."""
    (tmp_path / "in").mkdir()
    shutil.copy(notebook, tmp_path / "in" / "submission.ipynb")
    shutil.copytree(PRIVATE_TESTS, tmp_path / "private")
    result = subprocess.run(
        ["nnbook-grade", "in", "--out", "grades.csv", "--feedback", "fb", "--tests", "private",
         "--timeout", "120", "--memory", "2048", "--workers", "1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8")))
    return rows, (tmp_path / "fb" / "submission.txt").read_text(encoding="utf-8")


def failures(exercise_set, question_id, answer):
    """How many of a question's cases (public and instructor, CPU) ``answer`` fails."""
    question = exercise_set.question(question_id)
    results = [runner.judge(question, key, case, device, runner.observe(question, key, case, device, answer))
               for key, case, device in runner.plan(question, public_only=False, cuda=False)]
    return sum(not r.passed for r in results)


def solution_lines(solution: Path, trivial=()):
    """Every non-trivial line of code inside a solution block (comments stripped)."""
    source = "\n".join(c.source for c in nbformat.read(solution, 4).cells if c.cell_type == "code")
    lines = {line.split("#")[0].strip() for block in BLOCK.findall(source) for line in block.splitlines()}
    return {line for line in lines if len(line) > 6 and line not in set(trivial)}


def hints_and_stubs(exercise_set, exercise: Path):
    """The hints of the set and of its cases, and the code cells of the generated exercises."""
    texts = [q.hint for q in exercise_set.questions] + [c.hint for q in exercise_set.questions for c in q.cases]
    texts += [c.source for c in nbformat.read(exercise, 4).cells if c.cell_type == "code"]
    return texts


def assert_full_marks(tmp_path, exercise_set, solution: Path, question_id, extra_private_cases):
    """The solution scores full marks, and ``question_id`` runs its cases plus the private ones."""
    rows, report = grade(tmp_path, solution)
    assert len(rows) == len(exercise_set.questions)
    top = exercise_set.max_points
    assert f"Score: {top:g} / {top:g}" in report, report
    question = exercise_set.question(question_id)
    cases = len(question.cases) + extra_private_cases
    line = rf"^{question_id} +{question.answer} +{question.points:g} / {question.points:g} +ok +{cases} of {cases} cases passed$"
    assert re.search(line, report, re.M), report


def assert_zero(tmp_path, exercise_set, exercise: Path):
    _, report = grade(tmp_path, exercise)
    assert f"Score: 0 / {exercise_set.max_points:g}" in report, report


def assert_more_instructor_cases_than_public_ones(exercise_set):
    for question in exercise_set.questions:
        public = sum(case.public for case in question.cases)
        assert 1 <= public < len(question.cases) - public, question.id


def assert_no_solution_line_leaks(lines, texts, at_least=8):
    """No line of a solution block appears in any hint or stub."""
    assert len(lines) >= at_least
    for text in texts:
        for line in lines:
            assert line not in text, f"{line!r} leaks into {text[:80]!r}"


def assert_no_giveaway(giveaway, texts):
    """The regular expression ``giveaway`` matches no hint, and no stub's hint line."""
    for text in texts:
        stub_lines = [line for line in text.splitlines() if "NotImplementedError" in line or "hint" in line]
        checked = "\n".join(stub_lines) if "\n" in text else text
        assert not re.search(giveaway, checked), f"{giveaway!r} in {checked[:120]!r}"
