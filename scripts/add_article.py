#!/usr/bin/env python3
"""Add an article (file or URL) to the corpus and index it: see `python scripts/add_article.py --help`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli.add import main

if __name__ == "__main__":
    sys.exit(main())
