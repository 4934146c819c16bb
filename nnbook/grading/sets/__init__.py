"""The course's exercise sets, one module per exercise notebook.

Each module here (``exNN_topic.py``) defines ``EXERCISE_SET``, an
:class:`nnbook.grading.ExerciseSet` whose ``name`` matches ``metadata.nnbook.exercise_set`` of
``solutions/NN-topic.ipynb``. A new chapter adds its module and its notebook; nothing else changes:
:func:`nnbook.grading.registry.builtin_sets` finds every module in this package.
"""
