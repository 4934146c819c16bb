"""Reading a dataset file and checking its digest, with the errors every loader here gives.

``load_digits``, ``load_phones`` and ``load_mnist`` use these.
"""

import hashlib


class DatasetError(RuntimeError):
    """A dataset file is missing, corrupt or not what its loader expects."""


def read_bytes(source, name, what, hint=""):
    """The bytes of ``source`` (a Path or an importlib resource), or a DatasetError naming ``name``.

    ``what`` says what the file should be ("a phone table"); ``hint`` is added to a not-found error.
    """
    try:
        return source.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"file not found: {name}{hint}") from None
    except IsADirectoryError:
        raise DatasetError(f"{name} is a folder, not {what}") from None


def check_digest(raw, name, expected, algorithm, what, advice=""):
    """Raise a DatasetError unless ``raw``'s ``algorithm`` digest is ``expected`` (None: none)."""
    if expected is None:
        return
    digest = hashlib.new(algorithm, raw, usedforsecurity=False).hexdigest()
    if digest != expected:
        label = {"sha256": "SHA-256", "md5": "MD5"}.get(algorithm, algorithm)
        raise DatasetError(f"{name} is corrupt or not {what}: its {label} is {digest}, "
                           f"expected {expected}{advice}")
