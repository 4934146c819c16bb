"""What every ``tools/make_*.py`` that regenerates a stored file shares: write it, or check it.

    write_or_check(path, text, argv)   # argv holds "--check": compare only, exit status 1 if stale
"""

from pathlib import Path


def write_or_check(path: Path, text: str, argv) -> int:
    """Write ``text`` to ``path``, or with ``--check`` in ``argv`` only say whether it is current."""
    if "--check" in argv:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{path} differs from a fresh run")
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({len(text):,} bytes)")
    return 0
