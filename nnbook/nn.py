r"""Hand-written layers: ``Linear``, ``Dropout`` and ``BatchNorm1d``.

Each is a ``torch.nn.Module`` with the constructor, parameter and buffer names, defaults and
behaviour of its ``torch.nn`` twin, so the two are interchangeable, ``load_state_dict`` included.
Only the forward pass is written here; autograd differentiates it. ``tests/test_nn.py`` asserts
that outputs, gradients and running statistics equal PyTorch's in training and in eval mode.
"""

import math

import torch

from nnbook import init

__all__ = ["Linear", "Dropout", "BatchNorm1d"]


class Linear(torch.nn.Module):
    r"""Affine map :math:`y = x W^\top + b`, with :math:`W` of shape (out_features, in_features).

    Initialised as ``torch.nn.Linear``: ``kaiming_uniform_(W, a=sqrt(5))``, which works out to
    :math:`W_{ij} \sim \mathcal{U}(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})`, and
    :math:`b_i \sim \mathcal{U}(-1/\sqrt{\text{in}}, 1/\sqrt{\text{in}})`. The draws happen in the
    same order, so after the same ``torch.manual_seed`` both layers hold the same numbers.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        factory = {"device": device, "dtype": dtype}
        self.weight = torch.nn.Parameter(torch.empty((out_features, in_features), **factory))
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(out_features, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw fresh weights and bias, exactly as ``torch.nn.Linear`` does."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        # input has shape (..., in_features); matmul applies W to every leading index at once.
        output = input @ self.weight.T
        return output if self.bias is None else output + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Dropout(torch.nn.Module):
    r"""Inverted dropout. In training mode, with a fresh random mask each call,

    .. math:: y = x \odot m / (1 - p), \qquad m_i \sim \mathrm{Bernoulli}(1 - p)

    Dividing by the keep probability :math:`1 - p` keeps :math:`\mathbb{E}[y] = x`, so eval mode
    can return the input unchanged. ``p = 1`` drops everything (output and gradient are zero).
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        if not self.training or self.p == 0:
            return input
        if self.p == 1:  # the scale 1 / (1 - p) would be inf, and 0 * inf = nan
            return input.mul_(0) if self.inplace else input * 0
        keep = 1 - self.p
        # The coin flips PyTorch's CPU kernel makes, so on the CPU equal seeds give equal masks.
        scaled_mask = torch.empty_like(input).bernoulli_(keep).div_(keep)
        return input.mul_(scaled_mask) if self.inplace else input * scaled_mask

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class BatchNorm1d(torch.nn.Module):
    r"""Batch normalization over (N, C) or (N, C, L) inputs, per channel :math:`c`:

    .. math::
        y = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}\, \gamma_c + \beta_c

    In training, :math:`\mu_c, \sigma_c^2` are the batch's mean and biased variance over N (and
    L), and the running estimates move towards them:
    :math:`\hat\mu \leftarrow (1 - m)\hat\mu + m \mu`,
    :math:`\hat\sigma^2 \leftarrow (1 - m)\hat\sigma^2 + m \frac{n}{n-1}\sigma^2` (the unbiased
    variance, n values per channel). ``momentum=None`` uses :math:`m = 1/t` at the t-th batch, a
    plain cumulative average. In eval mode the running estimates replace the batch's (unless
    ``track_running_stats=False``, which always uses the batch).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        factory = {"device": device, "dtype": dtype}
        # Absent parameters are registered as None, as in PyTorch, so the names always exist.
        self.register_parameter(
            "weight", torch.nn.Parameter(torch.empty(num_features, **factory)) if affine else None)
        self.register_parameter(
            "bias", torch.nn.Parameter(torch.empty(num_features, **factory))
            if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
            self.register_buffer("num_batches_tracked",
                                 torch.tensor(0, dtype=torch.long, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    # Version 2 of torch's BatchNorm state dict added num_batches_tracked; we write the same.
    _version = 2

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args, **kwargs):
        # A checkpoint written before version 2 lacks the batch count: keep ours, as torch does.
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args, **kwargs)

    def reset_running_stats(self):
        """Forget the running estimates: mean 0, variance 1, no batches seen."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        """Reset the running estimates and the affine map to the identity (gamma 1, beta 0)."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        self._check_input(input)
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats:
            mean, var = self._batch_mean_and_var(input)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, count=input.numel() // input.shape[1])
        else:
            mean, var = self.running_mean, self.running_var
        output = (input - self._per_channel(mean, input)) / torch.sqrt(
            self._per_channel(var, input) + self.eps)
        if self.weight is not None:
            output = output * self._per_channel(self.weight, input)
        if self.bias is not None:
            output = output + self._per_channel(self.bias, input)
        return output

    def _check_input(self, input):
        if input.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")
        if input.shape[1] != self.num_features:
            raise RuntimeError(f"expected {self.num_features} channels in dim 1 of the input "
                               f"(num_features), got input of size {list(input.shape)}")
        # A single value per channel has no spread to normalise by (its variance is 0).
        if (self.training or not self.track_running_stats) and input.numel() // input.shape[1] == 1:
            raise ValueError("Expected more than 1 value per channel when training, "
                             f"got input size {input.size()}")

    @staticmethod
    def _per_channel(values, input):
        # Shape (C,) -> (1, C) or (1, C, 1) so that it broadcasts over N (and L).
        return values.view(1, -1) if input.dim() == 2 else values.view(1, -1, 1)

    @staticmethod
    def _batch_mean_and_var(input):
        dims = (0,) if input.dim() == 2 else (0, 2)
        mean = input.mean(dim=dims)
        var = ((input - BatchNorm1d._per_channel(mean, input)) ** 2).mean(dim=dims)
        return mean, var  # biased variance: the one used to normalise

    @torch.no_grad()
    def _update_running_stats(self, mean, var, count):
        self.num_batches_tracked.add_(1)
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - m).add_(mean, alpha=m)
        self.running_var.mul_(1 - m).add_(var * count / (count - 1), alpha=m)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")
