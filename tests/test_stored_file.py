"""tools/stored_file.py: the regenerate-or-check step of tools/make_optimizer_grid.py and
tools/make_regularization_grid.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from stored_file import write_or_check  # noqa: E402


def test_write_then_check_then_a_stale_file_fails_the_check(tmp_path, capsys):
    path = tmp_path / "grid.json"
    assert write_or_check(path, "[1, 2]\n", []) == 0 and path.read_text() == "[1, 2]\n"
    assert write_or_check(path, "[1, 2]\n", ["--check"]) == 0
    assert write_or_check(path, "[1, 3]\n", ["--check"]) == 1
    assert path.read_text() == "[1, 2]\n"                          # a check never writes
    assert write_or_check(tmp_path / "missing.json", "x", ["--check"]) == 1
    assert "differs from a fresh run" in capsys.readouterr().out
