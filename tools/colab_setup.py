"""The Colab set-up cell that opens every notebook, derived from the repository URL in _config.yml.

    python tools/colab_setup.py --check     # exit 1 if any notebook's first code cell differs
    python tools/colab_setup.py --fix       # write the cell into every notebook that lacks it

Inside Google Colab the cell pip-installs ``nnbook`` from the repository; anywhere else
(``"google.colab"`` is not imported) it does nothing and prints nothing.
"""

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("chapters", "solutions", "exercises")


def repository_url() -> str:
    """``repository.url`` from _config.yml, without a trailing slash or ``.git``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    try:
        url = config["repository"]["url"]
    except (KeyError, TypeError):
        raise RuntimeError("_config.yml has no repository.url") from None
    return url.rstrip("/").removesuffix(".git")


def setup_source() -> str:
    return (
        "# In Colab, install this book's `nnbook` package; elsewhere, do nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        '    pip = [sys.executable, "-m", "pip", "install", "--quiet"]\n'
        f'    repository = "git+{repository_url()}"\n'
        "    subprocess.run([*pip, repository], check=True)"
    )


def notebooks():
    for folder in NOTEBOOK_DIRS:
        yield from sorted((ROOT / folder).glob("*.ipynb"))


def first_code_cell(nb):
    return next((cell for cell in nb.cells if cell.cell_type == "code"), None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", action="store_true")
    group.add_argument("--fix", action="store_true")
    args = parser.parse_args(argv)
    wanted, bad = setup_source(), []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        cell = first_code_cell(nb)
        if cell is not None and cell.source == wanted:
            continue
        if args.check:
            bad.append(path)
            continue
        if cell is not None and "google.colab" in cell.source:
            cell.source = wanted
        else:
            new = nbformat.v4.new_code_cell(wanted)
            index = nb.cells.index(cell) if cell is not None else len(nb.cells)
            nb.cells.insert(index, new)
        nbformat.write(nb, path)
        print(f"fixed {path.relative_to(ROOT)}")
    for path in bad:
        print(f"{path.relative_to(ROOT)}: first code cell is not the Colab set-up cell")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
