"""Who a sentence is attributed to: the `Speaker` every quote carries, and the publisher's voice.

Kept apart from the attribution itself (`bot/text/attribution.py`), which parses: the query path
reads speakers from the index and needs only this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Speaker:
    """The source a sentence is attributed to, and how the attribution was found."""

    name: str
    kind: str = "source"  # "source", "publisher" or "caption"
    via: str | None = None
    full_name: str | None = None
    rule: str = "none"
    said_as: str | None = None  # the pronoun or description, when the name was resolved from one
    #: The cue word(s) the attribution was read from (shown by `scripts/attribute.py`; not indexed).
    cue: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """How a quote's speaker line reads, e.g. `SOHR (Syrian Observatory for Human Rights)`."""
        if self.kind == "caption":
            return f"Photo caption ({self.via})" if self.via else "Photo caption"
        name = f"{self.name} ({self.full_name})" if self.full_name else self.name
        return f"{name}, via {self.via}" if self.via else name

    @property
    def is_attributed(self) -> bool:
        """True when the words are a named source's, not the publisher's own."""
        return self.kind == "source"


def publisher_voice(publisher: str | None, byline: str | None) -> str:
    """Whose words unattributed sentences are: `TRT World and agencies` for an agency byline."""
    name = publisher or byline or "the publisher"
    if byline and re.search(r"\band agencies\b", byline, re.I) and "agencies" not in name:
        return f"{name} and agencies"
    return name
