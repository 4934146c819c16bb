"""Exercise set 3 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, typical wrong answers lose points,
and no stub, docstring or hint gives an answer away."""

import math
import re
from pathlib import Path

import exercise_set_checks as helpers
import nbformat
import pytest
import torch

from exercise_set_checks import grade
from nnbook.grading.sets.ex03_parameter_initialization import EXERCISE_SET as EX
from nnbook.grading.sets.ex03_parameter_initialization import (count_distinct_units_reference,
                                                               fans_reference, he_normal_reference,
                                                               predicted_rms_reference)

ROOT = Path(__file__).resolve().parents[1]
NAME = "03-parameter-initialization.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    rows, report = grade(tmp_path, SOLUTION)
    assert len(rows) == len(EX.questions)
    assert f"Score: {EX.max_points:g} / {EX.max_points:g}" in report, report
    cases = len(EX.question("q4").cases) + 1  # the private file adds one case to q4
    cuda = torch.cuda.is_available()
    if not cuda:
        assert re.search(rf"^q4 +count_distinct_units +3 / 3 +ok +{cases} of {cases} cases passed$",
                         report, re.M), report


def test_the_generated_exercises_get_zero(tmp_path):
    helpers.assert_zero(tmp_path, EX, EXERCISE)


def test_every_question_has_more_instructor_cases_than_public_ones():
    helpers.assert_more_instructor_cases_than_public_ones(EX)


# --------------------------------------------------------------------------- the references

def test_fans_reference_matches_torch_for_every_layer_kind():
    for module in [torch.nn.Linear(7, 3), torch.nn.Conv1d(2, 4, 5), torch.nn.Conv2d(3, 16, (5, 3)),
                   torch.nn.Conv3d(2, 6, (3, 4, 5))]:
        assert fans_reference(module.weight.shape) == \
            torch.nn.init._calculate_fan_in_and_fan_out(module.weight)
    for shape in [(10,), ()]:
        with pytest.raises(ValueError):
            fans_reference(shape)
        with pytest.raises(ValueError):
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_he_normal_reference_equals_torch_kaiming_normal_for_a_leaky_relu():
    for shape, slope, mode in [((64, 32), 0.2, "fan_out"), ((16, 3, 5, 5), 0.0, "fan_in")]:
        ours = he_normal_reference(torch.empty(shape), 1.0, slope, mode,
                                   torch.Generator().manual_seed(1))
        theirs = torch.nn.init.kaiming_normal_(torch.empty(shape), a=slope, mode=mode,
                                               generator=torch.Generator().manual_seed(1))
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize("slopes", [(3.0, 0.0), (1.0, -1.0), (0.5, 0.1), (0.5, 0.5)])
def test_he_normal_reference_keeps_the_mean_square_of_a_two_slope_stack(slopes):
    # As for q2: one draw of weights drifts by several per cent; the average of eight is close.
    p, n = slopes
    squares = []
    for seed in range(8):
        g = torch.Generator().manual_seed(seed)
        h = torch.randn(400, 400, generator=g, dtype=torch.float64)
        for _ in range(4):
            w = he_normal_reference(torch.empty(400, 400, dtype=torch.float64), p, n, "fan_in", g)
            z = h @ w.T
            h = torch.where(z > 0, p * z, n * z)
        squares.append(h.pow(2).mean().item())
    assert abs(sum(squares) / len(squares) - 1) < 0.1


@pytest.mark.parametrize("slope", [0.0, 0.25, 1.0])
def test_predicted_rms_matches_measured_float64_networks(slope):
    # One draw of weights is off by about 8% in mean square after 6 layers of 400; the average of
    # eight draws is within a few per cent.
    depth, width, std = 6, 400, 0.07
    ratios = []
    for seed in range(8):
        g = torch.Generator().manual_seed(seed)
        h = torch.randn(400, width, generator=g, dtype=torch.float64)
        for _ in range(depth):
            w = torch.randn(width, width, generator=g, dtype=torch.float64) * std
            h = torch.nn.functional.leaky_relu(h @ w.T, slope)
        ratios.append(h.pow(2).mean().item() / predicted_rms_reference(depth, width, std, slope) ** 2)
    assert abs(sum(ratios) / len(ratios) - 1) < 0.1


def test_count_distinct_units_reference_on_small_cases():
    w = torch.tensor([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0]])
    assert count_distinct_units_reference(w, torch.zeros(3)) == 2
    assert count_distinct_units_reference(w, torch.tensor([0.0, 1.0, 0.0])) == 3
    assert count_distinct_units_reference(torch.zeros(0, 2), torch.zeros(0)) == 0


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    return helpers.failures(EX, question_id, answer)


def test_fans_that_forget_the_window_or_swap_in_and_out_fail():
    def no_window(shape):
        if len(shape) < 2:
            raise ValueError("no fans")
        return shape[1], shape[0]

    def swapped(shape):
        fan_in, fan_out = fans_reference(shape)
        return fan_out, fan_in

    def no_error(shape):
        return fans_reference(shape) if len(shape) >= 2 else (0, 0)

    assert failures("q1", no_window) >= 3
    assert failures("q1", swapped) >= 5
    assert failures("q1", no_error) == 2


def test_a_prediction_without_the_relu_half_or_with_the_slope_unsquared_fails():
    def linear(depth, fan_in, weight_std, negative_slope):
        return (fan_in * weight_std**2) ** (depth / 2)

    def slope_unsquared(depth, fan_in, weight_std, negative_slope):
        return (fan_in * weight_std**2 * (1 + negative_slope) / 2) ** (depth / 2)

    def std_not_rms(depth, fan_in, weight_std, negative_slope):  # one layer's factor, not L of them
        return math.sqrt(fan_in * weight_std**2 * (1 + negative_slope**2) / 2)

    assert failures("q2", linear) >= 6
    assert failures("q2", slope_unsquared) >= 2
    assert failures("q2", std_not_rms) >= 6


def test_initializers_with_the_wrong_fan_gain_copy_or_no_grad_fail():
    def always_fan_in(tensor, positive_slope=1.0, negative_slope=0.0, mode="fan_in", generator=None):
        return he_normal_reference(tensor, positive_slope, negative_slope, "fan_in", generator)

    def plain_relu(tensor, positive_slope=1.0, negative_slope=0.0, mode="fan_in", generator=None):
        return he_normal_reference(tensor, 1.0, 0.0, mode, generator)

    def leaky_formula(tensor, positive_slope=1.0, negative_slope=0.0, mode="fan_in",
                      generator=None):  # the chapter's leaky gain, ignoring the positive slope
        return he_normal_reference(tensor, 1.0, negative_slope, mode, generator)

    def slopes_unsquared(tensor, positive_slope=1.0, negative_slope=0.0, mode="fan_in",
                         generator=None):
        fan_in, fan_out = fans_reference(tensor.shape)
        total = abs(positive_slope + negative_slope) or 1.0
        std = math.sqrt(2 / total / (fan_in if mode == "fan_in" else fan_out))
        with torch.no_grad():
            return tensor.normal_(0.0, std, generator=generator)

    def a_copy(tensor, positive_slope=1.0, negative_slope=0.0, mode="fan_in", generator=None):
        return he_normal_reference(tensor.detach().clone(), positive_slope, negative_slope, mode,
                                   generator)

    def without_no_grad(tensor, positive_slope=1.0, negative_slope=0.0, mode="fan_in",
                        generator=None):
        fan_in, fan_out = fans_reference(tensor.shape)
        std = math.sqrt(2 / (positive_slope**2 + negative_slope**2)
                        / (fan_in if mode == "fan_in" else fan_out))
        return tensor.normal_(0.0, std, generator=generator)

    assert failures("q3", always_fan_in) >= 2
    assert failures("q3", plain_relu) >= 4
    assert failures("q3", leaky_formula) >= 3
    assert failures("q3", slopes_unsquared) >= 3
    assert failures("q3", a_copy) >= 8
    assert failures("q3", without_no_grad) == len(EX.question("q3").cases) - 1  # all but the 1-D


def test_unit_counts_that_ignore_the_bias_the_tolerance_or_the_order_fail():
    def weights_only(weight, bias, atol=1e-6):
        return count_distinct_units_reference(weight, torch.zeros_like(bias), atol)

    def exact(weight, bias, atol=1e-6):
        return len({tuple(row) for row in torch.cat([weight, bias.unsqueeze(1)], 1).tolist()})

    def neighbours_only(weight, bias, atol=1e-6):
        rows = torch.cat([weight, bias.unsqueeze(1)], 1)
        return int(sum(1 for i in range(len(rows))
                       if i == 0 or not torch.allclose(rows[i], rows[i - 1], rtol=0, atol=atol)))

    assert failures("q4", weights_only) >= 1
    assert failures("q4", exact) >= 1
    assert failures("q4", neighbours_only) >= 1


# --------------------------------------------------------------------------- no answer leaks

def solution_lines():
    return helpers.solution_lines(SOLUTION, trivial={"groups = []", "return len(groups)", "with torch.no_grad():"})


def hints_and_stubs():
    return helpers.hints_and_stubs(EX, EXERCISE)


def test_no_stub_or_hint_contains_a_line_of_a_solution():
    helpers.assert_no_solution_line_leaks(solution_lines(), hints_and_stubs())


@pytest.mark.parametrize("giveaway", [
    r"1 \+ negative_slope", r"\(1 \+ a", r"/ ?2\b", r"positive_slope ?\*\* ?2", r"p² \+ n²",
    r"\*\* ?\(depth", r"sqrt\(2", r"math\.prod",
    r"no_grad", r"bias\.unsqueeze", r"torch\.cat", r"shape\[2:\]",
])
def test_hints_and_stubs_do_not_state_the_formulas(giveaway):
    helpers.assert_no_giveaway(giveaway, hints_and_stubs())


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells if c.cell_type == "markdown")
    for giveaway in ["(1 + a^2)", "1 + a^2", "p^2 + n^2", "p^2+n^2", "\\frac{1 + a", "2 / (1 +", "sqrt(2", "math.prod", "in_channels \\cdot"]:
        assert giveaway not in markdown, giveaway
