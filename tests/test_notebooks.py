"""Properties every committed notebook must have (nbval itself re-runs their cells)."""

import json
import re
import subprocess
import sys
import types
from pathlib import Path
from unittest import mock

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_setup  # noqa: E402

EXECUTED = sorted((ROOT / "chapters").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
ALL = EXECUTED + sorted((ROOT / "exercises").glob("*.ipynb"))


def ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_is_at_least_one_chapter():
    assert list((ROOT / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_first_code_cell_is_the_colab_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert colab_setup.first_code_cell(nb).source == colab_setup.setup_source()


def test_colab_setup_check_passes_on_the_repository():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "colab_setup.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_setup_cell_installs_from_the_configured_repository_only_in_colab():
    source = colab_setup.setup_source()
    url = colab_setup.repository_url()
    assert url.startswith("https://github.com/") and f"git+{url}" in source
    with mock.patch("subprocess.run") as run:
        exec(compile(source, "<setup>", "exec"), {})  # not in Colab: nothing happens
        run.assert_not_called()
        with mock.patch.dict(sys.modules, {"google.colab": types.ModuleType("google.colab")}):
            exec(compile(source, "<setup>", "exec"), {})
        (args, kwargs), = run.call_args_list
        assert args[0][-1] == f"git+{url}" and kwargs == {"check": True}


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_committed_notebook_ran_top_to_bottom_in_one_fresh_kernel(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert counts == list(range(1, len(counts) + 1)), f"re-run with tools/execute_notebooks.py {path.name}"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert "widgets" not in nb.metadata, "widget state would make the site load a CDN widget manager"
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", EXECUTED, ids=ids(EXECUTED))
def test_stored_outputs_hold_no_volatile_text(path):
    text = json.dumps([c.get("outputs", []) for c in nbformat.read(path, as_version=4).cells])
    for volatile in (" at 0x", "/root/", "/work/", "/tmp/", "it/s]", "Kernel died"):
        assert volatile not in text, f"{path.name} stores volatile output containing {volatile!r}"


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_no_notebook_speaks_of_the_authors_source_notes(path):
    """The book was planned from private notes; a reader never saw them, so the text names what
    it means (the data, the mistake) instead of pointing at "the seed notes"."""
    cells = nbformat.read(path, as_version=4).cells
    text = " ".join(c.source for c in cells).lower()
    for phrase in ("seed note", "seed document", "source notes", "another seed"):
        assert phrase not in text, f"{path.name} mentions {phrase!r}: say what is meant instead"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")),
                         ids=ids(sorted((ROOT / "solutions").glob("*.ipynb"))))
def test_every_check_cell_of_a_solution_passes_in_its_stored_output(path):
    """A solution's check cells ran in a fresh kernel (the committed outputs): each must report all
    its public checks passed, or the answer (or the checking machinery) is wrong there."""
    outputs = "".join("".join(o.get("text", "")) for c in nbformat.read(path, as_version=4).cells
                      if c.cell_type == "code" for o in c.outputs)
    reports = re.findall(r"^q\d+ · .*public checks? passed.*$", outputs, re.M)
    assert reports, f"{path.name} shows no check-cell report"
    failing = [line for line in reports if ": all " not in line]
    assert not failing, f"{path.name}: {failing}"
