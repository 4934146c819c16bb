"""Exercise set 1 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, every case checks something, and no
stub, docstring or hint gives an answer away."""

import re
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

import exercise_set_checks as checks
from exercise_set_checks import (assert_full_marks, assert_more_instructor_cases_than_public_ones,
                                 assert_zero)
from exercise_set_checks import failures as failures_in
from exercise_set_checks import hints_and_stubs as hints_and_stubs_of
from exercise_set_checks import solution_lines as solution_lines_of
from nnbook.grading.sets.ex01_neurons_and_layers import EXERCISE_SET as EX
from nnbook.grading.sets.ex01_neurons_and_layers import (SkipNetReference, collapse_reference, hat,
                                                         hat_network, hat_parameters_reference)

ROOT = Path(__file__).resolve().parents[1]
NAME = "01-neurons-and-layers.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    assert_full_marks(tmp_path, EX, SOLUTION, "q2", extra_private_cases=1)  # the private file adds one case to q2


def test_the_generated_exercises_get_zero(tmp_path):
    assert_zero(tmp_path, EX, EXERCISE)


def test_every_question_has_more_instructor_cases_than_public_ones():
    assert_more_instructor_cases_than_public_ones(EX)


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    return failures_in(EX, question_id, answer)


def test_a_hat_with_two_kinks_or_the_wrong_place_fails():
    def one_sided(center, height):  # climbs and falls, but never levels off on the right
        W1, b1, W2, b2 = hat_parameters_reference(center, height)
        return W1, b1, W2 * torch.tensor([[1.0, 1.0, 0.0]]), b2

    def shifted(center, height):
        return hat_parameters_reference(center + 0.5, height)

    assert failures("q2", one_sided) >= 4 and failures("q2", shifted) >= 4


def test_the_reference_hat_weights_draw_the_hat():
    for center, height in [(0.0, 1.0), (3.0, 2.0), (-1.5, -0.5)]:
        net = hat_network(hat_parameters_reference(center, height))
        x = torch.linspace(center - 4, center + 4, 81)
        torch.testing.assert_close(net(x.unsqueeze(1)).squeeze(1).detach(), hat(x, center, height))


def test_a_hat_whose_b2_is_a_single_number_of_shape_empty_is_accepted():
    def scalar_b2(center, height):
        W1, b1, W2, b2 = hat_parameters_reference(center, height)
        return W1, b1, W2, b2.reshape(())

    assert failures("q2", scalar_b2) == 0


def test_q1_checks_bias_none_publicly_and_q5_demo_sizes_are_not_graded_cases():
    assert any(case.public and "bias=None" in case.name for case in EX.question("q1").cases)
    graded = {tuple(case.make_args("cpu")[0]) for case in EX.question("q5").cases if not case.public}
    demo = next(c.source for c in nbformat.read(EXERCISE, 4).cells
                if c.cell_type == "code" and "Predict, then measure" in c.source)
    sizes = {tuple(int(n) for n in m.split(","))
             for m in re.findall(r"\[(\d+(?:, *\d+)+)\]", demo.split("\n")[1])}
    assert len(sizes) == 4 and not sizes & graded


def test_a_skipnet_without_relu_or_with_layers_in_a_list_fails():
    class NoRelu(SkipNetReference):
        def forward(self, x):
            return self.output(self.hidden(x)) + self.skip(x)

    class InAList(nn.Module):
        def __init__(self, n_in, n_hidden, n_out):
            super().__init__()
            self.layers = [nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out),
                           nn.Linear(n_in, n_out, bias=False)]

        def forward(self, x):
            hidden, output, skip = self.layers
            return output(torch.relu(hidden(x))) + skip(x)

    assert failures("q3", NoRelu) >= 5 and failures("q3", InAList) == len(EX.question("q3").cases)


def test_collapsing_only_two_layers_or_dropping_biases_fails():
    def first_two(weights, biases):
        return collapse_reference(weights[:2], biases[:2])

    def no_biases(weights, biases):
        W, b = collapse_reference(weights, biases)
        return W, biases[-1]

    assert failures("q4", first_two) >= 2 and failures("q4", no_biases) >= 4


def test_rank_limit_is_measured_and_a_guess_from_the_ends_fails():
    assert failures("q5", lambda sizes: min(sizes)) == 0
    assert failures("q5", lambda sizes: min(sizes[0], sizes[-1])) >= 3
    # Rank read as "independent rows" only: the input's width is forgotten.
    assert failures("q5", lambda sizes: min(sizes[1:], default=sizes[0])) >= 1


# --------------------------------------------------------------------------- no answer leaks

def solution_lines():
    """Every non-trivial line of code inside a solution block."""
    return solution_lines_of(SOLUTION, trivial={"return y", "return W, b"})


def hints_and_stubs():
    return hints_and_stubs_of(EX, EXERCISE)


def test_no_stub_or_hint_contains_a_line_of_a_solution():
    lines = solution_lines()
    checks.assert_no_solution_line_leaks(lines, hints_and_stubs(), at_least=8)


@pytest.mark.parametrize("giveaway", [
    r"weight\.T", r"\.T\b", r"-\s*2", r"1,\s*-2,\s*1", r"\bmin\b", r"min\(", r"smallest", r"narrowest",
    r"relu\(self\.hidden", r"self\.skip\(x\)", r"@", r"W2 ?@ ?W1", r"weight @",
])
def test_hints_and_stubs_do_not_state_the_formulas(giveaway):
    checks.assert_no_giveaway(giveaway, hints_and_stubs())


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells if c.cell_type == "markdown")
    for giveaway in ["min(", "smallest size", "narrowest", "1, -2, 1", "W_2 W_1", "weight.T"]:
        assert giveaway not in markdown, giveaway
