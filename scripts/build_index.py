#!/usr/bin/env python3
"""Build the index from the corpus: see `python scripts/build_index.py --help`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.build import main

if __name__ == "__main__":
    sys.exit(main())
