"""``python -m schedfuzz.cli``: the same command line as the ``schedfuzz`` script."""

from __future__ import annotations

import sys

from schedfuzz.cli import main

if __name__ == "__main__":
    sys.exit(main())
