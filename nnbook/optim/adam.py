"""Adam and AdamW: momentum plus RMSProp-style scaling, with bias correction."""

import torch
from torch import Tensor

from nnbook.optim.optimizer import (Optimizer, as_scalar, check_lr, check_non_negative,
                                    step_counter, zeros_state)

__all__ = ["Adam", "AdamW", "adam"]


def adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, *, lr, beta1, beta2, eps,
         weight_decay, amsgrad, maximize, decoupled_weight_decay):
    r"""One Adam (or AdamW) step on one parameter, in place (its state tensors too).

    .. math::
        t &\leftarrow t + 1, \qquad g \leftarrow \pm\nabla_\theta f \\
        g &\leftarrow g + \lambda\theta \quad \text{(Adam)} \qquad\text{or}\qquad
            \theta \leftarrow (1 - \eta\lambda)\,\theta \quad \text{(AdamW, decoupled)} \\
        m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2)\, g \odot g \\
        \hat v &\leftarrow \max(\hat v, v) \quad \text{(AMSGrad) or} \quad v \\
        \theta &\leftarrow \theta - \frac{\eta}{1 - \beta_1^t}\,
            \frac{m}{\sqrt{\hat v}\,/\sqrt{1 - \beta_2^t} + \epsilon}

    The two factors :math:`1 - \beta^t` undo the bias of averages that start at zero. They are
    folded into the step size and into :math:`\sqrt v`, so :math:`\hat m = m / (1 - \beta_1^t)`
    is never formed and the state keeps the raw averages, under torch's names.
    ``max_exp_avg_sq`` may be ``None`` when ``amsgrad`` is off.
    """
    step += 1
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)
    exp_avg.lerp_(grad, 1 - _like(beta1, param))  # m + (1-β₁)(g - m) = β₁m + (1-β₁)g
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

    t = step.item()  # the count lives on the CPU, so this never waits for a GPU
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    step_size = lr / bias_correction1
    if amsgrad:
        second_moment = torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    else:
        second_moment = exp_avg_sq
    denom = (second_moment.sqrt() / bias_correction2**0.5).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-step_size)


class Adam(Optimizer):
    r"""Adam, a drop-in for :class:`torch.optim.Adam` (see :func:`adam`).

    State per parameter: ``'step'`` (0-d tensor), ``'exp_avg'`` (:math:`m`), ``'exp_avg_sq'``
    (:math:`v`) and, with ``amsgrad``, ``'max_exp_avg_sq'``. ``lr`` and ``betas`` may be
    1-element tensors. ``decoupled_weight_decay=True`` makes it AdamW. ``foreach``/``fused``/
    ``capturable``/``differentiable`` accept only their defaults.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        check_lr(lr)
        check_non_negative(eps, "epsilon value")
        _check_betas(betas)
        check_non_negative(weight_decay, "weight_decay value")
        defaults = dict(lr=lr, betas=tuple(as_scalar(beta) for beta in betas), eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    _options_added_over_releases = {
        **Optimizer._options_added_over_releases, "amsgrad": False, "capturable": False,
        "fused": None, "decoupled_weight_decay": False}

    def _initial_state(self, param, group):
        state = {"step": step_counter(), "exp_avg": zeros_state(param),
                 "exp_avg_sq": zeros_state(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_state(param)
        return state

    def _update(self, param, group):
        state = self._state(param, group)
        beta1, beta2 = group["betas"]
        adam(param, param.grad, state["exp_avg"], state["exp_avg_sq"],
             state.get("max_exp_avg_sq"), state["step"], lr=as_scalar(group["lr"]),
             beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
             amsgrad=group["amsgrad"], maximize=group["maximize"],
             decoupled_weight_decay=group["decoupled_weight_decay"])


class AdamW(Adam):
    r"""AdamW, a drop-in for :class:`torch.optim.AdamW`: Adam with decoupled weight decay.

    Instead of adding :math:`\lambda\theta` to the gradient (where Adam's scaling would shrink it
    for coordinates with large gradients), every step first shrinks the weights,
    :math:`\theta \leftarrow (1 - \eta\lambda)\theta`, then takes the plain Adam step. Hence the
    nonzero default ``weight_decay=1e-2``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        # Whatever a checkpoint says, AdamW decouples its weight decay (torch does the same), so an
        # Adam checkpoint loads into AdamW and from then on decays the weights AdamW's way.
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


def _check_betas(betas):
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
    both_floats = all(isinstance(beta, float) for beta in betas)
    both_tensors = all(isinstance(beta, Tensor) for beta in betas)
    if not (both_floats or both_tensors):
        raise ValueError("betas must be either both floats or both Tensors")
    for index, beta in enumerate(betas):
        if isinstance(beta, Tensor) and beta.numel() != 1:
            raise ValueError(f"Tensor betas[{index}] must be 1-element")


def _like(value, tensor):
    """A tensor hyperparameter moved to ``tensor``'s device and dtype; a number passes through.

    ``lerp_`` wants its tensor weight beside its operands; torch converts ``beta1`` before
    computing ``1 - beta1``, and so do we, to get the same rounding.
    """
    return value.to(tensor) if isinstance(value, Tensor) else value
