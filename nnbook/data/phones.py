"""Phone prices: a synthetic table with the columns of the public "mobile price classification".

A public Kaggle table (Abhishek Sharma, *Mobile Price Classification*, 2018), often used for a
first tabular classifier, holds 2,000 phones, 20 specifications each, and a price class
``price_range`` from 0 (cheapest) to 3, 500 phones per class. That table cannot be
downloaded on the machines that build this book, so the package ships a table with the same
columns, the same kinds of values and the same class balance, made by :func:`make_phones` from a
fixed seed. **It is synthetic**: its phones are drawn at random and their price classes follow the
rule below, which we chose to be plausible, not measured from any market.

How a phone is made (``rng`` is NumPy's legacy ``RandomState``, whose streams NumPy keeps frozen
across releases, NEP 19, so the file is the same byte for byte on every NumPy the book supports):

* every column is drawn uniformly from the integer (or one-decimal) range of :data:`PHONE_RANGES`,
  with four consistency rules: a phone with 4G also has 3G (``three_g = 1``), the front camera has
  at most the primary camera's megapixels (``fc <= pc``), the screen is narrower than it is tall
  (``sc_w < sc_h``) and the picture has at most as many rows as columns (``px_height <= px_width``;
  this copies the public table, where ``px_height`` is usually below ``px_width``, and is no law of
  screens). The four columns these rules constrain are therefore not uniform: ``fc``, ``sc_w`` and ``px_height``
  pile up below the midpoint of their range, and ``three_g`` is 1 for about three phones in four;
* a hidden *score* adds up the standardized features of :data:`PHONE_WEIGHTS`, each times its
  weight, plus a small noise (the sum of three uniform draws, centred and scaled to a standard
  deviation of 1, times ``PHONE_NOISE``);
  standardized means "minus the mean, divided by the standard deviation of the uniform range the
  feature is drawn from", so a weight is the score's change per standard deviation of the feature;
* the 500 phones with the lowest score get ``price_range`` 0, the next 500 get 1, and so on.

So RAM matters most, battery power and screen resolution (``px_height * px_width``, the number of
pixels) matter less, internal memory and 4G a little, and the other 14 columns not at all: a
chapter can compare a model's permutation importance with this truth. Two consequences worth
knowing: ``px_height`` and ``px_width`` matter only through their product, and ``three_g``
could correlate with the price only through 4G (every 4G phone has 3G). Because of the noise no
model can be perfect: the rule itself without the noise puts 94% of the phones in their class
(``tests/test_data_phones.py`` checks it), and in our trials a linear classifier on standardized
features reached about 91% on held-out phones.

>>> table = load_phones()
>>> table.shape, int(table.price_range.value_counts().min()), list(table.columns[-2:])
((2000, 21), 500, ['wifi', 'price_range'])
>>> table.groupby("price_range").ram.mean().round(-1).tolist()      # RAM rises with the price
[790.0, 1680.0, 2600.0, 3400.0]

:func:`load_phones` also reads the real Kaggle ``train.csv`` (same 21 columns) when given its path;
Kaggle's ``test.csv`` has no ``price_range`` (it holds no labels) and an ``id`` column instead, and
is refused with a message saying so. Run ``python -m nnbook.data.phones`` to regenerate the
shipped ``phones.csv`` (it must come out identical; ``tests/test_data_phones.py`` checks that).
"""

import hashlib
import io
import math
from importlib import resources
from pathlib import Path

import numpy as np

from nnbook.data import DatasetError
from nnbook.data._files import check_digest, read_bytes

__all__ = ["PHONE_COLUMNS", "PHONE_FEATURES", "PHONE_RANGES", "PHONE_WEIGHTS", "PHONE_NOISE",
           "PHONES_SEED", "PHONES_SHA256", "make_phones", "load_phones"]

PHONES_SEED = 2018
# SHA-256 of the shipped phones.csv, the output of make_phones() with the default arguments.
PHONES_SHA256 = "5241c153a50219e2b298fdeb903f5ed91de7c0d3bdb774ec05fb59f2fac5718c"

# (low, high, step) of each column, both ends included; step 0.1 columns are stored in tenths.
# The ranges are those of the public table's columns (units: mAh, GHz, megapixels, GB, cm, g,
# pixels, MB, cm, hours), except that the public table's px_height 0 and sc_w 0 (physically
# impossible, a known flaw of that table) are left out here.
PHONE_RANGES = {
    "battery_power": (501, 1998, 1),   # mAh
    "blue": (0, 1, 1),                 # Bluetooth
    "clock_speed": (0.5, 3.0, 0.1),    # GHz
    "dual_sim": (0, 1, 1),
    "fc": (0, 19, 1),                  # front camera, megapixels
    "four_g": (0, 1, 1),
    "int_memory": (2, 64, 1),          # GB
    "m_dep": (0.1, 1.0, 0.1),          # depth, cm
    "mobile_wt": (80, 200, 1),         # g
    "n_cores": (1, 8, 1),
    "pc": (0, 20, 1),                  # primary camera, megapixels
    "px_height": (1, 1960, 1),         # pixel rows
    "px_width": (500, 1998, 1),        # pixel columns
    "ram": (256, 3998, 1),             # MB
    "sc_h": (5, 19, 1),                # screen height, cm
    "sc_w": (1, 18, 1),                # screen width, cm
    "talk_time": (2, 20, 1),           # hours
    "three_g": (0, 1, 1),
    "touch_screen": (0, 1, 1),
    "wifi": (0, 1, 1),
}
PHONE_FEATURES = list(PHONE_RANGES)                       # the 20 inputs, in the public order
PHONE_COLUMNS = PHONE_FEATURES + ["price_range"]          # the target is the last column
_TENTHS = {"clock_speed", "m_dep"}
_BINARY = [name for name, (low, high, _) in PHONE_RANGES.items() if (low, high) == (0, 1)]

# The score's weight per standard deviation of each feature; every other feature has weight 0.
# "px_area" is px_height * px_width (standardized with its own mean and standard deviation).
PHONE_WEIGHTS = {"ram": 1.0, "battery_power": 0.3, "px_area": 0.25, "int_memory": 0.05,
                 "four_g": 0.05}
PHONE_NOISE = 0.1   # standard deviation of the score's noise (the same units as the weights)


def _uniform_moments(low, high):
    """Mean and standard deviation of a uniform integer on low..high (variance (n² - 1)/12, n values)."""
    return (low + high) / 2, math.sqrt(((high - low + 1) ** 2 - 1) / 12)


def _area_moments():
    """Mean and standard deviation of px_height * px_width as :func:`_draw` makes them.

    For each px_width w (uniform on 500..1998), px_height h is uniform on 1..m, m = min(1960, w),
    so E[h] = (m + 1)/2 and E[h²] = (m + 1)(2m + 1)/6; averaging w·E[h] and w²·E[h²] over w gives
    the exact moments (sums in integers, so the result is the same on every machine).
    """
    widths = range(500, 1999)
    first = sum(w * (min(1960, w) + 1) * 3 for w in widths)                  # 6·Σ w·E[h]
    second = sum(w * w * (min(1960, w) + 1) * (2 * min(1960, w) + 1) for w in widths)  # 6·Σ w²E[h²]
    mean = first / (6 * len(widths))
    return mean, math.sqrt(second / (6 * len(widths)) - mean**2)


def _draw(rng, n):
    """The 20 columns of n phones as integers (tenths for clock_speed and m_dep)."""
    def integers(name, low=None, high=None):
        lo, hi, step = PHONE_RANGES[name]
        if name in _TENTHS:
            lo, hi = round(lo * 10), round(hi * 10)
        low = lo if low is None else low
        high = hi if high is None else high
        # low + floor(u * (high - low + 1)) with u from randint: elementwise, so it also works
        # when high varies per phone (fc <= pc, sc_w < sc_h, px_height <= px_width).
        u = rng.randint(0, 2**30, size=n, dtype=np.int64)
        return low + (u * (np.asarray(high) - low + 1)) // 2**30
    dependent = {"fc", "sc_w", "px_height", "three_g"}     # drawn after the columns they depend on
    columns = {name: integers(name) for name in PHONE_FEATURES if name not in dependent}
    columns["fc"] = integers("fc", high=np.minimum(columns["pc"], PHONE_RANGES["fc"][1]))
    columns["sc_w"] = integers("sc_w", high=columns["sc_h"] - 1)
    columns["px_height"] = integers("px_height", high=np.minimum(columns["px_width"],
                                                                 PHONE_RANGES["px_height"][1]))
    columns["three_g"] = np.maximum(columns["four_g"], integers("three_g"))
    return {name: columns[name].astype(np.int64) for name in PHONE_FEATURES}


def _score(columns, noise):
    """The hidden score of the module docstring, with fixed (not sample) means and deviations."""
    standardized = {}
    for name in ("ram", "battery_power", "int_memory", "four_g"):
        low, high, _ = PHONE_RANGES[name]
        mean, std = _uniform_moments(low, high)
        standardized[name] = (columns[name] - mean) / std
    area_mean, area_std = _area_moments()
    standardized["px_area"] = (columns["px_height"] * columns["px_width"] - area_mean) / area_std
    score = noise * PHONE_NOISE
    for name, weight in PHONE_WEIGHTS.items():
        score = score + weight * standardized[name]
    return score


def make_phones(seed=PHONES_SEED, per_class=500):
    """The synthetic phone table as CSV bytes (a header, then one phone per line).

    ``per_class`` phones fall in each of the four price classes. The default arguments give the
    shipped ``phones.csv`` byte for byte.

    >>> text = make_phones(seed=1, per_class=2).decode()
    >>> text.splitlines()[0].split(",")[-3:], len(text.splitlines())
    (['touch_screen', 'wifi', 'price_range'], 9)
    """
    n = 4 * per_class
    rng = np.random.RandomState(seed)
    columns = _draw(rng, n)
    # Irwin-Hall: the sum of three uniforms on [0, 1) has mean 1.5 and variance 3/12 = 1/4.
    noise = (rng.randint(0, 2**30, size=(3, n), dtype=np.int64).sum(axis=0) / 2**30 - 1.5) * 2
    order = np.argsort(_score(columns, noise), kind="stable")
    price = np.empty(n, dtype=np.int64)
    price[order] = np.arange(n) // per_class
    lines = [",".join(PHONE_COLUMNS)]
    for i in range(n):
        fields = [f"{columns[name][i] // 10}.{columns[name][i] % 10}" if name in _TENTHS
                  else str(columns[name][i]) for name in PHONE_FEATURES]
        lines.append(",".join(fields + [str(price[i])]))
    return ("\n".join(lines) + "\n").encode("ascii")


def load_phones(path=None, *, sha256=None):
    """Load the phone table as a pandas ``DataFrame``: the 21 columns of :data:`PHONE_COLUMNS`.

    ``path=None`` reads the synthetic table inside the package and checks its SHA-256. A ``path``
    reads another CSV with the same columns in any order (the real Kaggle ``train.csv`` among
    them); its checksum is checked only when ``sha256`` is given. The columns come back in the
    order of :data:`PHONE_COLUMNS`, ``price_range`` last, integers as ``int64`` and
    ``clock_speed`` and ``m_dep`` as ``float64``. A file without ``price_range`` (Kaggle's
    ``test.csv``), with missing values, other columns, text in a number column, binary columns
    other than 0/1 or prices outside 0–3 raises :class:`~nnbook.data.DatasetError`.
    """
    import pandas as pd   # imported here so that ``import nnbook.data`` does not need pandas

    if path is None:
        source = resources.files("nnbook.data") / "phones.csv"
        name, sha256 = "the package's phones.csv", PHONES_SHA256
    else:
        source = Path(path)
        name = str(source)
    hint = (" (the installed nnbook is incomplete: reinstall it)" if path is None
            else "; call load_phones() without a path for the synthetic table inside nnbook")
    raw = read_bytes(source, name, "a phone table", hint)
    check_digest(raw, name, sha256, "sha256", "the expected phone table")
    try:
        table = pd.read_csv(io.BytesIO(raw), compression="gzip" if raw[:2] == b"\x1f\x8b" else None)
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as error:
        raise DatasetError(f"{name} cannot be read as a CSV file: {error}") from None
    return _checked(table, name)


def _checked(table, name):
    """The table in the canonical column order and types, or a DatasetError saying what is wrong."""
    import pandas as pd

    columns = [str(column).strip() for column in table.columns]
    table.columns = columns
    if "price_range" not in columns and set(PHONE_FEATURES) <= set(columns):
        raise DatasetError(f"{name} has the 20 phone features but no price_range column: it holds "
                           "no labels (Kaggle's test.csv is such a file); load a labelled table "
                           "such as Kaggle's train.csv")
    missing = [column for column in PHONE_COLUMNS if column not in columns]
    extra = [column for column in columns if column not in PHONE_COLUMNS]
    if missing or extra:
        raise DatasetError(f"{name} does not have the phone table's columns: missing {missing}, "
                           f"unexpected {extra}")
    if len(set(columns)) != len(columns):
        raise DatasetError(f"{name} names a column twice")
    if len(table) == 0:
        raise DatasetError(f"{name} has no rows")
    table = table[PHONE_COLUMNS]
    bad = [column for column in PHONE_COLUMNS
           if not pd.api.types.is_numeric_dtype(table[column]) or table[column].dtype == bool]
    if bad:
        raise DatasetError(f"{name} has text or empty cells in number columns: {bad}")
    if table.isna().any().any():
        holes = [column for column in PHONE_COLUMNS if table[column].isna().any()]
        raise DatasetError(f"{name} has missing values in {holes}")
    whole = [column for column in PHONE_COLUMNS if column not in _TENTHS]
    fractional = [column for column in whole if (table[column] != table[column].round()).any()]
    if fractional:
        raise DatasetError(f"{name} has fractions in integer columns: {fractional}")
    if (table < 0).any().any():
        raise DatasetError(f"{name} has negative values in "
                           f"{[column for column in PHONE_COLUMNS if (table[column] < 0).any()]}")
    not_binary = [column for column in _BINARY if not table[column].isin([0, 1]).all()]
    if not_binary:
        raise DatasetError(f"{name} has values other than 0 and 1 in binary columns: {not_binary}")
    if not table["price_range"].isin([0, 1, 2, 3]).all():
        raise DatasetError(f"{name} has price_range values outside the classes 0-3")
    return table.astype({column: ("float64" if column in _TENTHS else "int64")
                         for column in PHONE_COLUMNS}).reset_index(drop=True)


def _main():
    """Write phones.csv next to this file (``python -m nnbook.data.phones``); print its SHA-256."""
    target = Path(__file__).with_name("phones.csv")
    data = make_phones()
    target.write_bytes(data)
    print(f"wrote {target} ({len(data):,} bytes), SHA-256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    _main()
