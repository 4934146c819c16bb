"""Exercise set 2 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, typical wrong answers lose points,
and no stub, docstring or hint gives an answer away."""

import csv
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import torch

from nnbook.grading import runner
from nnbook.grading.sets.ex02_activation_functions import EXERCISE_SET as EX
from nnbook.grading.sets.ex02_activation_functions import (chain_slope_reference,
                                                            leaky_from_relus_reference,
                                                            relu_pair_network)

ROOT = Path(__file__).resolve().parents[1]
NAME = "02-activation-functions.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME
PRIVATE_TESTS = ROOT / "tests" / "grading_private"
BLOCK = re.compile(r"### BEGIN SOLUTION.*?\n(.*?)### END SOLUTION", re.S)


def grade(tmp_path, notebook: Path):
    """Run the nnbook-grade command on one notebook; return its CSV rows and its feedback text."""
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


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    rows, report = grade(tmp_path, SOLUTION)
    assert len(rows) == len(EX.questions)
    assert f"Score: {EX.max_points:g} / {EX.max_points:g}" in report, report
    cases = len(EX.question("q1").cases) + 1  # the private file adds one case to q1
    assert re.search(rf"^q1 +log_sum_exp +2 / 2 +ok +{cases} of {cases} cases passed$", report, re.M)


def test_the_generated_exercises_get_zero(tmp_path):
    _, report = grade(tmp_path, EXERCISE)
    assert f"Score: 0 / {EX.max_points:g}" in report, report


def test_every_question_has_more_instructor_cases_than_public_ones():
    for question in EX.questions:
        public = sum(case.public for case in question.cases)
        assert 1 <= public < len(question.cases) - public, question.id


def test_the_set_covers_extremes_float64_empty_batches_and_dims():
    names = " ".join(case.name for q in EX.questions for case in q.cases)
    for needed in ("float64", "empty batch", "dim=0", "1000", "-inf"):
        assert needed in names, needed


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    question = EX.question(question_id)
    results = [runner.judge(question, key, case, device, runner.observe(question, key, case, device, answer))
               for key, case, device in runner.plan(question, public_only=False, cuda=False)]
    return sum(not r.passed for r in results)


def test_a_log_sum_exp_as_it_reads_or_without_the_inf_guard_fails():
    def as_it_reads(x, dim):
        return torch.log(torch.exp(x).sum(dim=dim))

    def shifted_only(x, dim):
        m = x.amax(dim=dim, keepdim=True)
        return torch.log(torch.exp(x - m).sum(dim=dim)) + m.squeeze(dim)

    def always_last_dim(x, dim):
        return torch.logsumexp(x, dim=-1)

    assert failures("q1", as_it_reads) >= 4
    assert failures("q1", shifted_only) == 1          # only the all -inf row
    assert failures("q1", always_last_dim) >= 1
    assert failures("q1", torch.logsumexp) == 0


def test_a_leaky_relu_with_the_slope_on_the_wrong_side_or_sign_fails():
    def wrong_sign(slope):
        W1, W2 = leaky_from_relus_reference(slope)
        return W1, W2 * torch.tensor([[1.0, -1.0]])

    def one_unit(slope):
        return torch.tensor([[1.0], [0.0]]), torch.tensor([[1.0, 0.0]])   # a plain ReLU

    assert failures("q2", wrong_sign) >= 5          # right only for slope 0
    assert failures("q2", one_unit) == len(EX.question("q2").cases) - 1


def test_the_reference_leaky_weights_compute_the_leaky_relu():
    for slope in (0.01, 0.3, -1.0, 2.0):
        net = relu_pair_network(leaky_from_relus_reference(slope))
        x = torch.linspace(-3, 3, 31)
        torch.testing.assert_close(net(x.unsqueeze(1)).squeeze(1).detach(),
                                   torch.nn.functional.leaky_relu(x, slope))


def test_chain_slopes_that_forget_the_weights_or_the_kink_convention_fail():
    def no_weights(x, weights, biases, activation):
        slope = chain_slope_reference(x, weights, biases, activation)
        product = torch.tensor(1.0, dtype=x.dtype)
        for w in weights:
            product = product * w
        return slope / product if product != 0 else slope

    def relu_slope_one_at_zero(x, weights, biases, activation):
        slope, a = torch.ones_like(x), x
        for w, b in zip(weights, biases):
            z = w * a + b
            f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
            a = f(z)
            d = {"sigmoid": lambda: a * (1 - a), "tanh": lambda: 1 - a ** 2,
                 "relu": lambda: (z >= 0).to(x.dtype)}[activation]()
            slope = slope * d * w
        return slope

    assert failures("q3", no_weights) >= 3
    assert failures("q3", relu_slope_one_at_zero) >= 1    # the kink case at least


def test_logits_that_are_the_probabilities_or_ignore_dim_fail_and_any_shift_passes():
    assert failures("q4", lambda probs, dim: probs) >= 5
    assert failures("q4", lambda probs, dim: probs.log() + 7.0) == 0
    assert failures("q4", lambda probs, dim: 2 * probs.log()) >= 4


# --------------------------------------------------------------------------- no answer leaks

def solution_lines():
    """Every non-trivial line of code inside a solution block."""
    source = "\n".join(c.source for c in nbformat.read(SOLUTION, 4).cells if c.cell_type == "code")
    lines = {line.split("#")[0].strip() for block in BLOCK.findall(source) for line in block.splitlines()}
    return {line for line in lines if len(line) > 6 and line not in {"return slope", "else:"}}


def hints_and_stubs():
    texts = [q.hint for q in EX.questions] + [c.hint for q in EX.questions for c in q.cases]
    exercise = nbformat.read(EXERCISE, 4)
    texts += [c.source for c in exercise.cells if c.cell_type == "code"]
    return texts


def test_no_stub_or_hint_contains_a_line_of_a_solution():
    lines = solution_lines()
    assert len(lines) >= 10
    for text in hints_and_stubs():
        for line in lines:
            assert line not in text, f"{line!r} leaks into {text[:80]!r}"


@pytest.mark.parametrize("giveaway", [
    r"amax", r"\bmax\(", r"isinf", r"relu\(-x\)", r"-\s*α", r"1 - a", r"\(1 - ", r"\.log\(",
    r"torch\.log\b", r"z > 0", r"\[\[1\.0\], \[-1\.0\]\]",
])
def test_hints_and_stubs_do_not_state_the_formulas(giveaway):
    for text in hints_and_stubs():
        stub_lines = [line for line in text.splitlines() if "NotImplementedError" in line or "hint" in line]
        checked = "\n".join(stub_lines) if "\n" in text else text
        assert not re.search(giveaway, checked), f"{giveaway!r} in {checked[:120]!r}"


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells if c.cell_type == "markdown")
    for giveaway in ["relu(-x)", "relu(x) -", "log(p", "\\log p", "- m", "x_j - m", "σ(1 − σ)"]:
        assert giveaway not in markdown, giveaway
