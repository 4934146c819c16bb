"""nnbook.optim.lr_scheduler gives torch.optim.lr_scheduler's learning rates, step for step.

Each schedule runs beside torch's twin on its own optimizer with two parameter groups (different
starting rates), for three periods of the schedule, crossing every boundary (StepLR's steps,
each milestone, T_max and 2·T_max, the end of LinearLR's ramp). Compared at every step:
``get_last_lr()`` and the rates in the optimizer's groups, to 1e-12. Also proven: each schedule
equals the closed form in its docstring; schedulers drive ``nnbook.optim`` and ``torch.optim``
optimizers alike, with float or tensor rates; two schedulers on one optimizer compose as in
torch; ``last_epoch`` and state_dict resume a run exactly; bad arguments raise clear errors.
"""

import inspect
import math

import pytest
import torch

import nnbook.optim
from nnbook.optim import lr_scheduler

NAMES = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR"]
BASE_LRS = [0.1, 0.03]
CLOSE = dict(rel=1e-12, abs=1e-15)

SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=4)),
    ("CosineAnnealingLR", dict(T_max=1, eta_min=0.001)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=6)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=4)),
]


def schedule_id(schedule):
    name, kwargs = schedule
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


def period(kwargs):
    return kwargs.get("T_max") or kwargs.get("total_iters") or kwargs.get("step_size") or 10


def make_optimizer(library, device, tensor_lr=False, name="SGD", **kwargs):
    """A two-group optimizer of ``library`` (nnbook.optim or torch.optim), rates BASE_LRS."""
    groups = [{"params": [torch.zeros(2, device=device, requires_grad=True)],
               "lr": torch.tensor(lr) if tensor_lr else lr} for lr in BASE_LRS]
    return getattr(library, name)(groups, lr=0.5, **kwargs)


def rates(optimizer):
    return [float(group["lr"]) for group in optimizer.param_groups]


def floats(lrs):
    return [float(lr) for lr in lrs]


def run_twins(name, kwargs, ours_optimizer, torch_optimizer, steps):
    """Step our scheduler and torch's together; assert equal rates after every step."""
    ours = getattr(lr_scheduler, name)(ours_optimizer, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_optimizer, **kwargs)
    history = []
    for step in range(steps + 1):
        if step:
            ours_optimizer.step()
            torch_optimizer.step()
            ours.step()
            theirs.step()
        assert floats(ours.get_last_lr()) == pytest.approx(floats(theirs.get_last_lr()), **CLOSE)
        assert rates(ours_optimizer) == pytest.approx(rates(torch_optimizer), **CLOSE)
        assert ours.last_epoch == theirs.last_epoch
        history.append(rates(ours_optimizer))
    return history


@pytest.mark.parametrize("tensor_lr", [False, True], ids=["float-lr", "tensor-lr"])
@pytest.mark.parametrize("library", [nnbook.optim, torch.optim], ids=["nnbook-opt", "torch-opt"])
@pytest.mark.parametrize("schedule", SCHEDULES, ids=schedule_id)
def test_rates_follow_torch_over_three_periods(schedule, library, tensor_lr, device):
    name, kwargs = schedule
    ours_optimizer = make_optimizer(library, device, tensor_lr)
    torch_optimizer = make_optimizer(torch.optim, device, tensor_lr)
    run_twins(name, kwargs, ours_optimizer, torch_optimizer, steps=3 * period(kwargs) + 2)
    if tensor_lr:  # the scheduler fills the optimizer's tensor in place, never replaces it
        assert all(isinstance(group["lr"], torch.Tensor) for group in ours_optimizer.param_groups)


def closed_form(name, kwargs, base_lr, t):
    """The equation in each scheduler's docstring."""
    if name == "StepLR":
        return base_lr * kwargs.get("gamma", 0.1) ** (t // kwargs["step_size"])
    if name == "MultiStepLR":
        return base_lr * kwargs["gamma"] ** sum(m <= t for m in kwargs["milestones"])
    if name == "ExponentialLR":
        return base_lr * kwargs["gamma"] ** t
    if name == "CosineAnnealingLR":
        eta_min = kwargs.get("eta_min", 0.0)
        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / kwargs["T_max"])) / 2
    start, end = kwargs.get("start_factor", 1 / 3), kwargs.get("end_factor", 1.0)
    total = kwargs.get("total_iters", 5)
    return base_lr * (start + (end - start) * min(t, total) / total)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=schedule_id)
def test_rates_equal_the_closed_form(schedule):
    name, kwargs = schedule
    optimizer = make_optimizer(nnbook.optim, "cpu")
    scheduler = getattr(lr_scheduler, name)(optimizer, **kwargs)
    for t in range(3 * period(kwargs) + 2):
        expected = [closed_form(name, kwargs, base_lr, t) for base_lr in BASE_LRS]
        assert scheduler.get_last_lr() == pytest.approx(expected, rel=1e-12, abs=1e-15)
        optimizer.step()
        scheduler.step()


def test_cosine_annealing_hits_its_ends():
    optimizer = make_optimizer(nnbook.optim, "cpu")
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=5, eta_min=0.002)
    seen = [scheduler.get_last_lr()]
    for _ in range(10):
        scheduler.step()
        seen.append(scheduler.get_last_lr())
    assert seen[5] == pytest.approx([0.002, 0.002], rel=1e-12)  # the trough at T_max
    assert seen[10] == pytest.approx(BASE_LRS, rel=1e-12)  # back to the start at 2·T_max


def test_warm_up_then_cosine_compose_as_in_torch(device):
    """Two schedulers on one optimizer multiply their factors (the chainable form)."""
    histories = []
    for module, library in ((lr_scheduler, nnbook.optim), (torch.optim.lr_scheduler,
                                                           torch.optim)):
        optimizer = make_optimizer(library, device)
        warm_up = module.LinearLR(optimizer, start_factor=0.1, total_iters=4)
        decay = module.CosineAnnealingLR(optimizer, T_max=12, eta_min=0.0)
        history = []
        for _ in range(20):
            optimizer.step()
            warm_up.step()
            decay.step()
            history.append(rates(optimizer))
        histories.append(history)
    for ours, theirs in zip(*histories):
        assert ours == pytest.approx(theirs, **CLOSE)


@pytest.mark.parametrize("tensor_lr", [False, True], ids=["float-lr", "tensor-lr"])
def test_training_under_a_schedule_follows_torch(tensor_lr, device):
    """Ours (Adam + warm-up + cosine) moves the parameters exactly as torch's does."""
    finals = []
    for module, library in ((lr_scheduler, nnbook.optim), (torch.optim.lr_scheduler,
                                                           torch.optim)):
        optimizer = make_optimizer(library, device, tensor_lr, "Adam", betas=(0.8, 0.9))
        schedulers = [module.LinearLR(optimizer, start_factor=0.2, total_iters=3),
                      module.CosineAnnealingLR(optimizer, T_max=10)]
        params = [p for group in optimizer.param_groups for p in group["params"]]
        generator = torch.Generator().manual_seed(0)
        for _ in range(25):
            for param in params:
                target = torch.randn(2, generator=generator, dtype=param.dtype).to(device)
                param.grad = torch.tanh(param.detach() - target)
            optimizer.step()
            for scheduler in schedulers:
                scheduler.step()
        finals.append(params)
    for ours, theirs in zip(*finals):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
        assert ours.abs().sum() > 0.01  # they moved


@pytest.mark.parametrize("schedule", SCHEDULES, ids=schedule_id)
def test_state_dict_resumes_the_schedule(schedule):
    name, kwargs = schedule
    steps = 3 * period(kwargs) + 2
    optimizer = make_optimizer(nnbook.optim, "cpu")
    uninterrupted = run_twins(name, kwargs, optimizer, make_optimizer(torch.optim, "cpu"), steps)

    optimizer = make_optimizer(nnbook.optim, "cpu")
    scheduler = getattr(lr_scheduler, name)(optimizer, **kwargs)
    for _ in range(steps // 2):
        optimizer.step()
        scheduler.step()
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    # Restore as torch recommends: build the scheduler first, then load both states.
    optimizer = make_optimizer(nnbook.optim, "cpu")
    scheduler = getattr(lr_scheduler, name)(optimizer, **kwargs)
    optimizer.load_state_dict(saved_optimizer)
    scheduler.load_state_dict(saved_scheduler)
    resumed = [rates(optimizer)]
    for _ in range(steps - steps // 2):
        optimizer.step()
        scheduler.step()
        resumed.append(rates(optimizer))
    for ours, expected in zip(resumed, uninterrupted[steps // 2:], strict=True):
        assert ours == pytest.approx(expected, **CLOSE)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=schedule_id)
def test_last_epoch_resumes_like_torch(schedule):
    """Constructing with last_epoch=k (groups already holding initial_lr) matches torch."""
    name, kwargs = schedule
    optimizers = []
    for library in (nnbook.optim, torch.optim):
        optimizer = make_optimizer(library, "cpu")
        for group, lr in zip(optimizer.param_groups, BASE_LRS):
            group["initial_lr"] = lr
            group["lr"] = lr * 0.5  # a rate a previous run left behind
        optimizers.append(optimizer)
    run_twins(name, dict(kwargs, last_epoch=4), *optimizers, steps=2 * period(kwargs))


@pytest.mark.parametrize("name", NAMES)
def test_signature_mirrors_torch(name):
    def describe(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]
    assert describe(getattr(lr_scheduler, name)) == describe(
        getattr(torch.optim.lr_scheduler, name))


# ------------------------------------------------------------------ bad input

SHARED_ERRORS = [  # torch raises these too, with the same type and words
    ("LinearLR", dict(start_factor=0.0), ValueError, "Starting multiplicative factor"),
    ("LinearLR", dict(start_factor=1.5), ValueError, "Starting multiplicative factor"),
    ("LinearLR", dict(end_factor=-0.1), ValueError, "Ending multiplicative factor"),
    ("LinearLR", dict(end_factor=1.5), ValueError, "Ending multiplicative factor"),
]

OUR_ERRORS = [  # torch accepts these and fails later, or silently schedules nonsense
    ("StepLR", dict(step_size=0), ValueError, "step_size must be a positive integer"),
    ("StepLR", dict(step_size=2.5), ValueError, "step_size must be a positive integer"),
    ("StepLR", dict(step_size=2, gamma=-0.5), ValueError, "gamma must be positive"),
    ("ExponentialLR", dict(gamma=0.0), ValueError, "gamma must be positive"),
    ("MultiStepLR", dict(milestones=[5, 2]), ValueError, "milestones must be in increasing"),
    ("MultiStepLR", dict(milestones=[2.5]), TypeError, "milestones must be integers"),
    ("MultiStepLR", dict(milestones=[2], gamma=-1.0), ValueError, "gamma must be positive"),
    ("CosineAnnealingLR", dict(T_max=0), ValueError, "T_max must be a positive integer"),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=-0.1), ValueError, "eta_min must be non-neg"),
    ("LinearLR", dict(total_iters=0), ValueError, "total_iters must be a positive integer"),
    ("ExponentialLR", dict(gamma=0.9, last_epoch=-2), ValueError, "last_epoch must be an int"),
]


@pytest.mark.parametrize("name, kwargs, error, message", SHARED_ERRORS + OUR_ERRORS,
                         ids=[f"{n}-{k}" for n, k, _, _ in SHARED_ERRORS + OUR_ERRORS])
def test_bad_arguments_raise_clear_errors(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        getattr(lr_scheduler, name)(make_optimizer(nnbook.optim, "cpu"), **kwargs)
    if (name, kwargs, error, message) in SHARED_ERRORS:
        with pytest.raises(error, match=message):
            getattr(torch.optim.lr_scheduler, name)(make_optimizer(torch.optim, "cpu"), **kwargs)


def test_errors_shared_with_torch_for_the_optimizer_argument():
    for module in (lr_scheduler, torch.optim.lr_scheduler):
        with pytest.raises(TypeError, match="list is not an Optimizer"):
            module.ExponentialLR([], gamma=0.9)
        with pytest.raises(KeyError, match="initial_lr"):
            module.ExponentialLR(make_optimizer(torch.optim, "cpu"), gamma=0.9, last_epoch=3)
