"""The base class of the hand-written optimizers: torch's bookkeeping, our update rules.

``torch.optim.Optimizer`` already does the dull, error-prone part well: parameter groups,
per-parameter ``state``, ``zero_grad``, ``state_dict``/``load_state_dict``, ``add_param_group``
and step hooks. We inherit all of that, so a state dict saved by ``torch.optim.Adam`` loads into
``nnbook.optim.Adam`` and the other way round. What we write ourselves is :meth:`Optimizer.step`:
a plain loop over parameters that calls one short, readable update function per optimizer.

What this version leaves out, and says so loudly instead of computing something else:

* ``foreach``, ``fused``, ``capturable`` and ``differentiable`` are torch's faster or
  graph-friendly variants of the *same* arithmetic. The keywords exist (so code written for
  ``torch.optim`` runs unchanged with their default values) but ``True`` raises ``ValueError``.
* complex parameters raise ``TypeError`` (torch treats them as pairs of real numbers);
* sparse gradients raise ``RuntimeError`` at ``step()``.
"""

import torch
from torch import Tensor

__all__ = ["Optimizer"]

_FAST_PATH_FLAGS = ("foreach", "fused", "capturable", "differentiable")


class Optimizer(torch.optim.Optimizer):
    r"""Base class: for every parameter :math:`\theta` with a gradient, apply the update rule.

    A subclass implements ``_update(param, group)``, which reads the hyperparameters of the
    parameter's group, fetches its state and calls the module-level update function, e.g.
    :func:`nnbook.optim.sgd.sgd`.
    """

    def add_param_group(self, param_group):
        """Add a group as ``torch.optim.Optimizer`` does, then refuse what we do not implement."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        _refuse_fast_paths(group, type(self).__name__)
        name = type(self).__name__
        for param in group["params"]:
            if param.is_complex():
                raise TypeError(f"nnbook.optim.{name} handles real parameters only, got a "
                                f"{param.dtype} tensor (torch.optim.{name} supports complex ones)")

    #: Group options that some torch releases do not write, with the value that means "absent"
    #: (what torch's own ``__setstate__`` fills in). A subclass lists the options it reads.
    _options_added_over_releases = {"maximize": False, "foreach": None, "differentiable": False}

    def __setstate__(self, state):
        # load_state_dict arrives here. Checkpoints written by older torch releases lack options
        # added since (Adam's decoupled_weight_decay, ...) and may hold a plain number as the step
        # count; fill in and convert as torch's own optimizers do. Keys written by newer releases
        # are kept as they are. A checkpoint must not switch on a path we lack.
        super().__setstate__(state)
        for group in self.param_groups:
            for option, absent in self._options_added_over_releases.items():
                group.setdefault(option, absent)
            _refuse_fast_paths(group, type(self).__name__)
            for param in group["params"]:
                param_state = self.state.get(param)
                if param_state and "step" in param_state and not torch.is_tensor(
                        param_state["step"]):
                    param_state["step"] = step_counter(float(param_state["step"]))

    @torch.no_grad()
    def step(self, closure=None):
        """One optimization step; the optional ``closure`` re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue  # parameters that took no part in the loss keep their state as is
                if param.grad.is_sparse:
                    raise RuntimeError(
                        f"nnbook.optim.{type(self).__name__} does not support sparse gradients"
                    )
                self._update(param, group)
        return loss

    def _update(self, param, group):
        raise NotImplementedError

    def _state(self, param, group):
        """The parameter's state, created on its first step (torch's lazy initialization)."""
        state = self.state[param]
        if not state:
            state.update(self._initial_state(param, group))
        return state

    def _initial_state(self, param, group):
        raise NotImplementedError


def _refuse_fast_paths(options, name):
    for flag in _FAST_PATH_FLAGS:
        if options.get(flag):
            raise ValueError(
                f"nnbook.optim.{name} is the readable single-tensor implementation: {flag}=True "
                f"is not supported (use torch.optim.{name} for it)"
            )


def check_lr(lr):
    """Refuse what torch refuses: a multi-element tensor learning rate or a negative one."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    check_non_negative(lr, "learning rate")


def check_non_negative(value, label):
    """``ValueError: Invalid <label>: <value>`` unless ``value >= 0``, worded as torch words it."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {label}: {value}")


def as_scalar(value):
    """A 1-element tensor hyperparameter as a 0-d tensor (ops accept those as numbers)."""
    if isinstance(value, Tensor) and value.dim() != 0:
        return value.squeeze()
    return value


def step_counter(value=0.0):
    """A step count (fresh: 0), kept as torch keeps it: a 0-d float tensor on the CPU.

    float32 unless float64 is the default dtype; on the CPU so reading it (``.item()``) never
    waits for a GPU.
    """
    dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    return torch.tensor(value, dtype=dtype)


def zeros_state(param):
    """A zero state tensor shaped, typed, placed and laid out like ``param``."""
    return torch.zeros_like(param, memory_format=torch.preserve_format)
