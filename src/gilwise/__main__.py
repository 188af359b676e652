"""``python -m gilwise``: the same as the ``gilwise`` command."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
