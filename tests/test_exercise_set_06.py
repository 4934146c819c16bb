"""Exercise set 6 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, every question has more instructor
cases than public ones, the references equal torch.optim, typical wrong answers lose points, the
optimizers cannot be borrowed, and no stub, docstring or hint gives an answer away."""

import math
from pathlib import Path

import nbformat
import pytest
import torch

import exercise_set_checks as checks  # noqa: E402  (a module next to this file)
from nnbook.grading.sets.ex06_optimizers import EXERCISE_SET as EX
from nnbook.grading.sets.ex06_optimizers import (adagrad_run_reference,
                                                 adagrad_steps_until_reference,
                                                 adam_step_reference, multistep_lr_reference,
                                                 sgd_step_reference)

ROOT = Path(__file__).resolve().parents[1]
NAME = "06-optimizers.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    checks.assert_full_marks(tmp_path, EX, SOLUTION, "q2", extra_private_cases=1)


def test_the_generated_exercises_get_zero(tmp_path):
    checks.assert_zero(tmp_path, EX, EXERCISE)


def test_every_question_has_more_instructor_cases_than_public_ones():
    checks.assert_more_instructor_cases_than_public_ones(EX)


# --------------------------------------------------------------------------- the references

def test_the_references_follow_torch_optim_for_several_steps():
    g = torch.Generator().manual_seed(0)
    grads = torch.randn(6, 3, 2, generator=g, dtype=torch.float64)
    start = torch.randn(3, 2, generator=g, dtype=torch.float64)
    for options in (dict(momentum=0.9, dampening=0.3, weight_decay=0.01),
                    dict(momentum=0.8, nesterov=True), dict(momentum=0.0, weight_decay=0.1)):
        w = torch.nn.Parameter(start.clone())
        opt = torch.optim.SGD([w], lr=0.1, **options)
        param, buf = start, None
        for grad in grads:
            w.grad = grad.clone()
            opt.step()
            param, buf = sgd_step_reference(param, grad, buf, 0.1, options["momentum"],
                                            options.get("dampening", 0.0),
                                            options.get("weight_decay", 0.0),
                                            options.get("nesterov", False))
            torch.testing.assert_close(param, w.detach(), rtol=0, atol=1e-12)
    for cls, decoupled in ((torch.optim.Adam, False), (torch.optim.AdamW, True)):
        w = torch.nn.Parameter(start.clone())
        opt = cls([w], lr=0.01, weight_decay=0.1)
        param, m, v = start, torch.zeros_like(start), torch.zeros_like(start)
        for step, grad in enumerate(grads):
            w.grad = grad.clone()
            opt.step()
            param, m, v = adam_step_reference(param, grad, m, v, step, 0.01, (0.9, 0.999), 1e-8,
                                              0.1, decoupled)
            torch.testing.assert_close(param, w.detach(), rtol=0, atol=1e-12)
        torch.testing.assert_close(m, opt.state[w]["exp_avg"], rtol=0, atol=1e-12)
    w = torch.nn.Parameter(start.clone())
    opt = torch.optim.Adagrad([w], lr=0.3, eps=1e-6)
    for grad in grads:
        w.grad = grad.clone()
        opt.step()
    param, state_sum = adagrad_run_reference(start, grads, 0.3, 1e-6)
    torch.testing.assert_close(param, w.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(state_sum, opt.state[w]["sum"], rtol=0, atol=1e-12)


def test_the_multistep_reference_is_the_closed_form_and_torchs():
    for milestones, epoch in (([30, 60], 29), ([30, 60], 30), ([5, 5, 8], 6), ([], 10)):
        closed = 0.1 * 0.5 ** sum(m <= epoch for m in milestones)
        assert math.isclose(multistep_lr_reference(0.1, milestones, 0.5, epoch), closed)
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(opt, milestones, 0.5)
        for _ in range(epoch):
            opt.step()
            scheduler.step()
        assert math.isclose(opt.param_groups[0]["lr"], closed)


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    return checks.failures(EX, question_id, answer)


def test_sgd_that_dampens_the_first_step_or_decays_after_momentum_fails():
    def dampens_first(param, grad, buf, lr, momentum, dampening=0.0, weight_decay=0.0,
                      nesterov=False):
        g = grad + weight_decay * param
        if momentum == 0:
            return param - lr * g, None
        new = (1 - dampening) * g if buf is None else momentum * buf + (1 - dampening) * g
        d = g + momentum * new if nesterov else new
        return param - lr * d, new

    def textbook_velocity(param, grad, buf, lr, momentum, dampening=0.0, weight_decay=0.0,
                          nesterov=False):
        g = grad + weight_decay * param
        new = -lr * g if buf is None else momentum * buf - lr * g
        return param + new, new

    assert failures("q1", dampens_first) >= 1
    assert failures("q1", textbook_velocity) >= 7


def test_adam_without_correction_or_with_the_wrong_power_fails():
    def uncorrected(param, grad, m, v, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                    weight_decay=0.0, decoupled=False):
        grad = grad + weight_decay * param
        m = betas[0] * m + (1 - betas[0]) * grad
        v = betas[1] * v + (1 - betas[1]) * grad**2
        return param - lr * m / (v.sqrt() + eps), m, v

    def power_off_by_one(param, grad, m, v, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                         weight_decay=0.0, decoupled=False):
        t = max(step, 1)  # uses the steps taken, not this step's number
        grad = grad + weight_decay * param
        m = betas[0] * m + (1 - betas[0]) * grad
        v = betas[1] * v + (1 - betas[1]) * grad**2
        m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
        return param - lr * m_hat / (v_hat.sqrt() + eps), m, v

    assert failures("q2", uncorrected) >= 5
    assert failures("q2", power_off_by_one) >= 4


def test_adam_with_the_wrong_weight_decay_fails_the_decay_cases():
    def adam(param, grad, m, v, step, lr, betas, eps, weight_decay, decoupled):
        t = step + 1
        if decoupled:
            param = param * (1 - lr * weight_decay)
        else:
            grad = grad + weight_decay * param
        m = betas[0] * m + (1 - betas[0]) * grad
        v = betas[1] * v + (1 - betas[1]) * grad**2
        m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
        return param - lr * m_hat / (v_hat.sqrt() + eps), m, v

    def always_coupled(param, grad, m, v, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                       weight_decay=0.0, decoupled=False):
        return adam(param, grad, m, v, step, lr, betas, eps, weight_decay, False)

    def always_decoupled(param, grad, m, v, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                         weight_decay=0.0, decoupled=False):
        return adam(param, grad, m, v, step, lr, betas, eps, weight_decay, True)

    assert failures("q2", lambda *args: adam(*args)) == 0  # the helper itself is right

    def no_decay(param, grad, m, v, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0, decoupled=False):
        return adam(param, grad, m, v, step, lr, betas, eps, 0.0, False)

    # 2 AdamW cases and 3 Adam + L2 cases: swapping or ignoring the decay costs
    # 2, 3 or 5 of the 11 cases (of 3 points)
    assert failures("q2", always_coupled) == 2 and failures("q2", always_decoupled) == 3
    assert failures("q2", no_decay) == 5 and len(EX.question("q2").cases) == 11


def test_adagrad_that_updates_the_sum_after_the_step_fails():
    def sum_after(param, grads, lr=1e-2, eps=1e-10):
        s = torch.zeros_like(param)
        for grad in grads:
            param = param - lr * grad / (s.sqrt() + eps)
            s = s + grad**2
        return param, s

    def in_place(param, grads, lr=1e-2, eps=1e-10):
        s = torch.zeros_like(param)
        for grad in grads:
            s += grad**2
            param -= lr * grad / (s.sqrt() + eps)  # changes the caller's tensor
        return param, s

    assert failures("q3", sum_after) >= 4
    assert failures("q3", in_place) >= 4


def test_a_milestone_counted_strictly_or_once_fails():
    def strictly_after(base_lr, milestones, gamma, epoch):
        return base_lr * gamma ** sum(m < epoch for m in milestones)

    def unique(base_lr, milestones, gamma, epoch):
        return base_lr * gamma ** sum(m <= epoch for m in set(milestones))

    assert failures("q4", strictly_after) >= 1
    assert failures("q4", unique) == 1


def test_the_steps_until_reference_matches_adagrad_run_step_by_step():
    """On every case small enough to run, the count is where torch.optim.Adagrad's rate first
    falls to the threshold (checked in float64 one step before and at the count)."""
    for case in EX.question("q5").cases:
        state_sum, grad, lr, eps, threshold = case.make_args("cpu")
        counts = adagrad_steps_until_reference(state_sum, grad, lr, eps, threshold)
        assert counts.dtype == torch.int64 and counts.shape == grad.shape
        for s0, g, n in zip(state_sum.double().flatten().tolist(),
                            grad.double().flatten().tolist(), counts.flatten().tolist()):
            def rate(steps):
                return lr / (math.sqrt(s0 + steps * g * g) + eps)
            if n == -1:
                assert g == 0 and rate(0) > threshold
            else:
                assert rate(n) <= threshold and (n == 0 or rate(n - 1) > threshold)
    # and torch's Adagrad agrees on a small case, step by step
    s0, g = torch.tensor([0.0, 50.0, 3.0], dtype=torch.float64), torch.tensor(
        [1.0, 2.0, 0.5], dtype=torch.float64)
    counts = adagrad_steps_until_reference(s0, g, 0.1, 1e-10, 0.003).tolist()
    w = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = torch.optim.Adagrad([w], lr=0.1, eps=1e-10)
    opt.state[w]["sum"], opt.state[w]["step"] = s0.clone(), torch.tensor(0.0)
    for n in range(max(counts) + 1):
        below = (0.1 / (opt.state[w]["sum"].sqrt() + 1e-10) <= 0.003).tolist()
        assert below == [n >= c for c in counts]
        w.grad = g.clone()
        opt.step()
    assert counts == [1112, 266, 4433]


def test_typical_wrong_steps_until_answers_fail():
    def from_zero(state_sum, grad, lr, eps, threshold):  # forgets the accumulator so far
        need = max(lr / threshold - eps, 0.0) ** 2
        n = torch.ceil(need / (grad.double() ** 2))
        return torch.where(grad == 0, torch.full_like(n, -1.0), n).to(torch.int64)

    def without_eps(state_sum, grad, lr, eps, threshold):
        return adagrad_steps_until_reference(state_sum, grad, lr, 0.0, threshold)

    def eps_inside_the_root(state_sum, grad, lr, eps, threshold):
        return adagrad_steps_until_reference(state_sum + eps, grad, lr, 0.0, threshold)

    def floor_not_ceil(state_sum, grad, lr, eps, threshold):
        n = adagrad_steps_until_reference(state_sum, grad, lr, eps, threshold)
        return torch.where(n > 0, n - 1, n)

    def float32_loop(state_sum, grad, lr, eps, threshold):  # simulation: cannot reach 4e14
        s, n = state_sum.clone(), torch.zeros_like(state_sum, dtype=torch.int64)
        for _ in range(2000):
            active = lr / (s.sqrt() + eps) > threshold
            s, n = s + active * grad * grad, n + active.long()
        return torch.where((lr / (s.sqrt() + eps) > threshold) & (grad == 0), -1, n)

    assert failures("q5", from_zero) >= 3
    assert failures("q5", without_eps) >= 1
    assert failures("q5", eps_inside_the_root) >= 1
    assert failures("q5", floor_not_ceil) >= 5
    assert failures("q5", float32_loop) >= 5


def test_answers_that_borrow_torch_optim_fail_every_case():
    def borrowed_sgd(param, grad, buf, lr, momentum, dampening=0.0, weight_decay=0.0,
                     nesterov=False):
        p = torch.nn.Parameter(param.clone())
        opt = torch.optim.SGD([p], lr=lr, momentum=momentum, dampening=dampening,
                              weight_decay=weight_decay, nesterov=nesterov)
        if buf is not None:
            opt.state[p]["momentum_buffer"] = buf.clone()
        p.grad = grad.clone()
        opt.step()
        return p.detach(), opt.state[p].get("momentum_buffer")

    def borrowed_schedule(base_lr, milestones, gamma, epoch):
        return multistep_lr_reference(base_lr, milestones, gamma, epoch)

    assert failures("q1", borrowed_sgd) == len(EX.question("q1").cases)
    assert failures("q4", borrowed_schedule) == len(EX.question("q4").cases)


# aliases taken before any check runs: the grader must refuse them too
from nnbook.optim.adagrad import adagrad as _nnbook_adagrad  # noqa: E402
from nnbook.optim.adam import adam as _nnbook_adam  # noqa: E402
from nnbook.optim.sgd import sgd as _nnbook_sgd  # noqa: E402
from torch.optim import Adagrad as _TorchAdagrad  # noqa: E402
from torch.optim._functional import adagrad as _functional_adagrad  # noqa: E402
from torch.optim.adam import adam as _torch_adam  # noqa: E402
from torch.optim.sgd import sgd as _torch_sgd  # noqa: E402
from nnbook.optim import Adam as _NnbookAdam  # noqa: E402
from nnbook.optim.lr_scheduler import MultiStepLR as _NnbookMultiStep  # noqa: E402
from torch.optim.lr_scheduler import MultiStepLR as _TorchMultiStep  # noqa: E402
from torch.optim.lr_scheduler import LRScheduler as _TorchBase  # noqa: E402


def _sgd_with(function):
    def answer(param, grad, buf, lr, momentum, dampening=0.0, weight_decay=0.0, nesterov=False):
        param, buf = param.clone(), None if buf is None else buf.clone()
        kwargs = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                      nesterov=nesterov, maximize=False)
        if function is _torch_sgd:
            bufs = [buf]
            function([param], [grad], bufs, **kwargs)
            return param, bufs[0] if momentum else None
        return param, function(param, grad, buf, **kwargs)
    return answer


def _adam_with(function):
    def answer(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=0.0, decoupled=False):
        param, m, v = param.clone(), exp_avg.clone(), exp_avg_sq.clone()
        count = torch.tensor(float(step))
        kwargs = dict(lr=lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay,
                      amsgrad=False, maximize=False, decoupled_weight_decay=decoupled)
        if function is _torch_adam:
            function([param], [grad], [m], [v], [], [count], **kwargs)
        else:
            function(param, grad, m, v, None, count, **kwargs)
        return param, m, v
    return answer


def _adam_class(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                weight_decay=0.0, decoupled=False):
    p = torch.nn.Parameter(param.clone())
    opt = _NnbookAdam([p], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                      decoupled_weight_decay=decoupled)
    opt.state[p] = dict(exp_avg=exp_avg.clone(), exp_avg_sq=exp_avg_sq.clone(),
                        step=torch.tensor(float(step)))
    p.grad = grad.clone()
    opt.step()
    return p.detach(), opt.state[p]["exp_avg"], opt.state[p]["exp_avg_sq"]


def _adagrad_with(function):
    def answer(param, grads, lr=1e-2, eps=1e-10):
        param, total, step = param.clone(), torch.zeros_like(param), torch.tensor(0.0)
        for grad in grads:
            kwargs = dict(lr=lr, lr_decay=0, weight_decay=0, eps=eps, maximize=False)
            if function is _functional_adagrad:
                function([param], [grad], [total], [step], **kwargs)
            else:
                function(param, grad, total, step, **kwargs)
        return param, total
    return answer


def _adagrad_class(param, grads, lr=1e-2, eps=1e-10):
    p = torch.nn.Parameter(param.clone())
    opt = _TorchAdagrad([p], lr=lr, eps=eps)
    for grad in grads:
        p.grad = grad.clone()
        opt.step()
    return p.detach(), opt.state[p]["sum"]


def _schedule_with(cls):
    def answer(base_lr, milestones, gamma, epoch):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
        scheduler = cls(opt, list(milestones), gamma)
        for _ in range(epoch):
            opt.step()
            scheduler.step()
        return float(opt.param_groups[0]["lr"])
    return answer


def _closed_form_with(cls):
    """Borrow the class's closed form through a half-built object (no constructor)."""
    def answer(base_lr, milestones, gamma, epoch):
        import collections
        scheduler = object.__new__(cls)
        scheduler.base_lrs, scheduler.milestones = [base_lr], collections.Counter(milestones)
        scheduler.gamma, scheduler.last_epoch = gamma, epoch
        return float(scheduler._get_closed_form_lr()[0])
    return answer


def _fused_sgd(param, grad, buf, lr, momentum, dampening=0.0, weight_decay=0.0, nesterov=False):
    param = param.clone()
    first = buf is None
    bufs = [] if momentum == 0 else [torch.zeros_like(param) if first else buf.clone()]
    torch._fused_sgd_([param], [grad], bufs, weight_decay=weight_decay, momentum=momentum,
                      lr=lr, dampening=dampening, nesterov=nesterov, maximize=False,
                      is_first_step=first)
    return param, bufs[0] if bufs else None


def _fused_adam(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                weight_decay=0.0, decoupled=False):
    param, m, v = param.clone(), exp_avg.clone(), exp_avg_sq.clone()
    kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
    kernel([param], [grad], [m], [v], [], [torch.tensor(float(step + 1))], lr=lr,
           beta1=betas[0], beta2=betas[1], weight_decay=weight_decay, eps=eps, amsgrad=False,
           maximize=False)
    return param, m, v


def _fused_aten_adam(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999),
                     eps=1e-8, weight_decay=0.0, decoupled=False):
    param, m, v = param.clone(), exp_avg.clone(), exp_avg_sq.clone()
    kernel = torch.ops.aten._fused_adamw_ if decoupled else torch.ops.aten._fused_adam_
    kernel([param], [grad], [m], [v], [], [torch.tensor(float(step + 1))], lr=lr,
           beta1=betas[0], beta2=betas[1], weight_decay=weight_decay, eps=eps, amsgrad=False,
           maximize=False)
    return param, m, v


def _fused_adagrad(param, grads, lr=1e-2, eps=1e-10):
    param, total, step = param.clone(), torch.zeros_like(param), torch.tensor(0.0)
    for grad in grads:
        step += 1
        torch._fused_adagrad_([param], [grad], [total], [step], lr=lr, lr_decay=0.0,
                              weight_decay=0.0, eps=eps, maximize=False)
    return param, total


@pytest.mark.parametrize("question_id, answer", [
    ("q4", _schedule_with(_TorchMultiStep)), ("q4", _schedule_with(_NnbookMultiStep)),
    ("q4", _closed_form_with(_TorchMultiStep)),
    ("q1", _fused_sgd), ("q2", _fused_adam), ("q2", _fused_aten_adam), ("q3", _fused_adagrad),
], ids=["torch-MultiStepLR-alias", "nnbook-MultiStepLR-alias", "torch-closed-form",
        "fused-sgd", "fused-adam", "aten-fused-adam", "fused-adagrad"])
def test_scheduler_aliases_and_fused_kernels_fail(question_id, answer):
    """A scheduler class imported earlier under another name, its closed form, and the fused
    kernels that do a whole optimizer step: each case that calls one fails."""
    cases = EX.question(question_id).cases
    calls_nothing = sum(1 for case in cases if case.name.startswith("no steps"))
    assert failures(question_id, answer) == len(cases) - calls_nothing
    # right answers outside the check: only the ban makes them fail
    for case in cases:
        got, want = answer(*case.make_args("cpu")), EX.question(question_id).reference(
            *case.make_args("cpu"))
        for a, b in zip(got if isinstance(got, tuple) else (got,),
                        want if isinstance(want, tuple) else (want,)):
            if a is None or b is None:
                assert a is b
            else:
                torch.testing.assert_close(torch.as_tensor(a), torch.as_tensor(b))


def test_the_ban_is_lifted_after_each_check():
    """The schedulers' methods, the optimizers and the fused kernels work again afterwards."""
    for question_id in ("q1", "q4"):
        failures(question_id, _fused_sgd if question_id == "q1" else
                 _schedule_with(_TorchMultiStep))
    assert _schedule_with(_TorchMultiStep)(0.1, [2], 0.1, 3) == pytest.approx(0.01)
    assert _schedule_with(_NnbookMultiStep)(0.1, [2], 0.1, 3) == pytest.approx(0.01)
    assert isinstance(_TorchBase.step, type(_TorchBase.get_last_lr))
    assert _fused_sgd(torch.ones(2), torch.ones(2), None, 0.1, 0.0)[0].tolist() == \
        pytest.approx([0.9, 0.9])


@pytest.mark.parametrize("question_id, answer", [
    ("q1", _sgd_with(_nnbook_sgd)), ("q1", _sgd_with(_torch_sgd)),
    ("q2", _adam_with(_nnbook_adam)), ("q2", _adam_with(_torch_adam)), ("q2", _adam_class),
    ("q3", _adagrad_with(_nnbook_adagrad)), ("q3", _adagrad_with(_functional_adagrad)),
    ("q3", _adagrad_class),
], ids=["nnbook-sgd", "torch-sgd", "nnbook-adam", "torch-adam", "nnbook-Adam-class",
        "nnbook-adagrad", "torch-functional-adagrad", "torch-Adagrad-class"])
def test_answers_that_call_an_alias_imported_earlier_fail(question_id, answer):
    """Every case but the empty AdaGrad run (which calls nothing) fails for a borrowed function."""
    cases = EX.question(question_id).cases
    calls_nothing = sum(1 for case in cases if case.name.startswith("no steps"))
    assert failures(question_id, answer) == len(cases) - calls_nothing


def test_the_aliases_work_outside_the_checks():
    """The borrowing answers above are right: only the ban makes them fail."""
    for question_id, answer in (("q1", _sgd_with(_nnbook_sgd)), ("q2", _adam_with(_torch_adam)),
                                ("q3", _adagrad_class)):
        question = EX.question(question_id)
        for case in question.cases:
            got, want = answer(*case.make_args("cpu")), question.reference(*case.make_args("cpu"))
            for a, b in zip(got, want):
                if a is None or b is None:
                    assert a is b
                else:
                    torch.testing.assert_close(a, b)


# --------------------------------------------------------------------------- no answer leaks

TRIVIAL = frozenset({"beta1, beta2 = betas", "param = param.clone()"})


def test_no_stub_or_hint_contains_a_line_of_a_solution():
    lines = checks.solution_lines(SOLUTION, TRIVIAL)
    checks.assert_no_solution_line_leaks(lines, checks.hints_and_stubs(EX, EXERCISE), at_least=12)


@pytest.mark.parametrize("giveaway", [
    r"step \+ 1", r"1 - beta", r"\*\* *t", r"<= *epoch", r"m <=", r"1 - dampening",
    r"grad \* grad", r"\.sqrt\(\)", r"1 - lr \* weight_decay", r"g\.clone", r"sum\(",
    r"ceil", r"lr / threshold", r"\*\* *2", r"s0 \+ n",
])
def test_hints_and_stubs_do_not_state_the_formulas(giveaway):
    checks.assert_no_giveaway(giveaway, checks.hints_and_stubs(EX, EXERCISE))


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells
                         if c.cell_type == "markdown")
    for giveaway in ["step + 1", "t = step", "no dampening on the first", "m <= epoch",
                     "counts milestones", "gamma ** ", "before the momentum"]:
        assert giveaway not in markdown, giveaway
