"""Loaded by pytest for every test path, including ``pytest chapters/NN.ipynb`` alone
(tests/conftest.py holds the fixtures).

Notebooks re-executed by nbval must render every frame of their interactive figures, as
``tools/execute_notebooks.py`` did when it stored the outputs nbval compares them with (see the
docstring of ``nnbook.widgets``). Kernels inherit this process's environment.

The docstring examples of ``nnbook`` run as doctests (``--doctest-modules`` in pyproject.toml),
which imports every module of the package. ``nnbook/grading/__main__.py`` is the
``python -m nnbook.grading`` entry point: importing it would run the command line. pytest 7 and
later skip files named ``__main__.py`` when collecting doctests (pytest-dev/pytest#7124); naming
it here keeps it out whatever version or plugin collects the package.
"""

import os

from nnbook.widgets import STATIC_FRAMES_ENV

os.environ[STATIC_FRAMES_ENV] = "1"

collect_ignore = ["nnbook/grading/__main__.py"]
