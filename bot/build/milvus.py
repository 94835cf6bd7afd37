"""SEARCH_BACKEND=milvus: after the build, its published version is copied to Milvus.

The build itself is the embedded one (`bot/build/run.py`) into INDEX_DIR, the staging index;
`bot/index/milvus/sync.py` says why and how the copy works.
"""

from __future__ import annotations

from bot.settings import Settings


def publish_to_milvus(settings: Settings, *, full: bool) -> str:
    """Copy what the build published to the Milvus the settings name; the line that says so."""
    from bot.index.milvus.sync import sync_settings

    report = sync_settings(settings, settings.index_dir, full=full)
    what = "published version" if report.full else "updated version"
    return (
        f"milvus: {what} {report.version} at {settings.milvus_uri} ({len(report.added)} articles added, "
        f"{len(report.removed)} removed) in {report.seconds:.1f} s"
    )
