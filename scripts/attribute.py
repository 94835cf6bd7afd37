#!/usr/bin/env python3
"""Every sentence of one article with its speaker: see `python scripts/attribute.py --help`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.attribute import main

if __name__ == "__main__":
    sys.exit(main())
