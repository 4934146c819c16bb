"""Collection rules for the whole repository (tests/conftest.py holds the fixtures).

The docstring examples of ``nnbook`` run as doctests (``--doctest-modules`` in pyproject.toml),
which imports every module of the package. ``nnbook/grading/__main__.py`` is the
``python -m nnbook.grading`` entry point: importing it would run the command line. pytest 7 and
later skip files named ``__main__.py`` when collecting doctests (pytest-dev/pytest#7124); naming
it here keeps it out whatever version or plugin collects the package.
"""

collect_ignore = ["nnbook/grading/__main__.py"]
