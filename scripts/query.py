#!/usr/bin/env python3
"""Ask the report a question: see `python scripts/query.py --help`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.query import main

if __name__ == "__main__":
    sys.exit(main())
