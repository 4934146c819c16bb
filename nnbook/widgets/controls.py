"""The controls of an interactive figure: a :class:`Slider` over a grid of numbers and a
:class:`Dropdown` over a list of options.

A control is only a description (values, default, label). ``nnbook.widgets.live`` turns it into
an ipywidget and ``nnbook.widgets.static`` into an HTML form element, from the same fields, so
the two versions cannot drift apart.
"""

import math
from numbers import Real

__all__ = ["Slider", "Dropdown"]


class _Control:
    """Shared checks and fields: ``values`` (tuple), ``default``, ``label`` and ``labels``."""

    kind = "control"

    def __init__(self, values, default, label, fallback_index):
        values = tuple(values)
        if len(values) < 2:
            raise ValueError(f"a {self.kind} needs at least 2 values, got {list(values)}; "
                             "pass a constant through fixed={...} instead")
        if label is not None and not (isinstance(label, str) and label.strip()):
            raise ValueError(f"label must be a non-empty string, got {label!r}")
        labels = tuple(self.format(value) for value in values)
        if len(set(labels)) != len(labels):
            raise ValueError(f"the {self.kind}'s values must be distinct, got {labels}")
        if default is None:
            default = values[fallback_index]
        if default not in values:
            raise ValueError(f"default {default!r} is not one of the {self.kind}'s values {list(values)}")
        default = values[values.index(default)]  # 1 -> 1.0 when the grid holds floats
        self.values, self.default, self.label, self.labels = values, default, label, labels

    @property
    def default_index(self) -> int:
        return self.values.index(self.default)

    @staticmethod
    def format(value) -> str:
        """The text a reader sees for ``value`` (readout, option text)."""
        return str(value)

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"{type(self).__name__}({list(self.values)}, default={self.default!r}{label})"

    def __eq__(self, other):
        return type(self) is type(other) and (self.values, self.default, self.label) == (
            other.values, other.default, other.label)

    def __hash__(self):
        return hash((type(self), self.values, self.default, self.label))


class Slider(_Control):
    """A slider that steps through an explicit, increasing list of numbers.

    Every value is a frame of the static figure, so the list *is* the grid: keep it short
    (3 to 7 values). ``default`` must be one of ``values``; without it the middle value is used.

    >>> Slider([-3, -1.5, 0, 1.5, 3], default=1.5, label="weight w₁").labels
    ('−3', '−1.5', '0', '1.5', '3')
    """

    kind = "slider"

    def __init__(self, values, default=None, label=None):
        values = tuple(values)
        for value in values:
            if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
                raise ValueError(f"slider values must be finite numbers, got {value!r}")
        if any(b <= a for a, b in zip(values, values[1:])):
            raise ValueError(f"slider values must be strictly increasing, got {list(values)}")
        super().__init__(values, default, label, fallback_index=len(values) // 2)

    @staticmethod
    def format(value) -> str:
        # A true minus sign (U+2212), as in the figures' titles; screen readers say "minus".
        return f"{value:g}".replace("-", "\N{MINUS SIGN}")

    @classmethod
    def range(cls, start, stop, step, default=None, label=None):
        """``start, start + step, ...`` up to and including ``stop`` when it lies on the grid.

        Values are rounded to 10 decimals so that ``Slider.range(0, 1, 0.1)`` ends at 1, not at
        0.9999999999999999.

        >>> Slider.range(-3, 3, 1.5).values
        (-3.0, -1.5, 0.0, 1.5, 3.0)
        """
        if not step > 0:
            raise ValueError(f"step must be positive, got {step}")
        if not stop > start:
            raise ValueError(f"stop must be larger than start, got start={start}, stop={stop}")
        count = math.floor((stop - start) / step + 1e-9) + 1
        values = [round(start + i * step, 10) for i in range(count)]
        return cls(values, default=default, label=label)


class Dropdown(_Control):
    """A drop-down list of options (strings, usually), shown by their ``str``.

    Without ``default`` the first option is selected.

    >>> Dropdown(["sigmoid", "tanh"], label="activation").default
    'sigmoid'
    """

    kind = "dropdown"

    def __init__(self, options, default=None, label=None):
        super().__init__(options, default, label, fallback_index=0)
