"""Exercise set 2 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, typical wrong answers lose points,
and no stub, docstring or hint gives an answer away."""

import re
from pathlib import Path

import nbformat
import pytest
import torch

import exercise_set_checks as checks
from exercise_set_checks import (assert_full_marks, assert_more_instructor_cases_than_public_ones,
                                 assert_zero, solution_lines)
from exercise_set_checks import failures as failures_in
from exercise_set_checks import hints_and_stubs as hints_and_stubs_of
from nnbook.grading.sets.ex02_activation_functions import EXERCISE_SET as EX
from nnbook.grading.sets.ex02_activation_functions import (chain_slope_reference,
                                                            clamp_from_relus_reference,
                                                            relu_pair_network)

ROOT = Path(__file__).resolve().parents[1]
NAME = "02-activation-functions.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    assert_full_marks(tmp_path, EX, SOLUTION, "q1", extra_private_cases=1)  # the private file adds one case to q1


def test_the_generated_exercises_get_zero(tmp_path):
    assert_zero(tmp_path, EX, EXERCISE)


def test_every_question_has_more_instructor_cases_than_public_ones():
    assert_more_instructor_cases_than_public_ones(EX)


def test_the_set_covers_extremes_float64_empty_batches_and_dims():
    names = " ".join(case.name for q in EX.questions for case in q.cases)
    for needed in ("float64", "empty batch", "dim=0", "1000", "-inf"):
        assert needed in names, needed


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    return failures_in(EX, question_id, answer)


def test_a_log_sum_exp_as_it_reads_or_without_the_inf_guard_fails():
    def as_it_reads(x, dim):
        return torch.log(torch.exp(x).sum(dim=dim))

    def shifted_only(x, dim):
        m = x.amax(dim=dim, keepdim=True)
        return torch.log(torch.exp(x - m).sum(dim=dim)) + m.squeeze(dim)

    def always_last_dim(x, dim):
        return torch.logsumexp(x, dim=-1)

    assert failures("q1", as_it_reads) >= 4
    assert failures("q1", shifted_only) == 2          # the all -inf row and the +inf row
    assert failures("q1", always_last_dim) >= 1
    assert failures("q1", torch.logsumexp) == 0


def test_a_clamp_without_biases_or_without_the_output_bias_fails():
    def no_biases(low, high):
        W1, b1, W2, b2 = clamp_from_relus_reference(low, high)
        return W1, torch.zeros(2), W2, torch.zeros(1)

    def no_output_bias(low, high):
        W1, b1, W2, b2 = clamp_from_relus_reference(low, high)
        return W1, b1, W2, torch.zeros(1)                 # right only when low is 0

    def kinks_on_the_wrong_side(low, high):
        W1, b1, W2, b2 = clamp_from_relus_reference(low, high)
        return W1, -b1, W2, b2

    def one_unit(low, high):                              # relu(x - low) + low: no upper bound
        return (torch.tensor([[1.0], [0.0]]), torch.tensor([-float(low), 0.0]),
                torch.tensor([[1.0, 0.0]]), torch.tensor([float(low)]))

    n = len(EX.question("q2").cases)
    assert failures("q2", no_biases) == n
    assert failures("q2", no_output_bias) == n - 1
    assert failures("q2", kinks_on_the_wrong_side) >= n - 2
    assert failures("q2", one_unit) >= n - 1


def test_the_reference_clamp_weights_compute_the_clamp():
    for low, high in ((0.0, 6.0), (-1.0, 1.0), (2.5, 2.5), (-7.0, -3.0)):
        net = relu_pair_network(clamp_from_relus_reference(low, high))
        x = torch.linspace(low - 3, high + 3, 31)
        torch.testing.assert_close(net(x.unsqueeze(1)).squeeze(1).detach(), torch.clamp(x, low, high))


def test_the_grader_accepts_another_right_clamp():
    def from_the_top(low, high):                          # high - relu(high - x) + relu(low - x)
        return (torch.tensor([[-1.0], [-1.0]]), torch.tensor([float(high), float(low)]),
                torch.tensor([[-1.0, 1.0]]), torch.tensor([float(high)]))

    assert failures("q2", from_the_top) == 0


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

def hints_and_stubs():
    return hints_and_stubs_of(EX, EXERCISE)


def test_no_stub_or_hint_contains_a_line_of_a_solution():
    lines = solution_lines(SOLUTION, trivial={"return slope", "else:"})
    checks.assert_no_solution_line_leaks(lines, hints_and_stubs(), at_least=10)


@pytest.mark.parametrize("giveaway", [
    r"amax", r"\bmax\(", r"isinf", r"relu\(x", r"x\s*-\s*low", r"-\s*high", r"1 - a", r"\(1 - ",
    r"\.log\(", r"torch\.log\b", r"z > 0", r"\[\[1\.0\], \[1\.0\]\]", r"\[\[1\.0, -1\.0\]\]",
])
def test_hints_and_stubs_do_not_state_the_formulas(giveaway):
    checks.assert_no_giveaway(giveaway, hints_and_stubs())


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells if c.cell_type == "markdown")
    for giveaway in ["relu(x -", "relu(x-", "x - \\ell", "x - low", "- relu", "log(p", "\\log p", "- m",
                     "x_j - m", "σ(1 − σ)", "0.25**10 exactly", "below the bound because"]:
        assert giveaway not in markdown, giveaway
