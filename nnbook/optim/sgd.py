"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""

from nnbook.optim.optimizer import Optimizer, as_scalar, check_lr, check_non_negative

__all__ = ["SGD", "sgd"]


def sgd(param, grad, momentum_buffer, *, lr, momentum, dampening, weight_decay, nesterov,
        maximize):
    r"""One SGD step on one parameter, in place; returns the momentum buffer (``None`` without).

    .. math::
        g &\leftarrow \pm\nabla_\theta f + \lambda\theta
            \qquad (- \text{ when maximizing}) \\
        b &\leftarrow \begin{cases} g & \text{first step} \\
                                    \mu b + (1 - \tau) g & \text{later steps} \end{cases} \\
        d &\leftarrow \begin{cases} g + \mu b & \text{Nesterov} \\ b & \text{otherwise}
            \end{cases} \quad (d = g \text{ when } \mu = 0) \\
        \theta &\leftarrow \theta - \eta\, d

    with learning rate :math:`\eta`, momentum :math:`\mu`, dampening :math:`\tau` and weight
    decay :math:`\lambda`. Like PyTorch (and unlike Sutskever et al.), the learning rate
    multiplies the buffer instead of being folded into it.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)  # a new tensor: p.grad itself stays untouched
    if momentum != 0:
        if momentum_buffer is None:
            # The buffer starts as the first gradient itself (no dampening on step 1).
            momentum_buffer = grad.clone()
        else:
            momentum_buffer.mul_(momentum).add_(grad, alpha=1 - dampening)
        grad = grad.add(momentum_buffer, alpha=momentum) if nesterov else momentum_buffer
    param.add_(grad, alpha=-lr)
    return momentum_buffer


class SGD(Optimizer):
    r"""Stochastic gradient descent, a drop-in for :class:`torch.optim.SGD` (see :func:`sgd`).

    State per parameter (only when ``momentum != 0``): ``'momentum_buffer'``.
    ``foreach``/``fused``/``differentiable`` exist for compatibility; only their defaults
    (``None``/``False``) are accepted.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        check_lr(lr)
        check_non_negative(momentum, "momentum value")
        check_non_negative(weight_decay, "weight_decay value")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    _options_added_over_releases = {**Optimizer._options_added_over_releases, "nesterov": False,
                                    "fused": False}

    def _update(self, param, group):
        # Without momentum SGD keeps no state at all, exactly as torch does.
        uses_buffer = group["momentum"] != 0
        state = self.state[param] if uses_buffer else {}
        buffer = sgd(param, param.grad, state.get("momentum_buffer"),
                     lr=as_scalar(group["lr"]), momentum=group["momentum"],
                     dampening=group["dampening"], weight_decay=group["weight_decay"],
                     nesterov=group["nesterov"], maximize=group["maximize"])
        if uses_buffer:
            state["momentum_buffer"] = buffer
