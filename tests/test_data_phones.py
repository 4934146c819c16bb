"""nnbook.data.phones: the synthetic phone table regenerates byte for byte, follows its stated
rules, and the loader reads it (or the real table's layout) and refuses bad files with a reason."""

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")   # a declared dependency; skipped only where it is absent

from nnbook.data import DatasetError  # noqa: E402
from nnbook.data.phones import (PHONE_COLUMNS, PHONE_FEATURES, PHONE_RANGES,  # noqa: E402
                                PHONE_WEIGHTS, PHONES_SHA256, load_phones, make_phones)

BUNDLED = Path(__file__).resolve().parents[1] / "nnbook" / "data" / "phones.csv"


def test_the_generator_remakes_the_shipped_file_byte_for_byte():
    data = make_phones()
    assert data == BUNDLED.read_bytes()
    assert hashlib.sha256(data).hexdigest() == PHONES_SHA256


def test_another_seed_gives_another_table_of_the_same_shape():
    other = make_phones(seed=7, per_class=25)
    assert other != make_phones(seed=8, per_class=25)
    assert other.decode().splitlines()[0] == ",".join(PHONE_COLUMNS)
    assert len(other.decode().splitlines()) == 1 + 100


def test_the_table_has_the_public_schema_balanced_classes_and_the_stated_ranges():
    table = load_phones()
    assert list(table.columns) == PHONE_COLUMNS and len(table) == 2000
    assert table.price_range.value_counts().sort_index().tolist() == [500, 500, 500, 500]
    for name, (low, high, step) in PHONE_RANGES.items():
        assert low <= table[name].min() and table[name].max() <= high, name
        if step == 1:
            assert table[name].dtype == np.int64, name
        else:                                           # clock_speed and m_dep: one decimal
            assert table[name].dtype == np.float64
            assert np.allclose(table[name] * 10, (table[name] * 10).round())
    assert (table.three_g >= table.four_g).all()         # every 4G phone has 3G
    assert (table.fc <= table.pc).all() and (table.sc_w < table.sc_h).all()
    assert (table.px_height <= table.px_width).all()


def test_ram_matters_most_then_battery_and_resolution_and_unused_columns_hardly_at_all():
    table = load_phones()
    table["px_area"] = table.px_height * table.px_width
    correlation = table.corr(method="spearman")["price_range"].abs()
    assert correlation["ram"] > 0.85
    assert 0.1 < correlation["battery_power"] < correlation["ram"]
    assert 0.1 < correlation["px_area"] < correlation["ram"]
    unused = [name for name in PHONE_FEATURES
              if name not in PHONE_WEIGHTS and name not in ("px_height", "px_width", "three_g")]
    assert len(unused) == 13 and correlation[unused].max() < 0.08
    assert max(PHONE_WEIGHTS, key=PHONE_WEIGHTS.get) == "ram"


def test_the_noise_free_rule_classifies_94_percent_so_no_model_is_perfect():
    from nnbook.data.phones import _score
    table = load_phones()
    score = _score({name: table[name].to_numpy() for name in PHONE_FEATURES}, 0.0)
    predicted = np.searchsorted(np.quantile(score, [0.25, 0.5, 0.75]), score)
    assert (predicted == table.price_range.to_numpy()).mean() == pytest.approx(0.94, abs=0.005)


def test_a_copy_elsewhere_loads_plain_or_compressed_with_its_columns_in_any_order(tmp_path):
    reference = load_phones()
    shuffled = tmp_path / "train.csv"                    # the real table's name, columns reordered
    reference[PHONE_COLUMNS[::-1]].to_csv(shuffled, index=False)
    pd.testing.assert_frame_equal(load_phones(shuffled), reference)
    packed = tmp_path / "phones.csv.gz"
    packed.write_bytes(gzip.compress(BUNDLED.read_bytes()))
    pd.testing.assert_frame_equal(load_phones(packed), reference)
    assert load_phones(BUNDLED, sha256=PHONES_SHA256).equals(reference)


def test_a_missing_file_or_a_folder_says_so(tmp_path):
    with pytest.raises(DatasetError, match="not found.*without a path"):
        load_phones(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="is a folder"):
        load_phones(tmp_path)


def test_a_wrong_checksum_is_refused(tmp_path):
    altered = tmp_path / "phones.csv"
    altered.write_bytes(BUNDLED.read_bytes().replace(b"\n1", b"\n2", 1))
    with pytest.raises(DatasetError, match="corrupt.*SHA-256"):
        load_phones(altered, sha256=PHONES_SHA256)
    truncated = tmp_path / "phones.csv.gz"
    truncated.write_bytes(gzip.compress(BUNDLED.read_bytes())[:5000])
    with pytest.raises(DatasetError, match="cannot be read"):
        load_phones(truncated)


def test_kaggle_s_unlabelled_test_file_is_refused_with_the_reason(tmp_path):
    test_csv = tmp_path / "test.csv"
    table = load_phones().drop(columns="price_range")
    table.insert(0, "id", range(1, len(table) + 1))
    table.to_csv(test_csv, index=False)
    with pytest.raises(DatasetError, match="no price_range column.*no labels"):
        load_phones(test_csv)


def _bad_file(tmp_path, change):
    table = load_phones().head(20).copy()
    table = change(table)
    path = tmp_path / "bad.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("change, message", [
    (lambda t: t.drop(columns="ram"), r"missing \['ram'\]"),
    (lambda t: t.assign(id=1), r"unexpected \['id'\]"),
    (lambda t: t.assign(ram=t.ram.astype(object).where(t.index != 3, "lots")), "text.*'ram'"),
    (lambda t: t.assign(ram=t.ram.where(t.index != 3)), r"missing values in \['ram'\]"),
    (lambda t: t.assign(wifi=2), r"0 and 1.*'wifi'"),
    (lambda t: t.assign(price_range=4), "outside the classes 0-3"),
    (lambda t: t.assign(n_cores=2.5), r"fractions.*'n_cores'"),
    (lambda t: t.assign(talk_time=-1), r"negative.*'talk_time'"),
    (lambda t: t.iloc[:0], "no rows"),
])
def test_a_table_with_wrong_columns_or_values_is_refused(tmp_path, change, message):
    with pytest.raises(DatasetError, match=message):
        load_phones(_bad_file(tmp_path, change))


def test_a_file_that_is_not_a_csv_is_refused(tmp_path):
    binary = tmp_path / "phones.csv"
    binary.write_bytes(b"\x1f\x8bnot gzip at all")
    with pytest.raises(DatasetError, match="cannot be read"):
        load_phones(binary)


def test_the_table_is_package_data_and_pandas_a_declared_dependency():
    """Colab installs nnbook from git, not editable: phones.csv must travel in the wheel (the
    wheel test in test_data.py builds one for the digits from the same package-data entry)."""
    import tomllib
    config = tomllib.loads((BUNDLED.parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "phones.csv" in config["tool"]["setuptools"]["package-data"]["nnbook.data"]
    assert any(dependency.startswith("pandas>=") for dependency in config["project"]["dependencies"])
