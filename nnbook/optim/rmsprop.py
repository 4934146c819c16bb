"""RMSProp: divide the gradient by a running root-mean-square of recent gradients."""

from nnbook.optim.optimizer import (Optimizer, as_scalar, check_lr, check_non_negative,
                                    step_counter, zeros_state)

__all__ = ["RMSprop", "rmsprop"]


def rmsprop(param, grad, square_avg, grad_avg, momentum_buffer, step, *, lr, alpha, eps,
            weight_decay, momentum, centered, maximize):
    r"""One RMSProp step on one parameter, in place (its state tensors too).

    .. math::
        g &\leftarrow \pm\nabla_\theta f + \lambda\theta \\
        v &\leftarrow \alpha v + (1 - \alpha)\, g \odot g \\
        \bar g &\leftarrow \alpha \bar g + (1 - \alpha)\, g
            \qquad \text{(centered only)} \\
        r &\leftarrow \sqrt{v - \bar g \odot \bar g} + \epsilon
            \quad \text{(centered) or} \quad \sqrt{v} + \epsilon \\
        b &\leftarrow \mu b + g / r, \quad \theta \leftarrow \theta - \eta\, b
            \qquad \text{(momentum } \mu > 0) \\
        \theta &\leftarrow \theta - \eta\, g / r \qquad \text{(no momentum)}

    Centering subtracts the squared mean, so :math:`r` estimates the gradient's standard
    deviation rather than its root mean square. ``grad_avg``/``momentum_buffer`` may be ``None``
    when ``centered``/``momentum`` are off. ``step`` is counted but not used by the rule.
    """
    step += 1
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    if centered:
        grad_avg.lerp_(grad, 1 - alpha)  # ḡ + (1-α)(g - ḡ) = αḡ + (1-α)g
        rms = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    else:
        rms = square_avg.sqrt()
    rms.add_(eps)  # rms is a fresh tensor, so adding in place touches no state
    if momentum > 0:
        momentum_buffer.mul_(momentum).addcdiv_(grad, rms)
        param.add_(momentum_buffer, alpha=-lr)
    else:
        param.addcdiv_(grad, rms, value=-lr)


class RMSprop(Optimizer):
    r"""RMSProp, a drop-in for :class:`torch.optim.RMSprop` (see :func:`rmsprop`).

    State per parameter: ``'step'``, ``'square_avg'``, plus ``'momentum_buffer'`` when
    ``momentum > 0`` and ``'grad_avg'`` when ``centered``. ``capturable``/``foreach``/
    ``differentiable`` accept only their defaults.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_lr(lr)
        check_non_negative(eps, "epsilon value")
        check_non_negative(momentum, "momentum value")
        check_non_negative(weight_decay, "weight_decay value")
        check_non_negative(alpha, "alpha value")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    _options_added_over_releases = {**Optimizer._options_added_over_releases, "momentum": 0,
                                    "centered": False, "capturable": False}

    def _initial_state(self, param, group):
        state = {"step": step_counter(), "square_avg": zeros_state(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_state(param)
        if group["centered"]:
            state["grad_avg"] = zeros_state(param)
        return state

    def _update(self, param, group):
        state = self._state(param, group)
        rmsprop(param, param.grad, state["square_avg"], state.get("grad_avg"),
                state.get("momentum_buffer"), state["step"], lr=as_scalar(group["lr"]),
                alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                momentum=group["momentum"], centered=group["centered"],
                maximize=group["maximize"])
