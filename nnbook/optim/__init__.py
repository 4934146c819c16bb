"""Hand-written optimizers and learning-rate schedulers, drop-ins for ``torch.optim``.

Each optimizer's update rule is one short function that states its equations, in a module named
as in torch: ``nnbook.optim.sgd.sgd``, ``adagrad.adagrad``, ``rmsprop.rmsprop``, ``adam.adam``
(Adam and AdamW). The classes wire those functions into ``torch.optim.Optimizer``'s bookkeeping
(see ``nnbook.optim.optimizer``). ``tests/test_optim.py`` proves that every hyperparameter
combination follows ``torch.optim``'s trajectory step for step.

>>> import torch, nnbook.optim
>>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
>>> opt = nnbook.optim.SGD([w], lr=0.1, momentum=0.9)
>>> (w**2).sum().backward(); opt.step()
>>> w.detach()
tensor([ 0.8000, -1.6000])
"""

from nnbook.optim import lr_scheduler
from nnbook.optim.adagrad import Adagrad
from nnbook.optim.adam import Adam, AdamW
from nnbook.optim.optimizer import Optimizer
from nnbook.optim.rmsprop import RMSprop
from nnbook.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler"]
