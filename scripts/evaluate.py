#!/usr/bin/env python3
"""Measure answer quality on a question set: see `python scripts/evaluate.py --help`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
