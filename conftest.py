"""Loaded by pytest for every test path, including ``pytest chapters/NN.ipynb`` alone.

Notebooks re-executed by nbval must render every frame of their interactive figures, as
``tools/execute_notebooks.py`` did when it stored the outputs nbval compares them with (see the
docstring of ``nnbook.widgets``). Kernels inherit this process's environment.
"""

import os

from nnbook.widgets import STATIC_FRAMES_ENV

os.environ[STATIC_FRAMES_ENV] = "1"
