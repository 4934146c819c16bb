"""nnbook: the course package of *Neural Network Foundations in PyTorch*.

Every piece of code the book uses twice, or that a test must check, lives here. The layout
mirrors PyTorch so that a reader can swap ``nnbook.X`` for ``torch.X`` and see the same numbers:

==========================  =====================================================
``nnbook.functional``       activations with hand-derived gradients, softmax, losses
``nnbook.init``             initializers and fan computation
``nnbook.nn``               hand-written layers
``nnbook.optim``            hand-written optimizers and learning-rate schedulers
``nnbook.backprop``         backpropagation by hand, finite-difference gradient checks
``nnbook.autograd``         a small reverse-mode automatic differentiation engine
``nnbook.probes``           measurements inside a network: gradient norms per layer, dead units
``nnbook.depth``            per-layer statistics of deep stacks under each initializer
``nnbook.data``             datasets that load offline: digits, a phone-price table, MNIST
``nnbook.summary``          a model summary: layers, output shapes, parameter counts
``nnbook.train``            one training loop: history, early stopping, schedulers, live curves
``nnbook.regularization``   the stored regularization grid: training runs, loading, checks
``nnbook.tabular``          Chapter 8's pipeline: split, standardization, network, recipe
``nnbook.digits``           Chapter 9's digits recipe: split, model, training, MNIST, TensorBoard
``nnbook.plots``            pure plotting functions (parameters in, Figure out)
``nnbook.widgets``          ipywidgets wiring of the plotting functions
``nnbook.grading``          public checks for students, the grader for instructors
==========================  =====================================================

Submodules are imported on first use, so ``import nnbook`` stays cheap.
"""

from importlib import import_module

from nnbook.utils import get_device, seed_everything

__version__ = "0.1.0"
__all__ = ["get_device", "seed_everything", "__version__"]

_SUBMODULES = {
    "functional", "init", "nn", "optim", "plots", "widgets", "grading", "backprop", "utils",
    "probes", "depth", "data", "summary", "autograd", "train", "regularization", "tabular", "digits",
}


def __getattr__(name):
    # PEP 562: ``nnbook.plots`` works after a bare ``import nnbook``.
    if name in _SUBMODULES:
        module = import_module(f"nnbook.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'nnbook' has no attribute {name!r}")
