"""Exercise set 6, "The optimizer family and learning-rate decay": the questions of
solutions/06-optimizers.ipynb.

q1 ``sgd_step(param, grad, buf, lr, momentum, dampening,      one step of torch.optim.SGD as a
   weight_decay, nesterov)``                                   pure function, every option (1 point)
q2 ``adam_step(param, grad, exp_avg, exp_avg_sq, step, lr,     one Adam or AdamW step from its state,
   betas, eps, weight_decay, decoupled)``                      bias correction included (3 points)
q3 ``adagrad_run(param, grads, lr, eps)``                      AdaGrad over a sequence of gradients
                                                               (1 point)
q4 ``multistep_lr(base_lr, milestones, gamma, epoch)``         the rate of a multi-step schedule at
                                                               any epoch, in closed form (1 point)
q5 ``adagrad_steps_until(state_sum, grad, lr, eps,             how many more AdaGrad steps, with a
   threshold)``                                                steady gradient, until each
                                                               coordinate's effective rate is at
                                                               most ``threshold`` (3 points)

In every question the library code that would do the work (``torch.optim``'s and
``nnbook.optim``'s optimizers and update functions, the schedulers in q4) is *forbidden*: while
the learner's answer runs it raises :class:`nnbook.grading.forbidden.ForbiddenFunction`. The
answers are pure functions: they return new tensors and must leave their inputs unchanged.

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (several steps with changing gradients, the first step's special cases,
weight decay coupled and decoupled, float64, parameters of several shapes, a zero gradient;
tensor cases are repeated on the GPU when one is present).
"""

import importlib
import inspect

import torch

import nnbook.optim
import nnbook.optim.adagrad
import nnbook.optim.adam
import nnbook.optim.sgd
from nnbook.grading.forbidden import matching, methods_of, without
from nnbook.grading.inputs import randn, tensor
from nnbook.grading.questions import Case, ExerciseSet, Question

# (owner, attribute name) of the optimizers and update rules no answer may call
# The functions' code is swapped while an answer runs, so a copy imported earlier under another
# name refuses too; torch's ``adam`` is a wrapper with a closure (no code swap), so its workers
# are forbidden as well; the classes' ``step`` refuses for an alias of the class taken earlier.
_TORCH_FUNCTIONAL = [(importlib.import_module(f"torch.optim.{module}"), f"{prefix}{module}")
                     for module in ("sgd", "adam", "adagrad")
                     for prefix in ("", "_single_tensor_", "_multi_tensor_")]
FORBIDDEN_OPTIMIZERS = (
    [(torch.optim, name) for name in ("SGD", "Adam", "AdamW", "Adagrad", "RMSprop")]
    + [(getattr(torch.optim, name), "step") for name in ("SGD", "Adam", "AdamW", "Adagrad")]
    + _TORCH_FUNCTIONAL
    + [(importlib.import_module("torch.optim.adam"), "_fused_adam")]
    + [(importlib.import_module("torch.optim._functional"), name) for name in ("sgd", "adam", "adagrad")]
    + [(nnbook.optim, name) for name in ("SGD", "Adam", "AdamW", "Adagrad", "RMSprop")]
    + [(getattr(nnbook.optim, name), "step") for name in ("SGD", "Adam", "AdamW", "Adagrad")]
    + [(nnbook.optim.sgd, "sgd"), (nnbook.optim.adam, "adam"), (nnbook.optim.adagrad, "adagrad")]
    # the fused kernels that SGD(fused=True), Adam(fused=True) and the others call: each does a
    # whole update in one call, reachable as torch._fused_sgd_ and as torch.ops.aten._fused_sgd_
    + matching(torch, ["_fused_"])
    + matching(torch.ops.aten, ["_fused_"],
               names=("_fused_sgd_", "_fused_adam_", "_fused_adamw_", "_fused_adagrad_"))
)


def _scheduler_classes(module):
    """Every learning-rate scheduler class that ``module`` defines (its base class included)."""
    return [cls for cls in vars(module).values() if inspect.isclass(cls)
            and issubclass(cls, (torch.optim.lr_scheduler.LRScheduler,
                                 nnbook.optim.lr_scheduler.LRScheduler))
            and cls.__module__ == module.__name__]


# the schedulers' names, and every method of every scheduler class: the methods are patched on
# the class itself, so a class imported earlier under another name refuses as well
FORBIDDEN_SCHEDULERS = (
    [(module, name) for module in (torch.optim.lr_scheduler, nnbook.optim.lr_scheduler)
     for name in ("MultiStepLR", "StepLR")]
    + [entry for module in (torch.optim.lr_scheduler, nnbook.optim.lr_scheduler)
       for cls in _scheduler_classes(module) for entry in methods_of(cls)]
)


# --------------------------------------------------------------------------- q1: sgd_step

def sgd_step_reference(param, grad, buf, lr, momentum, dampening=0.0, weight_decay=0.0,
                       nesterov=False):
    """(new param, new momentum buffer) after one torch.optim.SGD step; buffer None if mu = 0."""
    param = param.clone()
    buf = None if buf is None else buf.clone()
    buf = nnbook.optim.sgd.sgd(param, grad, buf, lr=lr, momentum=momentum, dampening=dampening,
                               weight_decay=weight_decay, nesterov=nesterov, maximize=False)
    return param, buf


def _sgd_case(name, seed, shape=(3, 4), *, first=False, public=False, dtype=torch.float32,
              hint="", **hyper):
    hyper = dict(dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False),
                 **hyper)

    def make_args(device):
        param = randn(seed, *shape, dtype=dtype, device=device)
        grad = randn(seed + 1, *shape, dtype=dtype, device=device)
        buf = None if first else randn(seed + 2, *shape, dtype=dtype, device=device)
        return (param, grad, buf, hyper["lr"], hyper["momentum"], hyper["dampening"],
                hyper["weight_decay"], hyper["nesterov"])
    return Case(name, make_args, public=public, hint=hint)


Q1 = Question(
    id="q1", answer="sgd_step",
    args=("param", "grad", "buf", "lr", "momentum", "dampening", "weight_decay", "nesterov"),
    returns=("param", "buf"), reference=sgd_step_reference, points=1,
    call=without(FORBIDDEN_OPTIMIZERS, sgd_step_reference),
    title="One step of SGD in PyTorch's form, with every option",
    hint="PyTorch's documentation of torch.optim.SGD lists the operations in order; check "
         "each special case (first step, momentum 0) against it",
    cases=(
        _sgd_case("first step (no buffer yet), momentum 0.9", 600, first=True, public=True),
        _sgd_case("a later step, momentum 0.9", 610, public=True),
        _sgd_case("a later step with dampening 0.5", 620, dampening=0.5,
                  hint="dampening scales the new gradient's share of the buffer"),
        _sgd_case("first step with dampening 0.5", 630, first=True, dampening=0.5,
                  hint="what does PyTorch put in the buffer on the very first step?"),
        _sgd_case("Nesterov, a later step", 640, nesterov=True),
        _sgd_case("Nesterov, first step", 650, first=True, nesterov=True),
        _sgd_case("weight decay 0.01 with momentum", 660, weight_decay=0.01,
                  hint="weight decay changes the gradient before anything else uses it"),
        _sgd_case("no momentum: no buffer", 670, first=True, momentum=0.0, weight_decay=0.1,
                  hint="with momentum 0, torch keeps no buffer at all"),
        _sgd_case("float64, a vector parameter", 680, shape=(7,), dtype=torch.float64,
                  nesterov=True, weight_decay=0.05),
    ),
)


# --------------------------------------------------------------------------- q2: adam_step

def adam_step_reference(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999),
                        eps=1e-8, weight_decay=0.0, decoupled=False):
    """(param, exp_avg, exp_avg_sq) after Adam's step number ``step + 1`` (AdamW if decoupled)."""
    param, exp_avg, exp_avg_sq = param.clone(), exp_avg.clone(), exp_avg_sq.clone()
    count = torch.tensor(float(step))
    nnbook.optim.adam.adam(param, grad, exp_avg, exp_avg_sq, None, count, lr=lr, beta1=betas[0],
                           beta2=betas[1], eps=eps, weight_decay=weight_decay, amsgrad=False,
                           maximize=False, decoupled_weight_decay=decoupled)
    return param, exp_avg, exp_avg_sq


def _adam_state(seed, shape, dtype, device, steps, betas):
    """Adam's state after ``steps`` steps with changing gradients (zeros for 0 steps)."""
    param = randn(seed, *shape, dtype=dtype)
    m, v = torch.zeros_like(param), torch.zeros_like(param)
    for k in range(steps):
        grad = randn(seed + 100 + k, *shape, dtype=dtype, scale=1.0 + k)
        param, m, v = adam_step_reference(param, grad, m, v, k, 1e-2, betas)
    return param.to(device), m.to(device), v.to(device)


def _adam_case(name, seed, *, steps=0, shape=(2, 5), public=False, dtype=torch.float32,
               grad_scale=1.0, hint="", lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
               decoupled=False):
    def make_args(device):
        param, m, v = _adam_state(seed, shape, dtype, device, steps, betas)
        grad = randn(seed + 1, *shape, dtype=dtype, device=device, scale=grad_scale)
        return param, grad, m, v, steps, lr, betas, eps, weight_decay, decoupled
    return Case(name, make_args, public=public, hint=hint)


Q2 = Question(
    id="q2", answer="adam_step",
    args=("param", "grad", "exp_avg", "exp_avg_sq", "step", "lr", "betas", "eps", "weight_decay",
          "decoupled"),
    returns=("param", "exp_avg", "exp_avg_sq"), reference=adam_step_reference, points=3,
    call=without(FORBIDDEN_OPTIMIZERS, adam_step_reference),
    title="One Adam step from its state, with bias correction and weight decay",
    hint="`step` counts the steps already taken: decide which power of each beta this step's "
         "correction uses",
    cases=(
        _adam_case("the first step (step = 0, zero state)", 700, public=True),
        _adam_case("the fourth step, after three with changing gradients", 710, steps=3,
                   public=True),
        _adam_case("first step, tiny gradients (1e-6): eps matters", 720, grad_scale=1e-6,
                   hint="compare the size of sqrt(v̂) with eps"),
        _adam_case("step 50, other betas (0.5, 0.9)", 730, steps=50, betas=(0.5, 0.9)),
        _adam_case("L2 weight decay 0.1 (Adam)", 740, steps=2, weight_decay=0.1,
                   hint="in Adam the decay term joins the gradient, and so the averages"),
        _adam_case("decoupled weight decay 0.1 (AdamW)", 750, steps=2, weight_decay=0.1,
                   decoupled=True, lr=0.01,
                   hint="in AdamW the decay touches the parameter only, before the Adam step"),
        _adam_case("a zero gradient at step 1", 760, grad_scale=0.0),
        _adam_case("L2 weight decay 0.5, step 20 (Adam)", 780, steps=20, weight_decay=0.5),
        _adam_case("decoupled weight decay 0.5, step 20 (AdamW)", 790, steps=20,
                   weight_decay=0.5, decoupled=True, lr=0.1),
        _adam_case("L2 weight decay on a tiny gradient (Adam)", 795, steps=1, weight_decay=0.1,
                   grad_scale=1e-4,
                   hint="with a tiny gradient, the decay term is most of what Adam divides"),
        _adam_case("float64, a 3-D parameter, step 10", 770, steps=10, shape=(2, 3, 2),
                   dtype=torch.float64),
    ),
)


# --------------------------------------------------------------------------- q3: adagrad_run

def adagrad_run_reference(param, grads, lr=1e-2, eps=1e-10):
    """(param, state_sum) after one torch.optim.Adagrad step per entry of ``grads``."""
    param = param.clone()
    state_sum = torch.zeros_like(param)
    step = torch.tensor(0.0)
    for grad in grads:
        nnbook.optim.adagrad.adagrad(param, grad, state_sum, step, lr=lr, lr_decay=0,
                                     weight_decay=0, eps=eps, maximize=False)
    return param, state_sum


def _adagrad_case(name, seed, steps, shape=(4,), *, public=False, dtype=torch.float32,
                  lr=0.1, eps=1e-10, make_grads=None, hint=""):
    def make_args(device):
        param = randn(seed, *shape, dtype=dtype, device=device)
        if make_grads is None:
            grads = randn(seed + 1, steps, *shape, dtype=dtype, device=device)
        else:
            grads = make_grads(dtype, device)
        return param, grads, lr, eps
    return Case(name, make_args, public=public, hint=hint)


Q3 = Question(
    id="q3", answer="adagrad_run", args=("param", "grads", "lr", "eps"),
    returns=("param", "state_sum"), reference=adagrad_run_reference, points=1,
    call=without(FORBIDDEN_OPTIMIZERS, adagrad_run_reference),
    title="AdaGrad over a sequence of gradients",
    hint="keep one accumulator per coordinate and update it before you use it",
    cases=(
        _adagrad_case("one step", 800, 1, public=True),
        _adagrad_case("five steps with changing gradients", 810, 5, public=True),
        _adagrad_case("no steps at all: grads of length 0", 820, 0,
                      hint="the parameter stays, the accumulator is all zeros"),
        _adagrad_case("a coordinate that never gets a gradient", 830, 4, shape=(3,),
                      make_grads=lambda dtype, device: tensor(
                          [[1.0, 0.0, -2.0], [0.5, 0.0, 3.0], [-1.0, 0.0, 0.1],
                           [2.0, 0.0, 0.0]], dtype=dtype, device=device),
                      hint="0 / (0 + eps) is 0, and the eps is there for exactly this"),
        _adagrad_case("a constant gradient for 100 steps", 840, 100, shape=(2,),
                      make_grads=lambda dtype, device: torch.full((100, 2), 3.0, dtype=dtype,
                                                                  device=device)),
        _adagrad_case("float64, a matrix parameter, 20 steps", 850, 20, shape=(3, 2),
                      dtype=torch.float64, lr=0.5, eps=1e-6),
    ),
)


# --------------------------------------------------------------------------- q4: multistep_lr

def multistep_lr_reference(base_lr, milestones, gamma, epoch):
    """The learning rate at ``epoch`` of MultiStepLR, found by stepping the scheduler."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = nnbook.optim.lr_scheduler.MultiStepLR(opt, list(milestones), gamma)
    for _ in range(epoch):
        opt.step()
        scheduler.step()
    return float(opt.param_groups[0]["lr"])


def _lr_case(name, base_lr, milestones, gamma, epoch, *, public=False, hint=""):
    return Case(name, lambda device: (base_lr, list(milestones), gamma, epoch), public=public,
                hint=hint, cuda=False)


Q4 = Question(
    id="q4", answer="multistep_lr", args=("base_lr", "milestones", "gamma", "epoch"),
    reference=multistep_lr_reference, points=1,
    call=without(FORBIDDEN_SCHEDULERS, multistep_lr_reference),
    title="Predict, in closed form: the rate of a multi-step schedule at any epoch",
    hint="count, do not simulate",
    cases=(
        _lr_case("between the two milestones", 0.1, [30, 60], 0.1, 45, public=True),
        _lr_case("after both milestones", 0.1, [30, 60], 0.1, 90, public=True),
        _lr_case("epoch 0", 0.5, [10], 0.5, 0),
        _lr_case("exactly at a milestone", 0.1, [30, 60], 0.1, 30,
                 hint="which rate does epoch 30 train with: before or after the decay?"),
        _lr_case("one epoch before a milestone", 0.1, [30, 60], 0.1, 29),
        _lr_case("a milestone listed twice", 1.0, [5, 5, 8], 0.5, 6,
                 hint="build a MultiStepLR with a repeated milestone in a cell of your own and "
                      "watch the rate"),
        _lr_case("no milestones", 0.01, [], 0.1, 1000),
        _lr_case("gamma above 1: a growing rate", 0.01, [2, 4, 6], 2.0, 5),
    ),
)


# --------------------------------------------------------------------------- q5: adagrad_steps_until

def adagrad_steps_until_reference(state_sum, grad, lr, eps, threshold):
    """Per coordinate, the fewest further AdaGrad steps n >= 0, each with gradient ``grad``,
    after which the effective rate lr / (sqrt(s) + eps) is at most ``threshold``; -1 if never.

    After n steps the accumulator is s0 + n g^2, and lr / (sqrt(s) + eps) <= threshold exactly
    when s >= (lr / threshold - eps)^2 (or always, when lr / threshold <= eps); so
    n = ceil(((lr / threshold - eps)^2 - s0) / g^2), at least 0. Computed in float64.
    """
    s0, g2 = state_sum.double(), grad.double() ** 2
    target = lr / threshold - eps
    need = max(target, 0.0) ** 2
    done = s0 >= need
    count = torch.ceil((need - s0) / torch.where(g2 > 0, g2, torch.ones_like(g2)))
    count = torch.where(done, torch.zeros_like(count), count)
    count = torch.where(~done & (g2 == 0), torch.full_like(count, -1.0), count)
    return count.to(torch.int64).to(state_sum.device)


def _until_case(name, seed, *, shape=(4,), public=False, dtype=torch.float32, lr=0.1, eps=1e-10,
                threshold=0.003, grown=0.0, grad_scale=1.0, zero=None, hint=""):
    def make_args(device):
        state_sum = randn(seed, *shape, dtype=dtype, device=device).abs() * grown
        grad = randn(seed + 1, *shape, dtype=dtype, device=device, scale=grad_scale)
        if zero is not None:
            grad = grad.flatten()
            grad[zero] = 0.0
            grad = grad.reshape(shape)
        return state_sum, grad, lr, eps, threshold
    return Case(name, make_args, public=public, hint=hint)


Q5 = Question(
    id="q5", answer="adagrad_steps_until",
    args=("state_sum", "grad", "lr", "eps", "threshold"),
    reference=adagrad_steps_until_reference, points=3,
    call=without(FORBIDDEN_OPTIMIZERS, adagrad_steps_until_reference),
    title="Predict when AdaGrad's rate has decayed below a threshold",
    hint="write the accumulator after n more steps as a function of n, then find the smallest n "
         "that satisfies the condition, with the chapter's epsilon where AdaGrad puts it",
    cases=(
        _until_case("a fresh accumulator", 900, public=True),
        _until_case("an accumulator that has already grown", 910, grown=200.0, public=True),
        _until_case("some coordinates already below the threshold", 920, shape=(6,),
                    grown=3000.0, hint="a coordinate already at or below it needs 0 more steps"),
        _until_case("a coordinate whose gradient is 0", 930, grown=100.0, zero=[1, 3],
                    hint="with no gradient the accumulator never grows"),
        _until_case("a large eps", 940, eps=5.0, lr=1.0, threshold=0.05,
                    hint="AdaGrad adds eps outside the square root"),
        _until_case("lr / threshold below eps: no step needed", 950, lr=0.1, eps=1e-3,
                    threshold=1000.0, zero=[0]),
        _until_case("float64, a matrix, tiny gradients: up to 4e14 steps", 960, shape=(3, 2),
                    dtype=torch.float64, lr=1.0, threshold=1e-4, grad_scale=1e-3,
                    hint="far too many steps to run one by one: count them in closed form"),
    ),
)


EXERCISE_SET = ExerciseSet(name="06-optimizers",
                           title="The optimizer family and learning-rate decay",
                           questions=(Q1, Q2, Q3, Q4, Q5))
