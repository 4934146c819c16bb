"""Exercise set 5 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, every question has more instructor
cases than public ones, the references equal PyTorch (and q3's equals a measurement), typical wrong
answers lose points, autograd is refused inside q1 and q2, and no stub, docstring or hint gives an
answer away."""

from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F

import exercise_set_checks as checks  # noqa: E402  (a module next to this file)
from nnbook.grading.forbidden import ForbiddenFunction, forbidden
from nnbook.grading.sets.ex05_backpropagation import EXERCISE_SET as EX
from nnbook.grading.sets.ex05_backpropagation import (FORBIDDEN_AUTOGRAD,
                                                      largest_stable_lr_reference,
                                                      linear_backward_reference,
                                                      weighted_cross_entropy_grad_reference)

ROOT = Path(__file__).resolve().parents[1]
NAME = "05-backpropagation.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    checks.assert_full_marks(tmp_path, EX, SOLUTION, "q1", extra_private_cases=1)


def test_the_generated_exercises_get_zero(tmp_path):
    checks.assert_zero(tmp_path, EX, EXERCISE)


def test_every_question_has_more_instructor_cases_than_public_ones():
    checks.assert_more_instructor_cases_than_public_ones(EX)


# --------------------------------------------------------------------------- the references

def test_the_linear_reference_is_the_chapters_matrix_formulas():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, dtype=torch.float64, generator=g)
    w = torch.randn(3, 4, dtype=torch.float64, generator=g)
    grad_output = torch.randn(6, 3, dtype=torch.float64, generator=g)
    gx, gw, gb = linear_backward_reference(x, w, grad_output)
    torch.testing.assert_close(gx, grad_output @ w)
    torch.testing.assert_close(gw, grad_output.T @ x)
    torch.testing.assert_close(gb, grad_output.sum(dim=0))


def test_unweighted_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(5, 3, dtype=torch.float64, generator=g)
    y = torch.tensor([0, 2, 1, 1, 0])
    torch.testing.assert_close(weighted_cross_entropy_grad_reference(z, y),
                               (torch.softmax(z, 1) - F.one_hot(y, 3)) / 5)


@pytest.mark.parametrize("case", range(len(EX.question("q3").cases)))
def test_the_largest_stable_lr_is_where_gradient_descent_starts_to_diverge(case):
    """Measured: gradient descent on mean((x @ w)^2) (targets 0) does not grow w at 0.98 times the
    reference and grows it at 1.02 times, from a start with a component along every direction."""
    (x,) = EX.question("q3").cases[case].make_args("cpu")
    x = x.to(torch.float64)
    lr = largest_stable_lr_reference(x)

    def distance(rate, steps=3000):
        w = torch.linspace(1.0, 2.0, x.shape[1], dtype=torch.float64)
        for _ in range(steps):
            w = w - rate * (2 / len(x)) * x.T @ (x @ w)
        return w.norm().item()

    start = torch.linspace(1.0, 2.0, x.shape[1], dtype=torch.float64).norm().item()
    assert distance(0.98 * lr) <= start * (1 + 1e-9) and distance(1.02 * lr) > 1e3


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    return checks.failures(EX, question_id, answer)


@pytest.mark.filterwarnings("ignore:The use of `x.T`")
def test_linear_backward_for_batches_only_or_with_a_mean_fails():
    def batches_only(x, weight, grad_output):       # the chapter's (N, in) formulas, as written
        return grad_output @ weight, grad_output.T @ x, grad_output.sum(dim=0)

    def bias_mean(x, weight, grad_output):
        g2 = grad_output.reshape(-1, grad_output.shape[-1])
        return (grad_output @ weight, g2.T @ x.reshape(-1, x.shape[-1]), g2.mean(dim=0))

    def transposed_weight(x, weight, grad_output):
        g2 = grad_output.reshape(-1, grad_output.shape[-1])
        return (grad_output @ weight, x.reshape(-1, x.shape[-1]).T @ g2, g2.sum(dim=0))

    # a copy of the chapter's formulas earns at most a third of the points
    cases = len(EX.question("q1").cases)
    assert failures("q1", batches_only) >= 2 * cases / 3
    assert failures("q1", bias_mean) >= 5
    assert failures("q1", transposed_weight) >= 6


def test_weighted_gradient_with_the_wrong_denominator_fails():
    def over_n(logits, target, weight=None):
        w = torch.ones(len(target), dtype=logits.dtype) if weight is None else weight[target]
        error = torch.softmax(logits, 1) - F.one_hot(target, logits.shape[1]).to(logits.dtype)
        return error * w.unsqueeze(1) / len(target)

    def unweighted(logits, target, weight=None):
        error = torch.softmax(logits, 1) - F.one_hot(target, logits.shape[1]).to(logits.dtype)
        return error / len(target)

    def naive_softmax(logits, target, weight=None):
        w = torch.ones(len(target), dtype=logits.dtype) if weight is None else weight[target]
        q = logits.exp() / logits.exp().sum(1, keepdim=True)
        error = q - F.one_hot(target, logits.shape[1]).to(logits.dtype)
        return error * (w / w.sum()).unsqueeze(1)

    assert failures("q2", over_n) >= 4
    assert failures("q2", unweighted) >= 4
    assert failures("q2", naive_softmax) >= 1       # logits ±1000


def test_largest_stable_lr_without_the_constants_or_from_the_bowl_formula_fails():
    def x64(x):
        x = x.double()
        return x, torch.linalg.eigvalsh(x.T @ x).max().item()

    def no_mean(x):                     # forgets the 1/N of the mean
        return 1.0 / x64(x)[1]

    def no_two(x):                      # H = x^T x / N, the factor 2 of the square dropped
        x, lam = x64(x)
        return 2 * len(x) / lam

    def chapters_line(x):               # 2 / lambda_max of x^T x, the chapter's line unadapted
        return 2.0 / x64(x)[1]

    def diagonal(x):                    # the largest diagonal entry of H instead of its top eigenvalue
        x = x.double()
        return len(x) / (x * x).sum(dim=0).max().item()

    n_cases = len(EX.question("q3").cases)
    assert failures("q3", no_two) == n_cases
    assert failures("q3", chapters_line) == n_cases
    assert failures("q3", no_mean) >= n_cases - 1          # N = 1: the mean changes nothing
    assert failures("q3", diagonal) >= 3


def test_forbidden_functions_raise_inside_and_are_restored_after():
    x = torch.randn(3, requires_grad=True)
    with forbidden(FORBIDDEN_AUTOGRAD):
        with pytest.raises(ForbiddenFunction):
            (x * 2).sum().backward()
        with pytest.raises(ForbiddenFunction):
            torch.autograd.grad((x * 2).sum(), x)
    (x * 2).sum().backward()
    assert x.grad is not None


# --------------------------------------------------------------------------- no answer leaks

def test_no_stub_or_hint_contains_a_line_of_a_solution():
    lines = checks.solution_lines(SOLUTION, {"return grad_x, grad_weight, grad_bias"})
    checks.assert_no_solution_line_leaks(lines, checks.hints_and_stubs(EX, EXERCISE), at_least=8)


@pytest.mark.parametrize("giveaway", [
    r"\.T @", r"@ weight", r"reshape", r"sum\(dim=0\)", r"eigen", r"eigvals", r"2 ?/", r"w\.sum",
    r"x\.T", r"N ?/", r"2/N", r"x\^T x",
    r"one_hot", r"softmax\(", r"flatten",
])
def test_hints_and_stubs_do_not_state_the_formulas(giveaway):
    checks.assert_no_giveaway(giveaway, checks.hints_and_stubs(EX, EXERCISE))


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells
                         if c.cell_type == "markdown")
    for giveaway in ["eigen", "2 / ", "2/\\lambda", "G^\\top", "G W", "p - y", "q - y", "x^\\top x",
                     "N / ", "2/N",
                     "divided by the sum of the weights"]:
        assert giveaway not in markdown, giveaway


# --------------------------------------------------------------------------- gaming attempts
from torch.autograd import grad as early_grad  # noqa: E402  (the bypass a reader found)

import nnbook.backprop as early_bp  # noqa: E402
from nnbook.backprop import _layer_backward as early_layer_backward  # noqa: E402


def test_an_autograd_grad_imported_before_the_answer_runs_is_refused():
    def by_alias(x, weight, grad_output):
        x_ = x.detach().clone().requires_grad_()
        w_ = weight.detach().clone().requires_grad_()
        b_ = torch.zeros(weight.shape[0], dtype=weight.dtype, requires_grad=True)
        y = F.linear(x_, w_, b_)
        return early_grad(y, (x_, w_, b_), grad_output)

    assert failures("q1", by_alias) == len(EX.question("q1").cases)


@pytest.mark.parametrize("route", ["func.vjp", "func.grad", "helper alias"])
def test_torch_func_and_the_books_helpers_are_refused_even_as_aliases(route):
    x = torch.randn(2, 3, dtype=torch.float64)
    with forbidden(FORBIDDEN_AUTOGRAD), pytest.raises(ForbiddenFunction):
        if route == "func.vjp":
            _, pull = torch.func.vjp(lambda t: t * 2, x)
            pull(torch.ones_like(x))
        elif route == "func.grad":
            torch.func.grad(lambda t: (t * 2).sum())(x)
        else:
            early_layer_backward(None, None, None)


def test_the_autograd_engine_and_helper_code_are_restored_after_the_block():
    engine = torch.autograd.Variable._execution_engine
    code = early_bp.loss_and_gradients.__code__
    with pytest.raises(ZeroDivisionError):
        with forbidden(FORBIDDEN_AUTOGRAD):
            1 / 0
    assert torch.autograd.Variable._execution_engine is engine
    assert early_bp.loss_and_gradients.__code__ is code
    x = torch.ones(2, requires_grad=True)
    assert early_grad((x * 3).sum(), x)[0].tolist() == [3.0, 3.0]


ENGINE_CAPTURED_EARLIER = torch.autograd.Variable._execution_engine   # a cell run before the answer


def test_the_second_teachers_routes_around_the_ban_score_nothing():
    def by_jacfwd(x, weight, grad_output):     # forward mode
        b = torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device)
        return torch.func.jacfwd(lambda a, w, c: (F.linear(a, w, c) * grad_output).sum(),
                                 argnums=(0, 1, 2))(x, weight, b)

    def by_grad_fn(x, weight, grad_output):    # a node called without the engine
        b = torch.zeros(weight.shape[0], dtype=weight.dtype, requires_grad=True)
        y = F.linear(x.detach().requires_grad_(), weight.detach().requires_grad_(), b)
        return y.grad_fn(grad_output)

    def by_captured_engine(logits, target, weight=None):
        z = logits.detach().clone().requires_grad_()
        loss = F.cross_entropy(z, target, weight=weight)
        return ENGINE_CAPTURED_EARLIER.run_backward((loss,), (torch.ones_like(loss),), False,
                                                    False, (z,), False, False)[0]

    def by_aten(logits, target, weight=None):  # ATen's own backward kernels
        logp = logits.log_softmax(dim=1)
        total = (weight[target].sum() if weight is not None
                 else torch.tensor(float(len(target)), dtype=logits.dtype))
        g = torch.ops.aten.nll_loss_backward(torch.ones((), dtype=logits.dtype), logp, target,
                                             weight, 1, -100, total)
        return torch.ops.aten._log_softmax_backward_data(g, logp, 1, logits.dtype)

    assert failures("q1", by_jacfwd) == len(EX.question("q1").cases)
    assert failures("q1", by_grad_fn) == len(EX.question("q1").cases)
    assert failures("q2", by_captured_engine) == len(EX.question("q2").cases)
    assert failures("q2", by_aten) == len(EX.question("q2").cases)
    # ... and each of them works outside the ban, so it is the ban that stops them
    x, w, g = torch.randn(4, 3), torch.randn(2, 3), torch.randn(4, 2)
    torch.testing.assert_close(by_jacfwd(x, w, g)[0], g @ w)
    z, t = torch.randn(5, 3), torch.tensor([0, 1, 2, 0, 1])
    torch.testing.assert_close(by_aten(z, t), weighted_cross_entropy_grad_reference(z, t))
    torch.testing.assert_close(by_captured_engine(z, t),
                               weighted_cross_entropy_grad_reference(z, t))


def test_q3_cannot_be_answered_with_autograd_s_hessian():
    """The chapter computes a bowl's curvatures with autograd's hessian; Q3 asks for the
    derivation, so that route refuses while the answer runs."""
    def through_hessian(x):
        x = x.to(torch.float64)
        H = torch.autograd.functional.hessian(lambda w: ((x @ w) ** 2).mean(),
                                              torch.zeros(x.shape[1], dtype=torch.float64))
        return 2 / torch.linalg.eigvalsh(H).max().item()

    x = torch.randn(20, 3, dtype=torch.float64)
    assert abs(through_hessian(x) - EX.question("q3").reference(x)) < 1e-9   # right outside
    assert failures("q3", through_hessian) == len(EX.question("q3").cases)
