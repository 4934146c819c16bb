"""Collection rules for the whole repository (tests/conftest.py holds the fixtures).

The docstring examples of ``nnbook`` run as doctests (``--doctest-modules`` in pyproject.toml).
``nnbook/grading/__main__.py`` is the ``python -m nnbook.grading`` entry point: importing it
would run the command line, so it is not collected.
"""

collect_ignore = ["nnbook/grading/__main__.py"]
