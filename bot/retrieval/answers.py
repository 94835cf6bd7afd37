"""What the engine returns: an `Answer` of `Quote`s, each with its speaker and source.

Every face (Telegram, terminal, JSON) formats these and nothing else; `to_dict` is the JSON
contract of `scripts/query.py --json` (see `docs/` and the design notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.corpus.articles import ArticleMeta
from bot.retrieval.frozen import quick_init
from bot.text.speaker import Speaker


@quick_init
@dataclass(frozen=True)
class Quote:
    """One passage of an answer and the sentence(s) in it that answer best."""

    passage_id: int
    text: str
    quote_start: int
    quote_end: int
    score: float
    speaker: Speaker
    article: ArticleMeta
    paragraph: int
    kind: str
    section: str | None
    #: The answer slots of the passage's sentences (JSON, `bot/text/slots.py`), for the decision.
    slots: tuple[str | None, ...] = ()
    #: The named speakers of the passage's sentences (name and full name), for "What did X say?".
    speakers: tuple[str, ...] = ()

    @property
    def quote(self) -> str:
        """The best sentence(s), verbatim from the passage."""
        return self.text[self.quote_start : self.quote_end]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of one entry of `passages`."""
        return {
            "text": self.text,
            "quote": self.quote,
            "score": round(self.score, 4),
            "speaker": self.speaker.label,
            "speaker_detail": {
                "name": self.speaker.name,
                "kind": self.speaker.kind,
                "via": self.speaker.via,
                "full_name": self.speaker.full_name,
                "rule": self.speaker.rule,
            },
            "article": self.article.to_dict(),
            "paragraph": self.paragraph,
            "kind": self.kind,
            "section": self.section,
            "passage_id": self.passage_id,
        }


@quick_init
@dataclass(frozen=True)
class Answer:
    """The engine's reply to a question: quotes, and whether they answer it."""

    question: str
    answered: bool
    quotes: list[Quote] = field(default_factory=list)
    notice: str | None = None
    #: The decision's calibrated probability that the first quote answers (`bot/retrieval/decision.py`).
    confidence: float = 0.0
    #: Which decision model decided (its version).
    decision: str | None = None
    #: Not answered, but the first quote is close enough to show as "possibly relevant".
    possibly_relevant: bool = False

    def to_dict(self, id: Any = None) -> dict[str, Any]:
        """The JSON object of the query contract."""
        data: dict[str, Any] = {
            "id": id,
            "question": self.question,
            "answered": self.answered,
            "confidence": round(self.confidence, 4),
            "possibly_relevant": self.possibly_relevant,
            "decision": self.decision,
            "passages": [q.to_dict() for q in self.quotes],
        }
        if self.notice:
            data["notice"] = self.notice
        return data
