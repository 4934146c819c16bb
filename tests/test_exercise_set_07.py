"""Exercise set 7 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, every question has more instructor
cases than public ones, typical wrong answers lose points, and no stub, docstring or hint gives an
answer away."""

import re
from pathlib import Path

import nbformat
import pytest
import torch

import exercise_set_checks as checks  # noqa: E402  (a module next to this file)
from nnbook.grading.forbidden import ForbiddenFunction, forbidden
from nnbook.grading.sets.ex07_regularization import EXERCISE_SET as EX
from nnbook.grading.sets.ex07_regularization import (FORBIDDEN_Q2, FORBIDDEN_Q3, FORBIDDEN_Q4,
                                                     FORBIDDEN_Q5, adam_first_step_reference,
                                                     early_stopping_epochs_reference,
                                                     batch_norm_train_reference,
                                                     dropout_with_mask_reference,
                                                     fold_batch_norm_reference)

ROOT = Path(__file__).resolve().parents[1]
NAME = "07-regularization.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    rows, report = checks.grade(tmp_path, SOLUTION)
    assert len(rows) == len(EX.questions)
    assert f"Score: {EX.max_points:g} / {EX.max_points:g}" in report, report
    cases = len(EX.question("q2").cases) + 1  # the private file adds one case to q2
    assert re.search(rf"^q2 +batch_norm_train +3 / 3 +ok +{cases} of {cases} cases passed$",
                     report, re.M), report


def test_the_generated_exercises_get_zero(tmp_path):
    checks.assert_zero(tmp_path, EX, EXERCISE)


def test_every_question_has_more_instructor_cases_than_public_ones():
    checks.assert_more_instructor_cases_than_public_ones(EX)


# --------------------------------------------------------------------------- the references

def test_the_references_equal_torch():
    g = torch.Generator().manual_seed(0)
    for shape, momentum, tracked in [((6, 3), 0.1, 0), ((4, 3, 5), None, 7), ((5, 3), 0.5, 2)]:
        x = torch.randn(shape, generator=g) * 3 + 1
        gamma, beta = torch.randn(3, generator=g) + 1, torch.randn(3, generator=g)
        mean, var = torch.randn(3, generator=g), torch.rand(3, generator=g) + 0.5
        layer = torch.nn.BatchNorm1d(3, momentum=momentum)
        with torch.no_grad():
            layer.weight.copy_(gamma), layer.bias.copy_(beta)
            layer.running_mean.copy_(mean), layer.running_var.copy_(var)
            layer.num_batches_tracked.fill_(tracked)
        y, new_mean, new_var = batch_norm_train_reference(x, gamma, beta, mean, var, momentum,
                                                          1e-5, tracked)
        torch.testing.assert_close(y, layer(x))
        torch.testing.assert_close(new_mean, layer.running_mean)
        torch.testing.assert_close(new_var, layer.running_var)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm1d(3)(torch.randn(1, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        batch_norm_train_reference(torch.randn(1, 3), gamma, beta, mean, var)

    linear, bn = torch.nn.Linear(5, 3), torch.nn.BatchNorm1d(3, eps=0.01)
    for _ in range(4):
        bn(torch.randn(8, 3) * 2 + 1)
    linear.eval(), bn.eval()
    with torch.no_grad():
        bn.weight.copy_(gamma), bn.bias.copy_(beta)
        w, b = fold_batch_norm_reference(linear.weight, linear.bias, bn.weight, bn.bias,
                                         bn.running_mean, bn.running_var, bn.eps)
        x = torch.randn(7, 5, generator=g)
        torch.testing.assert_close(x @ w.T + b, bn(linear(x)))
        fused = torch.nn.utils.fusion.fuse_linear_bn_eval(linear, bn)
        torch.testing.assert_close(w, fused.weight)
        torch.testing.assert_close(b, fused.bias)

    x, keep = torch.randn(4, 5, generator=g), torch.rand(4, 5, generator=g) > 0.3
    torch.manual_seed(0)
    assert torch.equal(dropout_with_mask_reference(x, keep, 1.0), torch.zeros(4, 5))
    kept = dropout_with_mask_reference(x, keep, 0.3)
    torch.testing.assert_close(kept[keep], x[keep] / 0.7)
    assert (kept[~keep] == 0).all()


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    return checks.failures(EX, question_id, answer)


def test_dropout_without_scaling_or_that_divides_by_zero_fails():
    def no_scaling(x, keep, p):
        return x * keep

    def divides_by_zero(x, keep, p):
        return x * keep / (1 - p)

    def scales_by_p(x, keep, p):
        return x * keep / p if p else x.clone()

    assert failures("q1", no_scaling) >= 4          # all but p = 0, p = 1 and the empty batch
    assert failures("q1", divides_by_zero) == 1          # only p = 1 (0 / 0)
    assert failures("q1", scales_by_p) >= 3          # right only where p = 1 - p or no unit is both kept and nonzero


def _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, tracked, *,
                unbiased_running=True, unbiased_normalize=False, cumulative=True, sequences=True,
                check_one=True):
    dims = [0] if x.dim() == 2 or not sequences else [0, 2]
    count = x.numel() // x.shape[1] if sequences else x.shape[0]
    if check_one and count == 1:
        raise ValueError("one value")
    mean = x.mean(dim=dims)
    var = x.var(dim=dims, unbiased=unbiased_normalize)
    shape = [1, -1] + [1] * (x.dim() - 2)
    y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps) * gamma.view(shape) \
        + beta.view(shape)
    if momentum is None:
        m = 1 / (tracked + 1) if cumulative else 0.1
    else:
        m = momentum
    biased = x.var(dim=dims, unbiased=False)
    remembered = biased * count / (count - 1) if unbiased_running else biased
    return y, (1 - m) * running_mean + m * mean, (1 - m) * running_var + m * remembered


def test_the_right_batch_norm_passes_and_typical_slips_fail():
    assert failures("q2", _batch_norm) == 0
    assert failures("q2", lambda *a: _batch_norm(*a, unbiased_running=False)) >= 8
    assert failures("q2", lambda *a: _batch_norm(*a, unbiased_normalize=True)) >= 8
    assert failures("q2", lambda *a: _batch_norm(*a, cumulative=False)) >= 2
    assert failures("q2", lambda *a: _batch_norm(*a, sequences=False)) >= 2
    assert failures("q2", lambda *a: _batch_norm(*a, check_one=False)) >= 2


def test_a_batch_norm_that_modifies_its_running_statistics_in_place_fails():
    def in_place(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5, tracked=0):
        y, mean, var = _batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps,
                                   tracked)
        running_mean.copy_(mean)
        running_var.copy_(var)
        return y, running_mean, running_var

    assert failures("q2", in_place) >= 8


def test_batch_norm_through_the_library_is_forbidden():
    def through_functional(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5,
                           tracked=0):
        mean, var = running_mean.clone(), running_var.clone()
        m = 1 / (tracked + 1) if momentum is None else momentum
        y = torch.nn.functional.batch_norm(x, mean, var, gamma, beta, True, m, eps)
        return y, mean, var

    assert failures("q2", through_functional) == len(EX.question("q2").cases)


def _private_helpers(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5,
                     tracked=0):
    # nnbook's own helpers: the layer's forward pass without calling forward
    import nnbook.nn
    layer = nnbook.nn.BatchNorm1d(x.shape[1], momentum=momentum, eps=eps)
    with torch.no_grad():
        layer.running_mean.copy_(running_mean), layer.running_var.copy_(running_var)
        layer.num_batches_tracked.fill_(tracked)
    layer._check_input(x)
    mean, var = layer._batch_mean_and_var(x)
    layer._update_running_stats(mean, var, count=x.numel() // x.shape[1])
    shape = [1, -1] + [1] * (x.dim() - 2)
    y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps) * gamma.view(shape) \
        + beta.view(shape)
    return y, layer.running_mean.clone(), layer.running_var.clone()


from torch._decomp.decompositions import native_batch_norm as _DECOMPOSED_BATCH_NORM  # noqa: E402


def _through(function):
    """An answer that computes y with ``function`` (a library normalization) and the running
    statistics by hand, right: only the forbidding can fail it."""
    def answer(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5, tracked=0):
        dims = [0] if x.dim() == 2 else [0, 2]
        count = x.numel() // x.shape[1]
        if count == 1:
            raise ValueError("one value per channel")
        m = 1 / (tracked + 1) if momentum is None else momentum
        mean, var = x.mean(dim=dims), x.var(dim=dims)
        y = function(x, gamma, beta, eps)
        return y, (1 - m) * running_mean + m * mean, (1 - m) * running_var + m * var
    return answer


@pytest.mark.parametrize("name, function", [
    ("torch.ops.aten.native_batch_norm", lambda x, g, b, eps: torch.ops.aten.native_batch_norm(
        x, g, b, None, None, True, 0.1, eps)[0]),
    ("torch.native_batch_norm", lambda x, g, b, eps: torch.native_batch_norm(
        x, g, b, None, None, True, 0.1, eps)[0]),
    ("torch.batch_norm", lambda x, g, b, eps: torch.batch_norm(
        x, g, b, None, None, True, 0.1, eps, False)),
    ("torch._native_batch_norm_legit", lambda x, g, b, eps: torch._native_batch_norm_legit(
        x, g, b, True, 0.1, eps)[0]),
    ("F.instance_norm on (1, C, N·L)", lambda x, g, b, eps: torch.nn.functional.instance_norm(
        x.transpose(0, 1).reshape(1, x.shape[1], -1), weight=g, bias=b, eps=eps)
        .reshape(x.shape[1], x.shape[0], -1).transpose(0, 1).reshape(x.shape)),
    ("F.group_norm with one channel per group", lambda x, g, b, eps: torch.nn.functional.group_norm(
        x.transpose(0, 1).reshape(1, x.shape[1], -1), x.shape[1], g, b, eps)
        .reshape(x.shape[1], x.shape[0], -1).transpose(0, 1).reshape(x.shape)),
    ("F.batch_norm without running statistics", lambda x, g, b, eps: torch.nn.functional.batch_norm(
        x, None, None, g, b, True, 0.1, eps)),
    # the immutable torch._C._VariableFunctions: refused at the dispatcher
    ("torch._C._VariableFunctions.batch_norm", lambda x, g, b, eps:
        torch._C._VariableFunctions.batch_norm(x, g, b, None, None, True, 0.1, eps, False)),
    ("torch._C._VariableFunctions.native_batch_norm", lambda x, g, b, eps:
        torch._C._VariableFunctions.native_batch_norm(x, g, b, None, None, True, 0.1, eps)[0]),
    ("torch._C._VariableFunctions._native_batch_norm_legit", lambda x, g, b, eps:
        torch._C._VariableFunctions._native_batch_norm_legit(x, g, b, True, 0.1, eps)[0]),
    ("torch._C._VariableFunctions.instance_norm", lambda x, g, b, eps:
        torch._C._VariableFunctions.instance_norm(
            x.transpose(0, 1).reshape(1, x.shape[1], -1), g, b, None, None, True, 0.1, eps, False)
        .reshape(x.shape[1], x.shape[0], -1).transpose(0, 1).reshape(x.shape)),
    # PyTorch's Python decompositions, through the module and through a copy bound earlier
    ("torch._decomp.decompositions.native_batch_norm", lambda x, g, b, eps:
        __import__("torch._decomp.decompositions").\
        _decomp.decompositions.native_batch_norm(x, g, b, None, None, True, 0.1, eps)[0]),
    ("torch._decomp.decompositions.native_batch_norm, imported earlier", lambda x, g, b, eps:
        _DECOMPOSED_BATCH_NORM(x, g, b, None, None, True, 0.1, eps)[0]),
    ("torch._decomp.decompositions._native_batch_norm_legit", lambda x, g, b, eps:
        __import__("torch._decomp.decompositions").\
        _decomp.decompositions._native_batch_norm_legit(x, g, b, None, None, True, 0.1, eps)[0]),
])
def test_every_library_normalization_is_forbidden(name, function):
    """Each of these gives the right y when nothing is forbidden (checked), and fails every case
    of q2 under the grader."""
    answer = _through(function)
    x = torch.randn(6, 3, 4) * 2 + 1
    g, b = torch.rand(3) + 0.5, torch.randn(3)
    y = answer(x, g, b, torch.zeros(3), torch.ones(3))[0]
    torch.testing.assert_close(y, batch_norm_train_reference(x, g, b, torch.zeros(3),
                                                             torch.ones(3))[0])
    assert failures("q2", answer) >= len(EX.question("q2").cases) - 2, name  # the ValueError cases


def test_nnbooks_private_batch_norm_helpers_are_forbidden():
    x = torch.randn(5, 3)
    args = (x, torch.ones(3), torch.zeros(3), torch.zeros(3), torch.ones(3))
    for got, want in zip(_private_helpers(*args), batch_norm_train_reference(*args)):
        torch.testing.assert_close(got, want)                  # right when nothing is forbidden
    assert failures("q2", _private_helpers) == len(EX.question("q2").cases)


def test_forbidding_a_staticmethod_restores_it_as_a_staticmethod():
    import nnbook.nn
    from nnbook.grading.forbidden import methods_of
    layer = nnbook.nn.BatchNorm1d(3)
    with forbidden(methods_of(nnbook.nn.BatchNorm1d)):
        with pytest.raises(ForbiddenFunction):
            layer(torch.randn(4, 3))
    assert layer(torch.randn(4, 3)).shape == (4, 3)        # _per_channel works as before


def test_matching_finds_every_named_function_and_skips_missing_names():
    from nnbook.grading.forbidden import matching
    found = dict((name, owner) for owner, name in matching(torch, ["batch_norm"],
                                                           names=["no_such_function"]))
    assert {"batch_norm", "native_batch_norm"} <= set(found) and "no_such_function" not in found
    aten = [name for _, name in matching(torch.ops.aten, [], names=["native_batch_norm"])]
    assert aten == ["native_batch_norm"]


def test_folding_without_eps_or_the_mean_fails():
    def no_eps(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5):
        scale = gamma / torch.sqrt(running_var)
        b = torch.zeros_like(running_mean) if bias is None else bias
        return weight * scale[:, None], scale * (b - running_mean) + beta

    def mean_forgotten(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5):
        scale = gamma / torch.sqrt(running_var + eps)
        b = torch.zeros_like(running_mean) if bias is None else bias
        return weight * scale[:, None], scale * b + beta

    def columns_scaled(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5):
        scale = gamma / torch.sqrt(running_var + eps)
        b = torch.zeros_like(running_mean) if bias is None else bias
        if weight.shape[0] != weight.shape[1]:
            raise RuntimeError("shapes do not line up")
        return weight * scale[None, :], scale * (b - running_mean) + beta

    def via_torch(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5):
        b = torch.zeros_like(running_mean) if bias is None else bias
        return torch.nn.utils.fusion.fuse_linear_bn_weights(weight, b, running_mean, running_var,
                                                            eps, gamma, beta)

    assert failures("q3", no_eps) >= 2
    assert failures("q3", mean_forgotten) >= 5
    assert failures("q3", columns_scaled) == len(EX.question("q3").cases)
    assert failures("q3", via_torch) == len(EX.question("q3").cases)


def test_forbidden_functions_raise_inside_and_are_restored_after():
    x = torch.randn(4, 3)
    with forbidden(FORBIDDEN_Q2 + FORBIDDEN_Q3 + FORBIDDEN_Q4 + FORBIDDEN_Q5):
        for call in (lambda: torch.optim.AdamW([torch.zeros(1, requires_grad=True)]),
                     lambda: torch.ops.aten.native_batch_norm(x, None, None, None, None, True,
                                                              0.1, 1e-5),
                     lambda: torch.nn.BatchNorm1d(3)(x),
                     lambda: torch.nn.functional.batch_norm(x, None, None, training=True),
                     lambda: torch.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, False)):
            with pytest.raises(ForbiddenFunction):
                call()
        assert x.mean(dim=0).shape == (3,) and x.var(dim=0).shape == (3,)
    torch.nn.BatchNorm1d(3)(x)
    torch.ops.aten.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)
    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])
    torch.nn.utils.fusion.fuse_linear_bn_weights


def test_early_stopping_slips_and_the_library_stopper_fail():
    def ties_improve(val_losses, patience):
        best, best_epoch, waited = float("inf"), None, 0
        for epoch, loss in enumerate(val_losses, start=1):
            if loss <= best:
                best, best_epoch, waited = loss, epoch, 0
            else:
                waited += 1
                if waited == patience:
                    return best_epoch, epoch
        return best_epoch, len(val_losses)

    def stops_one_late(val_losses, patience):
        restored, stopped = early_stopping_epochs_reference(val_losses, patience)
        return restored, min(stopped + 1, len(val_losses))

    def last_epoch_kept(val_losses, patience):
        _, stopped = early_stopping_epochs_reference(val_losses, patience)
        return stopped, stopped

    def library(val_losses, patience):
        import nnbook.train
        stopper = nnbook.train.EarlyStopping(patience)
        for epoch, loss in enumerate(val_losses, start=1):
            if stopper.step(loss, torch.nn.Identity()):
                return stopper.best_epoch, epoch
        return stopper.best_epoch, len(val_losses)

    assert library([1.0, 0.5, 0.7, 0.8], 2) == (2, 4)            # right when nothing is forbidden
    assert failures("q4", ties_improve) == 1                       # only the tie
    assert failures("q4", stops_one_late) >= 4
    assert failures("q4", last_epoch_kept) >= 5
    assert failures("q4", library) == len(EX.question("q4").cases)


def test_adam_slips_and_the_library_optimizers_fail():
    def swapped(w, grad, lr, weight_decay, decoupled):
        return adam_first_step_reference(w, grad, lr, weight_decay, not decoupled)

    def sgd_like(w, grad, lr, weight_decay, decoupled):
        return w * (1 - lr * weight_decay) - lr * grad

    def no_eps(w, grad, lr, weight_decay, decoupled):
        seen = grad if decoupled else grad + weight_decay * w
        shrunk = w * (1 - lr * weight_decay) if decoupled else w
        return shrunk - lr * seen / seen.abs()

    def through(package):
        # one step of the package's own Adam or AdamW
        def answer(w, grad, lr, weight_decay, decoupled):
            p = w.detach().clone().requires_grad_(True)
            optimizer = (package.AdamW if decoupled else package.Adam)(
                [p], lr=lr, weight_decay=weight_decay)
            p.grad = grad.clone()
            optimizer.step()
            return p.detach()
        return answer

    import nnbook.optim
    library, nnbooks = through(torch.optim), through(nnbook.optim)

    cases = len(EX.question("q5").cases)
    assert failures("q5", swapped) >= cases - 2                    # equal where λ = 0
    assert failures("q5", sgd_like) == cases
    assert failures("q5", no_eps) >= 2                             # 0 / 0 where a gradient is 0
    assert failures("q5", library) == cases
    assert failures("q5", nnbooks) == cases


# --------------------------------------------------------------------------- no answer leaks

TRIVIAL = frozenset({"return y, new_mean, new_var"})


def test_no_stub_or_hint_contains_a_line_of_a_solution():
    lines = checks.solution_lines(SOLUTION, TRIVIAL)
    checks.assert_no_solution_line_leaks(lines, checks.hints_and_stubs(EX, EXERCISE), at_least=12)


@pytest.mark.parametrize("giveaway", [
    r"1 */ *\(1 *- *p\)", r"/ *\(1 *- *p\)", r"zeros_like", r"unbiased", r"count - 1", r"N *- *1",
    r"n *- *1", r"1 */ *\(?t", r"num_batches_tracked *\+ *1", r"sqrt", r"\[:, *None\]",
    r"running_mean\) *\*", r"gamma */",
])
def test_hints_and_stubs_do_not_state_the_formulas(giveaway):
    checks.assert_no_giveaway(giveaway, checks.hints_and_stubs(EX, EXERCISE))


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells
                         if c.cell_type == "markdown")
    for giveaway in ["1 / (1 - p)", "1/(1-p)", "N - 1", "1 / t", "1/t", "sqrt(", "γ / √",
                     "gamma / ", "(bias - running_mean)"]:
        assert giveaway not in markdown, giveaway


def test_q5_an_adam_first_step_that_ignores_eps_fails():
    """Without eps the first step is lr * sign(g) exactly; a case with gradients near 1e-8 tells."""
    def sign_step(w, grad, lr, weight_decay, decoupled):
        if decoupled:
            return w * (1 - lr * weight_decay) - lr * grad.sign()
        return w - lr * (grad + weight_decay * w).sign()

    assert checks.failures(EX, "q5", sign_step) >= 1
