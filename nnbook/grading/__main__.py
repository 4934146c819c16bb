"""``python -m nnbook.grading SUBMISSIONS_DIR ...``: the same as ``nnbook-grade``."""

import sys

from nnbook.grading.cli import main

sys.exit(main())
