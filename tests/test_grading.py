"""nnbook.grading: the public checks, the judging rules, and the grader on a corpus of bad notebooks.

The corpus is generated from solutions/01-neurons-and-layers.ipynb at test time (so it always
matches the current solution), graded once per session in parallel, and every entry's statuses,
points and feedback are checked against what the grader must say about it.
"""

import csv
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from nnbook.grading import Case, ExerciseSet, Question, exercise_set
from nnbook.grading import child, cli, feedback, notebooks, registry, runner, sandbox, values
from nnbook.grading.grader import (CSV_COLUMNS, Limits, csv_rows, grade_folder, summary_table, write_csv,
                                   write_feedback)

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01-neurons-and-layers.ipynb"
EXERCISE = ROOT / "exercises" / "01-neurons-and-layers.ipynb"
PRIVATE_TESTS = ROOT / "tests" / "grading_private"
SET_NAME = "01-neurons-and-layers"
EX = exercise_set(SET_NAME)
# Modest limits keep the corpus fast: 10 s per submission gives each cell and question 2 s
# (a solution needs well under one).
LIMITS = Limits(timeout=10, memory_mb=512)
STEP = f"{LIMITS.timeout / 5:g}"  # three questions + 2


def linear_forward(x, weight, bias):
    y = x @ weight.T
    return y if bias is None else y + bias


def count_parameters(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def compose_linear(w1, b1, w2, b2):
    return w2 @ w1, w2 @ b1 + b2


# =========================================================================== values: encode, compare

def enc(value):
    return values.encode(value)


@pytest.mark.parametrize("got, message", [
    (torch.zeros(2, 3, dtype=torch.float64), "should have dtype torch.float32, but it has dtype torch.float64"),
    (torch.zeros(3, 2), "should have shape (2, 3), but it has shape (3, 2)"),
    (torch.zeros(2, 3, device="meta"), "should be on the inputs' device (cpu), but it is on meta"),
    (torch.full((2, 3), float("nan")), "contains NaN at 6 of 6 positions"),
    ([[0.0] * 3] * 2, "should be a torch.Tensor, but it is a list of 2 items"),
    (torch.tensor([[0.0, 0, 0], [0, 0.5, 0]]), "wrong values at 1 of 6 positions; at index [1, 1] it should be 0 but is 0.5"),
])
def test_compare_names_what_is_wrong(got, message):
    problem = values.compare(enc(torch.zeros(2, 3)), enc(got))
    assert problem is not None and message in problem


def test_compare_accepts_a_correct_answer_within_tolerance():
    want = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    assert values.compare(enc(want), enc(want + 1e-7)) is None
    assert values.compare(enc((want, 3)), enc([want.clone(), 3])) is None  # a list where a tuple was expected


def test_compare_is_strict_about_ints_and_sequence_lengths():
    assert "should be the int 8, but it is the float 8.0" in values.compare(enc(8), enc(8.0))
    assert "should be the int 8, but it is the bool True" in values.compare(enc(8), enc(True))
    assert values.compare(enc(8), enc(7)) == "the result should be 8, but it is 7"
    assert "should have 2 items, but it has 1" in values.compare(enc((1, 2)), enc([1]))


def test_encode_survives_hostile_objects():
    class Hostile:
        def __repr__(self):
            raise RuntimeError("no repr for you")

    encoded = enc(Hostile())
    assert encoded[0] == "other" and "Hostile" in encoded[1]
    big = enc(torch.empty(values.MAX_TENSOR_ELEMENTS + 1, device="meta"))
    assert big[4] is None
    nested = enc([[[[[[[[[[[[1]]]]]]]]]]]])  # deeper than MAX_DEPTH becomes 'other', not a recursion error
    assert nested[0] == "list"


def test_encoded_values_load_with_weights_only():
    payload = enc((torch.ones(2), 3, 2.5, True, None, "text", [1], {"k": torch.zeros(1)}, object()))
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    assert values.compare(payload, loaded) is None


# =========================================================================== questions and sets

def test_questions_and_sets_reject_bad_definitions():
    case = Case("one", lambda device: (1,), public=True)
    with pytest.raises(ValueError, match="question id"):
        Question(id="1 q", answer="f", args=("x",), reference=abs, cases=(case,), points=1)
    with pytest.raises(ValueError, match="answer must be a Python name"):
        Question(id="q1", answer="not a name", args=("x",), reference=abs, cases=(case,), points=1)
    with pytest.raises(ValueError, match="public case"):
        Question(id="q1", answer="f", args=("x",), reference=abs, cases=(Case("one", case.make_args),), points=1)
    with pytest.raises(ValueError, match="share a name"):
        Question(id="q1", answer="f", args=("x",), reference=abs, cases=(case, case), points=1)
    with pytest.raises(ValueError, match="points"):
        Question(id="q1", answer="f", args=("x",), reference=abs, cases=(case,), points=0)
    question = Question(id="q1", answer="f", args=("x",), reference=abs, cases=(case,), points=1)
    with pytest.raises(ValueError, match="share an id"):
        ExerciseSet("demo", "Demo", (question, question))
    with pytest.raises(KeyError, match="no question 'q9'.*q1"):
        ExerciseSet("demo", "Demo", (question,)).question("q9")


def test_registry_finds_the_course_sets_and_names_unknown_ones():
    assert SET_NAME in registry.builtin_sets()
    assert EX.max_points == 10 and [q.id for q in EX.questions] == ["q1", "q2", "q3"]
    with pytest.raises(KeyError, match="known sets: .*01-neurons-and-layers"):
        exercise_set("99-nothing")


def test_every_question_has_more_instructor_cases_than_public_ones():
    for question in EX.questions:
        public = [c for c in question.cases if c.public]
        assert len(question.cases) >= 2 * len(public), question.id


def test_private_tests_replace_and_add_sets(tmp_path):
    sets = registry.load_sets(PRIVATE_TESTS)
    assert len(sets[SET_NAME].question("q2").cases) == len(EX.question("q2").cases) + 1
    assert "zz-doubling" in sets
    (tmp_path / "broken.py").write_text("X = 1\n")
    with pytest.raises(ValueError, match="must define EXERCISE_SET"):
        registry.private_sets(tmp_path)
    with pytest.raises(FileNotFoundError):
        registry.private_sets(tmp_path / "missing")


def test_a_call_hook_lets_a_question_grade_a_class(device):
    """Later chapters ask for classes; ``call`` says how to exercise one."""
    class Doubler:
        def __call__(self, x):
            return 2 * x

    question = Question(id="q1", answer="Doubler", args=("x",), reference=Doubler, points=1,
                        call=lambda cls, args: cls()(*args),
                        cases=(Case("ones", lambda d: (torch.ones(3, device=d),), public=True),))
    key, case, dev = runner.plan(question, public_only=True, cuda=False)[0]
    observation = runner.observe(question, key, case, str(device), Doubler)
    assert runner.judge(question, key, case, device.type, observation).passed


# =========================================================================== the public check

def test_check_prints_a_pass_for_the_solution(capsys):
    EX.check("q1", linear_forward)
    out = capsys.readouterr().out
    assert out.startswith("q1 · linear_forward: all 2 public checks passed.")


def test_check_prints_expected_versus_got_and_hints(capsys):
    EX.check("q1", lambda x, weight, bias: (x @ weight.T + bias).T)
    out = capsys.readouterr().out
    assert "0 of 2 public checks passed" in out
    assert "✗ a batch of 4 images: 784 inputs -> 512 outputs" in out
    assert "should have shape (4, 512), but it has shape (512, 4)" in out
    assert "hint: the result has one row per sample" in out
    assert "Hint for q1: nn.Linear stores weight as (out_features, in_features)" in out


def test_check_reports_exceptions_stubs_and_non_functions(capsys):
    def stub(sizes):
        raise NotImplementedError("Replace this line with your answer.")

    EX.check("q2", stub)
    EX.check("q2", lambda sizes: 1 / 0)
    EX.check("q3", 42)
    out = capsys.readouterr().out
    assert "not answered yet: it still raises NotImplementedError" in out
    assert "raised ZeroDivisionError: division by zero" in out
    assert "could not check it: compose_linear should be a function, but it is of type int" in out


def test_check_rejects_an_unknown_question():
    with pytest.raises(KeyError, match="no question 'q4'"):
        EX.check("q4", linear_forward)


def test_check_is_silent_in_grading_mode(capsys, monkeypatch):
    from nnbook.grading import questions

    monkeypatch.setattr(questions, "_grading_mode", True)
    EX.check("q1", linear_forward)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("question_id, answer", [("q1", linear_forward), ("q2", count_parameters),
                                                 ("q3", compose_linear)])
def test_every_case_passes_a_correct_answer_on_every_device(device, question_id, answer):
    """Cases, references and tolerances agree, on the CPU and (when present) the GPU."""
    question = EX.question(question_id)
    for key, case, dev in runner.plan(question, public_only=False, cuda=device.type == "cuda"):
        result = runner.judge(question, key, case, dev, runner.observe(question, key, case, dev, answer))
        assert result.passed, (key, result.message)


def test_judge_catches_inputs_modified_in_place():
    def zeroing(x, weight, bias):
        y = linear_forward(x, weight, bias)
        x.zero_()
        return y

    question = EX.question("q1")
    key, case, dev = runner.plan(question, public_only=True, cuda=False)[0]
    result = runner.judge(question, key, case, dev, runner.observe(question, key, case, dev, zeroing))
    assert not result.passed and "changed its argument `x` in place" in result.message


def test_judge_survives_malformed_observations():
    question = EX.question("q1")
    key, case, dev = runner.plan(question, public_only=True, cuda=False)[0]
    for junk in ({"outcome": "returned"}, {"outcome": "returned", "output": 5, "args_after": None}):
        result = runner.judge(question, key, case, dev, junk)
        assert not result.passed and "could not read" in result.message


# =========================================================================== reading submissions

@pytest.mark.parametrize("content, reason", [
    (b"", "the file is empty"),
    (b"{not json", "not valid notebook JSON"),
    (b'{"hello": "world"}', "not a Jupyter notebook"),
    (bytes(range(256)), "not UTF-8"),
    (b'{"nbformat": 3, "cells": []}', "format 3"),
    (b'{"cells": [{"cell_type": "code", "source": 5}]}', "cell 1 has a malformed source"),
])
def test_unreadable_files_get_a_reason(tmp_path, content, reason):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    assert reason in notebooks.read_submission(path, tmp_path).error


def _submission(code, metadata_set=None):
    return notebooks.Submission(Path("x.ipynb"), "x.ipynb", [(1, code)], metadata_set)


def test_the_exercise_set_comes_from_metadata_checked_against_the_code():
    sets = registry.load_sets(PRIVATE_TESTS)
    answers_01 = "def linear_forward(x, w, b): pass\ndef count_parameters(s): pass\n"
    assert notebooks.choose_set(_submission(answers_01, SET_NAME), sets) == (SET_NAME, "")
    # Metadata claiming another set cannot move a notebook away from the answers it defines.
    name, note = notebooks.choose_set(_submission(answers_01, "zz-doubling"), sets)
    assert name == SET_NAME and "its metadata says 'zz-doubling'" in note
    name, note = notebooks.choose_set(_submission("def double(x):\n    return 2 * x\n"), sets)
    assert name == "zz-doubling" and "no exercise-set metadata" in note
    # Magics make a cell unparsable; a line scan still finds the definitions.
    assert notebooks.choose_set(_submission("%matplotlib inline\n" + answers_01), sets)[0] == SET_NAME
    assert notebooks.choose_set(_submission("print(1)"), sets) == (None, "")
    assert notebooks.choose_set(_submission("print(1)", "zz-doubling"), sets, forced=SET_NAME)[0] == SET_NAME


# =========================================================================== the child, in pieces

def test_cells_that_fail_are_recorded_and_do_not_stop_the_next():
    namespace, shell = child.fresh_namespace()
    assert child.run_cell(1, "def f(:\n", namespace, 5)["message"].startswith("SyntaxError")
    assert "SystemExit" in child.run_cell(2, "import sys\nsys.exit(3)", namespace, 5)["message"]
    assert child.run_cell(3, "while True:\n    pass", namespace, 0.2)["status"] == "timeout"
    shell.cell_number = 4
    assert child.run_cell(4, "%pip install x\n!ls\nout = !ls\ny = 7", namespace, 5)["status"] == "ok"
    assert namespace["y"] == 7 and namespace["out"] == []
    assert shell.skipped == ["cell 4: skipped %pip"] + ["cell 4: skipped a shell command (!)"] * 2
    assert child.run_cell(5, "%%time\nz = 8", namespace, 5)["status"] == "ok" and namespace["z"] == 8


def test_observe_question_explains_a_missing_answer():
    namespace = {"linear_forward": 3}
    assert "no function named count_parameters" in child.observe_question(EX.question("q2"), namespace, 5, False)["missing"]
    assert "should be a function" in child.observe_question(EX.question("q1"), namespace, 5, False)["missing"]


def test_only_records_signed_with_the_token_are_read(tmp_path):
    token = b"a-secret-token"
    child.Reporter(tmp_path, token).write("q1", {"observations": []})
    child.Reporter(tmp_path, b"a-guessed-token").write("q2", {"observations": []})
    (tmp_path / "q3.rec").write_bytes(b"0" * 64 + b"\nnot a torch file")
    genuine = (tmp_path / "q1.rec").read_bytes()
    (tmp_path / "q4.rec").write_bytes(genuine)  # a real record renamed to stand for another question
    records, rejected = sandbox.read_records(tmp_path, token)
    assert records == {"q1": {"observations": []}}
    assert rejected == ["q2", "q3", "q4"]


# =========================================================================== the corpus

def solution_notebook():
    return nbformat.read(SOLUTION, as_version=4)


def answer_cell(nb, name):
    return next(cell for cell in nb.cells if cell.cell_type == "code" and f"def {name}(" in cell.source)


def with_answers(base=solution_notebook, **answers):
    """A builder: the base notebook with the named answer cells replaced."""
    def build():
        nb = base()
        for name, source in answers.items():
            answer_cell(nb, name).source = source
        return nb
    return build


def with_cell(*codes, after, base=solution_notebook):
    """A builder: the base notebook with code cells inserted after the first cell containing ``after``."""
    def build():
        nb = base()
        index = next(i for i, c in enumerate(nb.cells) if after in c.source) + 1
        nb.cells[index:index] = [nbformat.v4.new_code_cell(code) for code in codes]
        return nb
    return build


def exercise_notebook():
    return nbformat.read(EXERCISE, as_version=4)


def without_checks():
    nb = solution_notebook()
    nb.cells = [c for c in nb.cells if "ex.check(" not in c.source]
    return nb


def with_fake_scores():
    nb = exercise_notebook()
    for cell in nb.cells:
        if "ex.check(" in cell.source:
            cell.source = 'print("All checks passed! Score: 10 / 10")'
    nb.cells.append(nbformat.v4.new_code_cell(
        'print("q1 ok 3/3\\nq2 ok 3/3\\nq3 ok 4/4")\nopen("q1.rec", "wb").write(b"0" * 64 + b"\\nforged")'))
    return nb


def with_metadata(value):
    def build():
        nb = solution_notebook()
        if value is None:
            del nb.metadata["nnbook"]
        else:
            nb.metadata["nnbook"]["exercise_set"] = value
        return nb
    return build


TAMPER = '''import torch
import nnbook.grading.runner as runner
import nnbook.grading.values as values

values.compare = lambda *args, **kwargs: None
runner.judge = lambda question, key, *rest: runner.CaseResult(key, True)
torch.testing.assert_close = lambda *args, **kwargs: None
print("Score: 10 / 10")'''

NOISY = (
    "%matplotlib inline\n!pip install --quiet something-that-does-not-exist",
    "big = torch.empty(10**9)  # 4 GB: far past the memory limit",
    "name = input('Your name? ')",
    "while True:\n    pass",
)

FORK = '''import os, time
pid = os.fork()
if pid == 0:
    time.sleep(600)
    os._exit(0)
open({path!r}, "w").write(str(pid))'''

OK3 = ("ok", "ok", "ok")

# name -> (builder returning a notebook or bytes, statuses of q1..q3, text the feedback must contain)
CORPUS = {
    "solution.ipynb": (solution_notebook, OK3, ["Score: 10 / 10"]),
    "exercise.ipynb": (exercise_notebook, ("failed",) * 3,
                       ["✗ all 8 cases\n      not answered yet: it still raises NotImplementedError", "Score: 0 / 10"]),
    "class_b/Copy of solution.ipynb": (solution_notebook, OK3, ["Submission: class_b/Copy of solution.ipynb"]),
    "no_check_cells.ipynb": (without_checks, OK3, []),
    "broken_answers.ipynb": (with_answers(
        linear_forward="def linear_forward(x, weight, bias):\n    scale = 1 / 0\n    return x",
        count_parameters="def count_parameters(layer_sizes):\n    while True:\n        pass",
        compose_linear="def compose_linear(w1, b1, w2, b2):\n    hoard = [0.0] * (5 * 10**8)  # 4 GB of pointers\n"
                       "    return w2 @ w1, w2 @ b1 + b2"),
        ("failed", "timeout", "failed"),
        ["raised ZeroDivisionError: division by zero (cell 5, line 2)", "stopped: it ran past the time limit",
         "raised MemoryError"]),
    "wrong_outputs.ipynb": (with_answers(
        linear_forward="def linear_forward(x, weight, bias):\n    y = x @ weight.T\n"
                       "    return (y if bias is None else y + bias).double()",
        count_parameters="def count_parameters(s):\n    return float(sum(a * b + b for a, b in zip(s, s[1:])))",
        compose_linear="def compose_linear(w1, b1, w2, b2):\n    return (w2 @ w1).to('meta'), w2 @ b1 + b2"),
        ("failed",) * 3,
        ["should have dtype torch.float32, but it has dtype torch.float64", "should be the int 8, but it is the float 8.0",
         "the returned W should be on the inputs' device (cpu), but it is on meta"]),
    "nan_shape_mutation.ipynb": (with_answers(
        linear_forward="def linear_forward(x, weight, bias):\n    return (x @ weight.T).reshape(-1)",
        count_parameters="def count_parameters(s):\n    n = sum(a * b + b for a, b in zip(s, s[1:]))\n"
                         "    s.append(0) if isinstance(s, list) else None\n    return n",
        compose_linear="def compose_linear(w1, b1, w2, b2):\n    return w2 @ w1 * float('nan'), w2 @ b1 + b2"),
        ("failed",) * 3,
        ["should have shape (1, 2), but it has shape (2,)", "changed its argument `layer_sizes` in place",
         "the returned W contains NaN"]),
    "ignores_the_time_limit.ipynb": (with_answers(
        count_parameters="def count_parameters(sizes):\n    while True:\n        try:\n            while True:\n"
                         "                pass\n        except BaseException:\n            pass"),
        ("timeout",) * 3, [f"ran past its {LIMITS.timeout:g} s time limit", "ran out of time while running this cell"]),
    "syntax_error.ipynb": (with_answers(linear_forward="def linear_forward(x, weight, bias)\n    return x"),
                           ("error", "ok", "ok"), ["SyntaxError", "no function named linear_forward"]),
    "tampers_with_grader.ipynb": (with_cell(TAMPER, after="exercise_set(", base=exercise_notebook),
                                  ("failed",) * 3, ["Score: 0 / 10"]),
    "fake_scores.ipynb": (with_fake_scores, ("failed",) * 3, ["Score: 0 / 10"]),
    "calls_sys_exit.ipynb": (with_cell('import sys\nsys.exit("stop grading here")', after="exercise_set("),
                             OK3, ["SystemExit: stop grading here"]),
    "calls_os_exit.ipynb": (with_cell("import os\nos._exit(0)", after='ex.check("q1"'), ("error",) * 3,
                            ["the notebook ended the grading process (exit code 0)",
                             "cell 8: the grading process ended while running this cell"]),
    "noisy_cells.ipynb": (with_cell(*NOISY, after="exercise_set("), OK3,
                          ["cell 4: skipped %matplotlib", "cell 4: skipped a shell command",
                           "cell 5: RuntimeError", "can't allocate memory", "cell 6: EOFError",
                           f"cell 7: stopped after the {STEP} s limit for one cell"]),
    "metadata_edited.ipynb": (with_metadata("02-activation-functions"), OK3, ["its metadata says '02-activation-functions'"]),
    "metadata_removed.ipynb": (with_metadata(None), OK3, ["it has no exercise-set metadata"]),
    "no_set_no_answers.ipynb": (lambda: nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")]),
                                ("error",) * 3, ["the exercise set of the other notebooks in the folder",
                                                 "no function named compose_linear"]),
    "empty.ipynb": (lambda: b"", ("unreadable",) * 3, ["the file is empty"]),
    "not_json.ipynb": (lambda: b'{"cells": [', ("unreadable",) * 3, ["not valid notebook JSON"]),
    "not_a_notebook.ipynb": (lambda: b'{"hello": "world"}', ("unreadable",) * 3, ["not a Jupyter notebook"]),
}


def write_corpus(folder: Path, fork_pid_file: Path) -> None:
    corpus = dict(CORPUS)
    corpus["forks.ipynb"] = (with_cell(FORK.format(path=str(fork_pid_file)), after="exercise_set("), OK3, [])
    for name, (build, _, _) in corpus.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        made = build()
        path.write_bytes(made if isinstance(made, bytes) else nbformat.writes(made).encode())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The corpus, graded once: (grades by submission, CSV rows, feedback folder, fork pid file)."""
    base = tmp_path_factory.mktemp("grading")
    folder, pid_file = base / "submissions", base / "forked.pid"
    folder.mkdir()
    write_corpus(folder, pid_file)
    grades = grade_folder(folder, limits=LIMITS, workers=2)
    write_csv(grades, base / "grades.csv")
    write_feedback(grades, base / "feedback")
    with open(base / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {g.submission: g for g in grades}, rows, base / "feedback", pid_file


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_submission_gets_the_right_grade(graded, name):
    grades, _, feedback_dir, _ = graded
    _, statuses, phrases = CORPUS[name]
    grade = grades[name]
    assert grade.exercise_set == SET_NAME
    assert tuple(q.status for q in grade.questions) == statuses, feedback.submission_report(grade)
    for q in grade.questions:
        assert (q.points == q.max_points) == (q.status == "ok")
    text = (feedback_dir / Path(name).with_suffix(".txt")).read_text(encoding="utf-8")
    for phrase in phrases:
        assert phrase in text, text


def test_solutions_score_full_marks_and_exercises_zero(graded):
    grades = graded[0]
    assert grades["solution.ipynb"].points == 10 == grades["solution.ipynb"].max_points
    assert grades["exercise.ipynb"].points == 0
    assert grades["forks.ipynb"].points == 10


def test_partial_credit_is_points_times_the_share_of_cases_passed(graded):
    q1 = graded[0]["wrong_outputs.ipynb"].questions[0]  # only the float64 case passes
    assert (q1.passed, len(q1.cases)) == (1, 8) and q1.points == round(3 * 1 / 8, 2)


def test_the_csv_has_one_row_per_submission_and_question(graded):
    grades, rows, _, _ = graded
    assert tuple(rows[0]) == CSV_COLUMNS
    body = rows[1:]
    assert len(body) == 3 * len(grades) == 3 * (len(CORPUS) + 1)
    assert [(r[0], r[2]) for r in body] == [(name, q) for name in sorted(grades) for q in ("q1", "q2", "q3")]
    assert {r[5] for r in body} == {"ok", "failed", "error", "timeout", "unreadable"}
    assert ["solution.ipynb", SET_NAME, "q3", "4", "4", "ok"] in body


def test_a_forked_process_does_not_outlive_its_submission(graded):
    pid = int(graded[3].read_text())
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return  # gone, as it should be
    assert state in ("Z", "X"), f"forked process {pid} is still {state}"


def test_summary_table_counts_statuses(graded):
    table = summary_table(list(graded[0].values()))
    assert f"{SET_NAME}: {len(CORPUS) + 1} submissions" in table
    assert table.splitlines()[-1].split()[:2] == ["total", "10"]


def test_private_tests_and_unknown_sets_are_graded(tmp_path):
    nb = solution_notebook()
    nbformat.write(nb, tmp_path / "alice.ipynb")
    doubling = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def double(x):\n    return x + x")])
    nbformat.write(doubling, tmp_path / "bob.ipynb")
    (tmp_path / "carol.ipynb").write_bytes(b"")  # in a folder of two sets, no fallback set exists
    grades = {g.submission: g for g in grade_folder(tmp_path, tests_dir=PRIVATE_TESTS, limits=LIMITS, workers=1)}
    assert [q.status for q in grades["alice.ipynb"].questions] == ["ok"] * 3
    assert len(grades["alice.ipynb"].questions[1].cases) == len(EX.question("q2").cases) + 1
    assert grades["bob.ipynb"].exercise_set == "zz-doubling" and grades["bob.ipynb"].points == 1
    assert grades["carol.ipynb"].questions == [] and "the file is empty" in grades["carol.ipynb"].notes[0]
    assert ["carol.ipynb", "", "", "0", "0", "unreadable"] in list(csv_rows(grades.values()))


# =========================================================================== the command line

def test_cli_exit_code_2_for_commands_that_cannot_run(tmp_path, capsys):
    (tmp_path / "broken_tests").mkdir()
    (tmp_path / "broken_tests" / "t.py").write_text("raise RuntimeError('teacher typo')\n")
    cases = [
        ([str(tmp_path / "missing")], "is not a folder"),
        ([str(tmp_path)], "no .ipynb files"),
        ([str(tmp_path), "--set", "99-nothing"], "no exercise set named '99-nothing'"),
        ([str(tmp_path), "--tests", str(tmp_path / "broken_tests")], "teacher typo"),
        ([str(tmp_path), "--workers", "0"], "--workers must be at least 1"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as stop:
            cli.main(argv + ["--no-progress", "--out", str(tmp_path / "g.csv")])
        assert stop.value.code == 2
        assert message in capsys.readouterr().err


def test_python_m_nnbook_grading_is_the_same_command():
    result = subprocess.run([sys.executable, "-m", "nnbook.grading", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("usage: nnbook-grade")
    assert "--tests" in result.stdout and "--memory" in result.stdout


def test_the_nnbook_grade_command_grades_a_folder_and_exits_0(tmp_path):
    submissions = tmp_path / "in"
    submissions.mkdir()
    nbformat.write(solution_notebook(), submissions / "Copy of alice.ipynb")
    shutil.copytree(PRIVATE_TESTS, tmp_path / "private")
    result = subprocess.run(  # relative paths, as a teacher would type them
        ["nnbook-grade", "in", "--out", "out/grades.csv", "--feedback", "fb", "--tests", "private",
         "--timeout", "60", "--memory", "1024", "--workers", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "total" in result.stdout and "Graded 1 notebook in" in result.stdout
    assert "grading: 100%" in result.stderr  # the progress bar
    rows = list(csv.reader((tmp_path / "out" / "grades.csv").open(encoding="utf-8")))
    assert [r[5] for r in rows[1:]] == ["ok"] * 3
    report = (tmp_path / "fb" / "Copy of alice.txt").read_text(encoding="utf-8")
    assert re.search(r"^q2 +count_parameters +3 / 3 +ok +8 of 8 cases passed$", report, re.M)  # 7 + 1 private
    assert "Score: 10 / 10" in (tmp_path / "fb" / "Copy of alice.txt").read_text(encoding="utf-8")
