r"""Learning-rate schedules, drop-ins for ``torch.optim.lr_scheduler``.

A scheduler owns a counter, ``last_epoch`` (:math:`t`), and after each ``step()`` writes the
learning rate :math:`\eta_t` into every parameter group. Each class's docstring gives
:math:`\eta_t` in closed form from the group's starting rate :math:`\eta_0` (``base_lrs``).

The code, however, follows PyTorch's *chainable* form: it computes :math:`\eta_t` from the
group's *current* rate, :math:`\eta_t = \eta_{t-1}\,f(t)/f(t-1)`. Alone, a scheduler gives
the closed form (tests assert both). The chainable form also lets two schedulers share an
optimizer, e.g. a warm-up and a decay whose factors multiply, and respects a rate changed by
hand, exactly as in PyTorch; it also gives PyTorch's rounding, step for step.

They work with ``nnbook.optim`` and ``torch.optim`` optimizers alike, with float or 1-element
tensor learning rates. Unlike PyTorch they check their arguments (a zero ``step_size`` or
``T_max``, a ``gamma`` that is not positive, unsorted milestones raise ``ValueError``), and ``step()`` takes
no ``epoch`` (PyTorch deprecated it). Nor do they warn when ``step()`` comes before the
optimizer's: in a training loop call ``optimizer.step()`` first, then ``scheduler.step()``.
"""

import math
from collections import Counter

import torch
from torch import Tensor

from nnbook.optim.optimizer import as_scalar

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR"]


class LRScheduler:
    r"""Base class: ``step()`` advances :math:`t` and sets each group's ``lr`` to ``get_lr()``.

    ``last_epoch=-1`` starts a fresh schedule: each group's current ``lr`` is saved as
    ``initial_lr`` and becomes its ``base_lrs`` entry. A value ``k >= 0`` resumes one: the groups
    must already hold ``initial_lr`` (from a loaded optimizer state dict). Either way the
    constructor takes the first step, so afterwards ``last_epoch`` is ``last_epoch + 1``.
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an integer >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        for index, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", _copy(group["lr"]))
            elif "initial_lr" not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{index}] "
                               "when resuming scheduler with last_epoch >= 0")
        self.base_lrs = [_copy(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        # The first step only sets the starting rates; _is_initial tells get_lr not to decay.
        self._is_initial = True
        self.step()
        self._is_initial = False

    def step(self):
        """Advance the schedule by one (call it after ``optimizer.step()``)."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            if isinstance(group["lr"], Tensor):
                group["lr"].fill_(as_scalar(lr))  # keep the tensor the optimizer holds
            else:
                group["lr"] = lr
        self._last_lr = self._current_lrs()

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group (copies)."""
        return self._last_lr

    def get_lr(self):
        """The learning rates for ``last_epoch``, computed from the groups' current ones."""
        raise NotImplementedError

    def state_dict(self):
        """Everything but the optimizer: counters, base rates and the schedule's arguments."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned."""
        self.__dict__.update(state_dict)

    def _current_lrs(self):
        return [_copy(group["lr"]) for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    .. math:: \eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _check_positive_int(step_size, "step_size")
        _check_gamma(gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        r""":math:`\eta_t = \gamma\,\eta_{t-1}` when :math:`t` is a positive multiple of
        :math:`s`, else :math:`\eta_{t-1}`."""
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class MultiStepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` at each milestone.

    .. math:: \eta_t = \eta_0\, \gamma^{\#\{m \in \text{milestones} \,:\, m \le t\}}

    A milestone listed twice decays twice.
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        for milestone in milestones:
            if isinstance(milestone, bool) or not isinstance(milestone, int):
                raise TypeError(f"milestones must be integers, got {milestone!r}")
        if milestones != sorted(milestones):
            raise ValueError(f"milestones must be in increasing order, got {milestones}")
        _check_gamma(gamma)
        self.milestones = Counter(milestones)  # milestone -> how many times it is listed
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        r""":math:`\eta_t = \gamma^{k}\eta_{t-1}` when :math:`t` is listed :math:`k` times,
        else :math:`\eta_{t-1}`."""
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        decay = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * decay for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every step.

    .. math:: \eta_t = \eta_0\, \gamma^{t}
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        _check_gamma(gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        r""":math:`\eta_t = \gamma\,\eta_{t-1}`."""
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal from :math:`\eta_0` down to ``eta_min`` along half a cosine over ``T_max`` steps.

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})
              \left(1 + \cos\frac{\pi t}{T_{\max}}\right)

    Past :math:`T_{\max}` the formula keeps going, so the rate climbs back to :math:`\eta_0` at
    :math:`2T_{\max}` (a cosine of period :math:`2T_{\max}`, no warm restart).
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _check_positive_int(T_max, "T_max")
        if not 0.0 <= eta_min:
            raise ValueError(f"eta_min must be non-negative, got {eta_min}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        r""":math:`\eta_t = \eta_{\min} + (\eta_{t-1} - \eta_{\min})
        \frac{1 + \cos(\pi t / T_{\max})}{1 + \cos(\pi (t - 1) / T_{\max})}`,
        the ratio of consecutive closed-form values."""
        if self._is_initial:
            return self._current_lrs()
        t, period = self.last_epoch, self.T_max
        groups = self.optimizer.param_groups
        if (t - 1 - period) % (2 * period) == 0:
            # Leaving the trough: the ratio below would divide by 1 + cos(pi) = 0, so step up
            # by the closed form's difference instead.
            return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (group["lr"] - self.eta_min) + self.eta_min for group in groups]


class LinearLR(LRScheduler):
    r"""Scale the learning rate by a factor moving linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps, then hold it (a warm-up when start < end).

    .. math:: \eta_t = \eta_0 \left(s + (e - s)\,\frac{\min(t, T)}{T}\right)
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 "
                             "and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        _check_positive_int(total_iters, "total_iters")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        r""":math:`\eta_0 \leftarrow s\,\eta_0` at the start, then
        :math:`\eta_t = \eta_{t-1}\, f(t) / f(t-1)` up to :math:`T`, with
        :math:`f(t) = s + (e - s)\,t / T`."""
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # f(t)/f(t-1) with f(t) = s + (e - s) t / T, multiplied through by T.
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * change)
        return [group["lr"] * ratio for group in groups]


def _copy(lr):
    # A tensor rate is cloned so that nobody can change a group's rate through our lists.
    return lr.clone() if isinstance(lr, Tensor) else lr


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_gamma(gamma):
    if not 0.0 < gamma:
        raise ValueError(f"gamma must be positive, got {gamma}")
