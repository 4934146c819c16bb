"""A teacher's private tests for set 8, as `nnbook-grade --tests tests/grading_private` loads them.

This file replaces the course's set "08-phone-prices" by the same set with one secret case added
to q3 (the same name, so it wins over the built-in set).
"""

from nnbook.grading import Case
from nnbook.grading.sets.ex08_phone_prices import EXERCISE_SET as COURSE_SET
from nnbook.grading.sets.ex08_phone_prices import _evaluation_case

_SECRET = _evaluation_case("five batches of 1 to 5, dropout, training mode", (1, 2, 3, 4, 5), 1090,
                           dropout=0.4)

EXERCISE_SET = COURSE_SET.with_cases("q3", Case(_SECRET.name, _SECRET.make_args))
