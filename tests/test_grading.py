"""nnbook.grading: the public checks, the judging rules, and the grader on a corpus of bad notebooks.

Everything here runs on the tests' own fixture exercise set (tests/grading_fixture/), so the
grader's tests do not depend on any chapter's exercises; a chapter's set is tested in its own file
(tests/test_exercise_set_NN.py). The corpus (tests/grading_corpus.py) is generated at test time,
graded once per session, and every entry's statuses, points and feedback are checked against what
the grader must say about it.
"""

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import torch

from nnbook.grading import Case, ExerciseSet, Question, exercise_set
from nnbook.grading import child, cli, feedback, notebooks, procs, registry, runner, sandbox, values
from nnbook.grading.grader import (CSV_COLUMNS, Limits, csv_rows, feedback_path, grade_folder, summary_table,
                                   write_csv, write_feedback)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import grading_corpus as corpus  # noqa: E402  (a script next to this file, not a package)

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "grading_fixture"
DOUBLING = ROOT / "tests" / "grading_private" / "zz_doubling.py"
SET_NAME = corpus.SET_NAME
EX = exercise_set(SET_NAME, tests_dir=FIXTURE)
LIMITS = Limits(timeout=corpus.TIMEOUT, memory_mb=corpus.MEMORY_MB, processes=corpus.PROCESSES)
LINUX = sys.platform.startswith("linux")


def scale_shift(x, a, b):
    return a * x + b


def total(sizes):
    return sum(sizes)


def sum_and_mean(x):
    return x.sum(), x.mean()


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


def test_compare_looks_inside_dicts_of_tensors():
    """A dict holding tensors is compared key by key (== on tensors would raise)."""
    want = {"x": torch.zeros(2), "name": "a"}
    assert values.compare(enc(want), enc({"x": torch.zeros(2), "name": "a"})) is None
    assert "keys 'x', 'name', in this order, but it has 'name', 'x'" in values.compare(
        enc(want), enc({"name": "a", "x": torch.zeros(2)}))
    assert "item 'x' of the result" in values.compare(enc(want), enc({"x": torch.ones(2), "name": "a"}))
    assert "should be a dict" in values.compare(enc(want), enc([torch.zeros(2), "a"]))


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


def test_owned_rebuilds_values_and_reads_dtype_from_the_data():
    forged = ("tensor", "cpu", "torch.float32", (9,), torch.zeros(2, dtype=torch.float64), "")
    assert values.owned(forged)[2:4] == ("torch.float64", (2,))
    for junk in (5, (), ("tensor", "cpu"), ("int", "7"), ("mystery", 1), ("list", [("float", "x")])):
        with pytest.raises(Exception):
            values.owned(junk)


def test_encode_reads_tensor_subclasses_through_torch_not_their_properties():
    class Liar(torch.Tensor):
        @property
        def dtype(self):
            return torch.int8

        @property
        def device(self):
            raise RuntimeError("no device")

    class Grumpy(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            raise RuntimeError("grumpy")

    class Pretender:  # claims to be a tensor through __class__; type() tells the truth
        __class__ = torch.Tensor

    lying = enc(torch.ones(2, dtype=torch.float64).as_subclass(Liar))
    assert lying[:4] == ("tensor", "cpu", "torch.float64", (2,)) and type(lying[4]) is torch.Tensor
    assert type(enc(torch.ones(2).as_subclass(Grumpy))[4]) is torch.Tensor
    assert enc(Pretender())[0] == "other"


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


def test_registry_names_unknown_sets():
    assert SET_NAME not in registry.builtin_sets()  # the fixture is the tests', not the course's
    assert EX.max_points == 10 and [q.id for q in EX.questions] == ["q1", "q2", "q3"]
    with pytest.raises(KeyError, match="known sets: "):
        exercise_set("99-nothing")


def test_private_tests_replace_and_add_sets(tmp_path):
    builtin = sorted(registry.builtin_sets())[0]
    first = registry.builtin_sets()[builtin].questions[0].id
    (tmp_path / "replace.py").write_text(
        "from nnbook.grading import Case\nfrom nnbook.grading.registry import builtin_sets\n"
        f"EXERCISE_SET = builtin_sets()[{builtin!r}].with_cases({first!r}, "
        "Case('a secret case', lambda device: (), cuda=False))\n")
    shutil.copy(DOUBLING, tmp_path)
    sets = registry.load_sets(tmp_path)
    course = registry.builtin_sets()[builtin]
    assert len(sets[builtin].question(first).cases) == len(course.question(first).cases) + 1
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
    EX.check("q1", scale_shift)
    assert capsys.readouterr().out.startswith("q1 · scale_shift: all 2 public checks passed.")


def test_check_prints_expected_versus_got_and_hints(capsys):
    EX.check("q1", lambda x, a, b: (a * x + b).reshape(1, -1))
    out = capsys.readouterr().out
    assert "0 of 2 public checks passed" in out
    assert "✗ a 4 x 5 matrix" in out and "should have shape (4, 5), but it has shape (1, 20)" in out
    assert "hint: multiply every entry by a, then add b" in out
    assert "Hint for q1: a * x + b works for tensors of any shape" in out


def test_check_reports_exceptions_stubs_and_non_functions(capsys):
    def stub(sizes):
        raise NotImplementedError("Replace this line with your answer.")

    EX.check("q2", stub)
    EX.check("q2", lambda sizes: 1 / 0)
    EX.check("q3", 42)
    out = capsys.readouterr().out
    assert "not answered yet: it still raises NotImplementedError" in out
    assert "raised ZeroDivisionError: division by zero" in out
    assert "could not check it: sum_and_mean should be a function, but it is of type int" in out


def test_check_rejects_an_unknown_question():
    with pytest.raises(KeyError, match="no question 'q4'"):
        EX.check("q4", scale_shift)


def test_check_is_silent_in_grading_mode(capsys, monkeypatch):
    from nnbook.grading import questions

    monkeypatch.setattr(questions, "_grading_mode", True)
    EX.check("q1", scale_shift)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("question_id, answer", [("q1", scale_shift), ("q2", total), ("q3", sum_and_mean)])
def test_every_case_passes_a_correct_answer_on_every_device(device, question_id, answer):
    """Cases, references and tolerances agree, on the CPU and (when present) the GPU."""
    question = EX.question(question_id)
    for key, case, dev in runner.plan(question, public_only=False, cuda=device.type == "cuda"):
        result = runner.judge(question, key, case, dev, runner.observe(question, key, case, dev, answer))
        assert result.passed, (key, result.message)


def test_judge_catches_inputs_modified_in_place():
    def zeroing(x, a, b):
        y = a * x + b
        x.zero_()
        return y

    question = EX.question("q1")
    key, case, dev = runner.plan(question, public_only=True, cuda=False)[0]
    result = runner.judge(question, key, case, dev, runner.observe(question, key, case, dev, zeroing))
    assert not result.passed and "changed its argument `x` in place" in result.message


def test_judge_survives_malformed_observations():
    question = EX.question("q1")
    key, case, dev = runner.plan(question, public_only=True, cuda=False)[0]
    forged_tensor = ("tensor", "cpu", "torch.float32", (3,), "not a tensor", "")
    for junk in ({"outcome": "returned"}, {"outcome": "returned", "output": 5, "args_after": None},
                 {"outcome": "returned", "output": forged_tensor, "args_after": ("tuple", [])},
                 {"outcome": "returned", "output": ("tensor", "cpu", "torch.float32", (3,), torch.zeros(3, dtype=torch.int8), ""),
                  "args_after": ("tuple", [])}):
        result = runner.judge(question, key, case, dev, junk)
        assert not result.passed and result.message, junk


# =========================================================================== reading submissions

@pytest.mark.parametrize("content, reason", [
    (b"", "the file is empty"),
    (b"{not json", "not valid notebook JSON"),
    (b'{"hello": "world"}', "not a Jupyter notebook"),
    (bytes(range(256)), "not UTF-8"),
    (b'{"nbformat": 3, "cells": []}', "format 3"),
    (b'{"cells": [{"cell_type": "code", "source": 5}]}', "cell 1 has a malformed source"),
    (b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
])
def test_unreadable_files_get_a_reason(tmp_path, content, reason):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    assert reason in notebooks.read_submission(path, tmp_path).error


def test_every_path_that_looks_like_a_submission_is_found(tmp_path):
    for name in ("a.ipynb", "B.IPYNB", "c.IpYnB", "sub/d.ipynb", ".ipynb_checkpoints/a-checkpoint.ipynb",
                 "notes.txt", "e.ipynb.bak"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    (tmp_path / "folder.ipynb").mkdir()
    (tmp_path / "broken.ipynb").symlink_to(tmp_path / "missing.ipynb")
    (tmp_path / "loop").symlink_to(tmp_path)  # a link loop is not followed
    (tmp_path / os.fsdecode(b"caf\xe9.ipynb")).write_text("{}")
    found = [p.relative_to(tmp_path).as_posix() for p in notebooks.find_notebooks(tmp_path)]
    assert sorted(found) == sorted(["a.ipynb", "B.IPYNB", "c.IpYnB", "sub/d.ipynb", "folder.ipynb", "broken.ipynb",
                                    os.fsdecode(b"caf\xe9.ipynb")])
    reasons = {p.name: notebooks.read_submission(p, tmp_path) for p in notebooks.find_notebooks(tmp_path)}
    assert "a folder" in reasons["folder.ipynb"].error
    assert "does not exist" in reasons["broken.ipynb"].error
    assert reasons[os.fsdecode(b"caf\xe9.ipynb")].name == "caf\\xe9.ipynb"


def test_safe_text_escapes_what_cannot_be_written():
    assert feedback.safe_text(os.fsdecode(b"caf\xe9.ipynb")) == "caf\\xe9.ipynb"
    assert feedback.safe_text("lone \ud800") == "lone \\ud800"
    assert feedback.safe_text("a\nb\tc é") == "a\\nb\\tc é"
    assert feedback.safe_text("Copy of 01 (1).ipynb") == "Copy of 01 (1).ipynb"


def _submission(code, metadata_set=None):
    return notebooks.Submission(Path("x.ipynb"), "x.ipynb", [(1, code)], metadata_set)


def test_the_exercise_set_comes_from_metadata_checked_against_the_code(tmp_path):
    shutil.copy(FIXTURE / "fixture_set.py", tmp_path)
    shutil.copy(DOUBLING, tmp_path)
    sets = registry.load_sets(tmp_path)
    answers = "def scale_shift(x, a, b): pass\ndef total(s): pass\n"
    assert notebooks.choose_set(_submission(answers, SET_NAME), sets) == (SET_NAME, "")
    # Metadata claiming another set cannot move a notebook away from the answers it defines.
    name, note = notebooks.choose_set(_submission(answers, "zz-doubling"), sets)
    assert name == SET_NAME and "its metadata says 'zz-doubling'" in note
    name, note = notebooks.choose_set(_submission("def double(x):\n    return 2 * x\n"), sets)
    assert name == "zz-doubling" and "no exercise-set metadata" in note
    # Magics make a cell unparsable; a line scan still finds the definitions.
    assert notebooks.choose_set(_submission("%matplotlib inline\n" + answers), sets)[0] == SET_NAME
    assert notebooks.choose_set(_submission("print(1)"), sets) == (None, "")
    assert notebooks.choose_set(_submission("print(1)", "zz-doubling"), sets, forced=SET_NAME)[0] == SET_NAME
    # Code nested too deeply for Python's parser falls back to the line scan too.
    assert notebooks.defined_names([(1, corpus.DEEP_CODE + "\ndef total(s): pass")]) >= {"total"}


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
    deep = child.run_cell(6, corpus.DEEP_CODE, namespace, 5)
    assert deep["status"] == "error" and "too deeply nested" in deep["message"]


def test_observe_question_explains_a_missing_answer():
    namespace = {"scale_shift": 3}
    assert "no function named total" in child.observe_question(EX.question("q2"), namespace, 5, False)["missing"]
    assert "should be a function" in child.observe_question(EX.question("q1"), namespace, 5, False)["missing"]


def test_only_records_signed_with_the_token_are_read():
    token = b"a-secret-token"
    reader = sandbox.FrameReader(token)
    ok = child.frame(token, "q1", child.encode_record("q1", {"observations": []}))
    guessed = child.frame(b"a-guessed-token", "q2", child.encode_record("q2", {"observations": []}))
    renamed = ok.replace(b"q1 ", b"q3 ", 1)  # a real record relabelled as another question
    cell = child.frame(token, "cell", child.encode_record("cell", {"cell": 1, "status": "ok", "skipped": ["s"]}))
    stream = ok + guessed + renamed + cell
    for start in range(0, len(stream), 7):  # arriving in small pieces changes nothing
        reader.feed(stream[start:start + 7])
    assert reader.records == {"q1": {"observations": []}, "cells": {"cells": [{"cell": 1, "status": "ok",
                                                                                "skipped": ["s"]}], "skipped": ["s"]}}
    assert reader.rejected == ["q2", "q3"] and not reader.broken
    reader.feed(b"garbage without a header" * 20)
    reader.feed(ok.replace(b"q1", b"q4"))
    assert reader.broken and "q4" not in reader.records


def test_procs_finds_and_kills_a_tree_that_left_its_session(tmp_path):
    if not LINUX:
        pytest.skip("reads /proc")
    script = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n    os._exit(0)\n"
              "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(200):
            found = procs.descendants([os.getpid()])
            if len([p for p in found if p[0] != parent.pid]) >= 1:
                break
            time.sleep(0.02)
        mine = procs.descendants([parent.pid])
        assert len(mine) == 1
        procs.kill_all(mine | {(parent.pid, procs._stat(parent.pid)[2])})
        parent.wait(timeout=10)
        grandchild = next(iter(mine))[0]
        for _ in range(100):
            if procs._zombie(grandchild):
                break
            time.sleep(0.02)
        assert procs._zombie(grandchild)
    finally:
        parent.kill()
        parent.wait()


# =========================================================================== the corpus

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The corpus, graded once: (grades by submission, CSV rows, feedback folder, pid folder)."""
    base = tmp_path_factory.mktemp("grading")
    folder, work = base / "submissions", base / "work"
    folder.mkdir()
    work.mkdir()
    corpus.write_corpus(folder, work)
    grades = grade_folder(folder, tests_dir=FIXTURE, limits=LIMITS, workers=2)
    write_csv(grades, base / "grades.csv")
    write_feedback(grades, base / "feedback")
    with open(base / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {g.submission: g for g in grades}, rows, base / "feedback", work


LINUX_ONLY = {"fork_bomb.ipynb", "memory_by_forks.ipynb"}  # the watchdog's count and memory read /proc


@pytest.mark.parametrize("name", sorted(corpus.CORPUS))
def test_corpus_submission_gets_the_right_grade(graded, name):
    if name in LINUX_ONLY and not LINUX:
        pytest.skip("needs /proc")
    grades, _, feedback_dir, _ = graded
    entry = corpus.CORPUS[name]
    grade = grades[name]
    assert grade.exercise_set == SET_NAME
    assert tuple(q.status for q in grade.questions) == entry.statuses, feedback.submission_report(grade)
    for q in grade.questions:
        assert (q.points == q.max_points) == (q.status == "ok")
    text = feedback_path(feedback_dir, name).read_text(encoding="utf-8")
    for phrase in entry.phrases:
        assert phrase in text, text


def test_solution_scores_full_marks_and_exercise_zero(graded):
    grades = graded[0]
    assert grades["solution.ipynb"].points == 10 == grades["solution.ipynb"].max_points
    assert grades["exercise.ipynb"].points == 0


def test_partial_credit_is_points_times_the_share_of_cases_passed(graded):
    q1 = graded[0]["wrong_outputs.ipynb"].questions[0]  # only the float64 case passes
    assert (q1.passed, len(q1.cases)) == (1, 4) and q1.points == round(3 * 1 / 4, 2)


def test_the_csv_has_one_row_per_submission_and_question(graded):
    grades, rows, _, _ = graded
    assert tuple(rows[0]) == CSV_COLUMNS
    body = rows[1:]
    assert len(body) == 3 * len(grades) == 3 * len(corpus.CORPUS)
    assert [(r[0], r[2]) for r in body] == [(name, q) for name in sorted(grades, key=_sort_key)
                                            for q in ("q1", "q2", "q3")]
    assert {r[5] for r in body} == {"ok", "failed", "error", "timeout", "unreadable"}
    assert ["solution.ipynb", SET_NAME, "q3", "4", "4", "ok"] in body
    assert sorted(r[0] for r in body[::3]) == sorted(corpus.CORPUS)


def _sort_key(name):
    return name  # grades come back sorted by their (escaped) names


def test_no_process_outlives_its_submission(graded):
    work = graded[3]
    pids = [int(p) for f in ("forks.pid", "fork_bomb.pid", "stops_server.pid", "kills_server.pid",
                                                  "stops_itself.pid")
            if (work / f).exists() for p in (work / f).read_text().split()]
    assert len(pids) >= 4  # the files were written
    if not LINUX:
        return
    alive = [pid for pid in pids if not procs._zombie(pid)]
    assert not alive, f"still running: {alive}"


def test_the_corpus_is_graded_well_within_its_limits(graded):
    grades = graded[0]
    assert grades["ten_thousand_cells.ipynb"].seconds < LIMITS.timeout / 2
    assert grades["stops_its_server_and_finishes.ipynb"].seconds < LIMITS.timeout


def test_summary_table_counts_statuses(graded):
    table = summary_table(list(graded[0].values()))
    assert f"{SET_NAME}: {len(corpus.CORPUS)} submissions" in table
    assert table.splitlines()[-1].split()[:2] == ["total", "10"]


def test_private_tests_and_unknown_sets_are_graded(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(FIXTURE / "fixture_set.py", tests)
    shutil.copy(DOUBLING, tests)
    submissions = tmp_path / "in"
    submissions.mkdir()
    nbformat.write(corpus.solution(), submissions / "alice.ipynb")
    doubling = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def double(x):\n    return x + x")])
    nbformat.write(doubling, submissions / "bob.ipynb")
    (submissions / "carol.ipynb").write_bytes(b"")  # in a folder of two sets, no fallback set exists
    grades = {g.submission: g for g in grade_folder(submissions, tests_dir=tests, limits=LIMITS, workers=1)}
    assert [q.status for q in grades["alice.ipynb"].questions] == ["ok"] * 3
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
    assert "--tests" in result.stdout and "--memory" in result.stdout and "--processes" in result.stdout


def test_the_nnbook_grade_command_grades_odd_names_and_exits_0(tmp_path):
    submissions = tmp_path / "in"
    submissions.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    names = ["caf\\xe9 (latin-1 name).ipynb", "lone_surrogate_message.ipynb", "a folder.ipynb", "UPPER CASE.IPYNB"]
    corpus.write_corpus(submissions, work, names)
    shutil.copytree(FIXTURE, tmp_path / "private")
    result = subprocess.run(  # relative paths, as a teacher would type them
        ["nnbook-grade", "in", "--out", "out/grades.csv", "--feedback", "fb", "--tests", "private",
         "--timeout", "60", "--memory", "1024", "--workers", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "total" in result.stdout and "Graded 4 notebooks in" in result.stdout
    assert "grading: 100%" in result.stderr  # the progress bar
    rows = list(csv.reader((tmp_path / "out" / "grades.csv").open(encoding="utf-8")))
    assert sorted({r[0] for r in rows[1:]}) == sorted(names)
    assert [r[5] for r in rows[1:] if r[0] == names[0]] == ["ok"] * 3
    report = (tmp_path / "fb" / "caf\\xe9 (latin-1 name).txt").read_text(encoding="utf-8")
    assert re.search(r"^q2 +total +3 / 3 +ok +3 of 3 cases passed$", report, re.M)
    assert "Score: 10 / 10" in report
    assert "\\ud800" in (tmp_path / "fb" / "lone_surrogate_message.txt").read_text(encoding="utf-8")


# =========================================================================== one container per submission

FAKE_DOCKER = '''#!{python}
"""Stands in for docker: records each command line, then runs the container's command here,
with the container's mount points mapped back to the host folders."""
import json, subprocess, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[0] != "run":
    sys.exit(0)
takes_value = {{"--name", "--network", "--tmpfs", "--cap-drop", "--security-opt", "--user", "--pids-limit",
               "--cpus", "--env", "-v", "--memory", "--memory-swap"}}
mounts, i = {{}}, 1
while args[i].startswith("-"):
    if args[i] == "-v":
        source, target = args[i + 1].split(":")[:2]
        mounts[target] = source
    i += 2 if args[i] in takes_value else 1
command = args[i + 1:]
for target, source in mounts.items():
    command = [source + a[len(target):] if a.startswith(target) else a for a in command]
if command[0] == "nnbook-grade":
    command = [sys.executable, "-m", "nnbook.grading"] + command[1:]
sys.exit(subprocess.run(command).returncode)
'''


def test_one_container_per_submission_sees_only_its_own_notebook(tmp_path):
    import json

    bin_dir, log = tmp_path / "bin", tmp_path / "docker.log"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(FAKE_DOCKER.format(python=sys.executable, log=str(log)))
    fake.chmod(0o755)
    submissions, work = tmp_path / "in", tmp_path / "work"
    submissions.mkdir()
    work.mkdir()
    names = ["exercise.ipynb", "caf\\xe9 (latin-1 name).ipynb", "a folder.ipynb"]
    corpus.write_corpus(submissions, work, names)
    result = subprocess.run(
        [sys.executable, "-m", "nnbook.grading.containers", str(submissions), "--image", "nnbook-grader",
         "--set", SET_NAME, "--tests", str(FIXTURE), "--out", str(tmp_path / "grades.csv"),
         "--docker", str(fake), "--timeout", "30", "--memory", "1024"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(runs) == 2  # one container per readable submission; the folder never reaches one
    for run in runs:
        text = " ".join(run)
        for option in ("--network none", "--read-only", "--cap-drop ALL", "--user 65534:65534",
                       "--pids-limit", "--memory 3072m", "no-new-privileges"):
            assert option in text
        staged = next(run[i + 1] for i, a in enumerate(run) if a == "-v" and run[i + 1].endswith(":/submission:ro"))
        assert len({r[r.index("--name") + 1] for r in runs}) == 2  # a container of its own each
        assert staged.split(":")[0] not in {other for r in runs if r is not run for other in r}
    rows = list(csv.reader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_name = {}
    for row in rows[1:]:
        by_name.setdefault(row[0], []).append(row[5])
    assert by_name == {"a folder.ipynb": ["unreadable"] * 3, "caf\\xe9 (latin-1 name).ipynb": ["ok"] * 3,
                       "exercise.ipynb": ["failed"] * 3}
    report = (tmp_path / "feedback" / "caf\\xe9 (latin-1 name).txt").read_text(encoding="utf-8")
    assert report.startswith("Submission: caf\\xe9 (latin-1 name).ipynb\n") and "Score: 10 / 10" in report


def test_a_grading_server_that_cannot_start_costs_rows_not_the_run(tmp_path, monkeypatch):
    def cannot_start(self):
        raise sandbox.ServerLost("the grading server did not start")

    monkeypatch.setattr(sandbox.ForkServer, "_start", cannot_start)
    nbformat.write(corpus.solution(), tmp_path / "alice.ipynb")
    (grade,) = grade_folder(tmp_path, tests_dir=FIXTURE, limits=LIMITS, workers=1)
    assert [q.status for q in grade.questions] == ["error"] * 3
    assert "the grader could not run it: the grading server did not start" in feedback.submission_report(grade)


def test_feedback_files_of_different_submissions_do_not_collide(tmp_path):
    names = ["a.ipynb", "a.IPYNB", "sub/a.ipynb", os.fsdecode(b"caf\xe9.ipynb"), "line\nbreak.ipynb"]
    paths = [feedback_path(tmp_path, feedback.safe_text(name)) for name in names]
    assert len(set(paths)) == len(names)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "a.txt", "a.IPYNB.txt", "sub/a.txt", "caf\\xe9.txt", "line\\nbreak.txt"]
