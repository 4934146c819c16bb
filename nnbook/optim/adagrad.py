"""AdaGrad: every coordinate gets its own step size, shrinking with its summed squared gradients."""

import torch

from nnbook.optim.optimizer import (Optimizer, as_scalar, check_lr, check_non_negative,
                                    step_counter)

__all__ = ["Adagrad", "adagrad"]


def adagrad(param, grad, state_sum, step, *, lr, lr_decay, weight_decay, eps, maximize):
    r"""One AdaGrad step on one parameter, in place (``state_sum`` and ``step`` too).

    .. math::
        t &\leftarrow t + 1 \\
        g &\leftarrow \pm\nabla_\theta f + \lambda\theta \\
        \tilde\eta &\leftarrow \frac{\eta}{1 + (t - 1)\,\delta} \\
        s &\leftarrow s + g \odot g \\
        \theta &\leftarrow \theta - \tilde\eta\, \frac{g}{\sqrt{s} + \epsilon}

    with learning rate :math:`\eta`, learning-rate decay :math:`\delta`, weight decay
    :math:`\lambda`; :math:`s` starts at ``initial_accumulator_value``.
    """
    step += 1
    t = step.item()  # the count lives on the CPU, so this never waits for a GPU
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    decayed_lr = lr / (1 + (t - 1) * lr_decay)
    state_sum.addcmul_(grad, grad, value=1)
    std = state_sum.sqrt().add_(eps)
    param.addcdiv_(grad, std, value=-decayed_lr)


class Adagrad(Optimizer):
    r"""AdaGrad, a drop-in for :class:`torch.optim.Adagrad` (see :func:`adagrad`).

    State per parameter: ``'step'`` (0-d tensor) and ``'sum'``. As in torch, the state of every
    parameter given to the constructor is created right away, and ``initial_accumulator_value``
    is the constructor's value for every group (a per-group value is stored but not used).
    ``foreach``/``fused``/``differentiable`` accept only their defaults.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr(lr)
        check_non_negative(lr_decay, "lr_decay value")
        check_non_negative(weight_decay, "weight_decay value")
        check_non_negative(initial_accumulator_value, "initial_accumulator_value value")
        check_non_negative(eps, "epsilon value")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self._state(param, group)

    _options_added_over_releases = {**Optimizer._options_added_over_releases, "fused": None}

    def _initial_state(self, param, group):
        initial_value = self.defaults["initial_accumulator_value"]
        return {"step": step_counter(),
                "sum": torch.full_like(param, initial_value, memory_format=torch.preserve_format)}

    def _update(self, param, group):
        state = self._state(param, group)
        adagrad(param, param.grad, state["sum"], state["step"], lr=as_scalar(group["lr"]),
                lr_decay=group["lr_decay"], weight_decay=group["weight_decay"],
                eps=group["eps"], maximize=group["maximize"])
