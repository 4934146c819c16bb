"""A model summary: each layer's output shape and parameter count, and the totals.

Many tutorials print their network with ``torchsummary.summary(model, input_size=(20,))``; that
package has had no release since 2018. The maintained successor is ``torchinfo`` (its
``summary(model, input_size=(1, 20))`` prints a richer table), but the book needs only the three
columns, so ``nnbook`` has this short helper instead of a new dependency: it works wherever
``nnbook`` does (offline, in Colab, in the tests) and it is small enough to read. Readers who
want more (multiply-adds, memory, nested depth) can ``pip install torchinfo``;
``tests/test_summary.py`` checks that its totals agree with this helper's when it is installed.

How it works: a *forward hook* (``Module.register_forward_hook``) on every layer records the
shape of what the layer returns while one batch of zeros runs through the model. The batch runs
in eval mode and under ``torch.no_grad()``, so that batch normalization's running statistics and
the model's train/eval flags are as they were before, and a batch of one sample is allowed.

>>> import torch.nn as nn
>>> model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
>>> print(summary(model, (20,)))
Layer (type)            Output shape         Param #
====================================================
0 (Linear)              [1, 64]                1,344
1 (ReLU)                [1, 64]                    0
2 (Linear)              [1, 4]                   260
====================================================
Total params: 1,604
Trainable params: 1,604
Non-trainable params: 0
"""

from typing import NamedTuple

import torch

__all__ = ["Layer", "Summary", "summary"]


class Layer(NamedTuple):
    """One row of a summary: the layer's name and type, its output's shape, its parameters."""

    name: str
    kind: str
    output_shape: object   # a list of ints, a list of such lists (several outputs), or None
    params: int


class Summary(NamedTuple):
    """What :func:`summary` measured; ``str()`` (and the notebook's display) is the table."""

    layers: list
    total_params: int
    trainable_params: int

    def __str__(self):
        rows = [(f"{layer.name} ({layer.kind})" if layer.name else layer.kind,
                 "-" if layer.output_shape is None else str(layer.output_shape),
                 f"{layer.params:,}") for layer in self.layers]
        header = ("Layer (type)", "Output shape", "Param #")
        widths = [max(minimum, *(len(row[i]) + 2 for row in rows + [header]))
                  for i, minimum in enumerate((24, 18, 10))]
        line = "=" * sum(widths)

        def fmt(row):
            return row[0].ljust(widths[0]) + row[1].ljust(widths[1]) + row[2].rjust(widths[2])
        return "\n".join([fmt(header), line, *map(fmt, rows), line,
                          f"Total params: {self.total_params:,}",
                          f"Trainable params: {self.trainable_params:,}",
                          f"Non-trainable params: {self.total_params - self.trainable_params:,}"])

    __repr__ = __str__


def _shape(output):
    if isinstance(output, torch.Tensor):
        return list(output.shape)
    if isinstance(output, (tuple, list)) and output and all(isinstance(o, torch.Tensor)
                                                            for o in output):
        return [list(o.shape) for o in output]
    return None


def summary(model, input_size, *, batch_size=1, dtype=torch.float32, device=None):
    """Run one batch of zeros of shape ``(batch_size, *input_size)`` through ``model``; tabulate.

    Returns a :class:`Summary`: one :class:`Layer` per call of a layer (a module without
    submodules, or one with parameters of its own), in the order the forward pass calls them,
    with the layer's own parameter count (a layer called twice shows its parameters once), and
    the totals over ``model.parameters()`` (shared parameters counted once; buffers such as
    batch normalization's running statistics are not parameters and are not counted). The batch
    is made on ``device`` (by default the model's) with ``dtype``. The model is left exactly as it
    was: same parameters, buffers and train/eval flags.
    """
    if isinstance(input_size, int):
        input_size = (input_size,)
    if device is None:
        device = next(model.parameters(), torch.empty(0)).device
    layers, seen, hooks = [], set(), []

    def record(name):
        def hook(module, inputs, output):
            params = 0 if id(module) in seen else sum(
                p.numel() for p in module.parameters(recurse=False))
            seen.add(id(module))
            layers.append(Layer(name, type(module).__name__, _shape(output), params))
        return hook

    for name, module in model.named_modules():
        if not list(module.children()) or list(module.parameters(recurse=False)):
            hooks.append(module.register_forward_hook(record(name)))
    modes = {module: module.training for module in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((batch_size, *input_size), dtype=dtype, device=device))
    finally:
        for handle in hooks:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    unique = {id(p): p for p in model.parameters()}.values()
    return Summary(layers=layers, total_params=sum(p.numel() for p in unique),
                   trainable_params=sum(p.numel() for p in unique if p.requires_grad))
