"""Command-line entry points: `report-query` (scripts/query.py) and `report-build` (scripts/build_index.py)."""
