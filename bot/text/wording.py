"""How every face names what it quotes: "the report" for one article, "the articles" for several.

One helper, so that the terminal chat, the CLI, Telegram and the example questions never disagree
(a newcomer with five articles loaded was told "Also in the report:"). Each face asks the engine
for `Engine.wording()`, which reads the article count from the live manifest (no query).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wording:
    """The words for the indexed corpus, with the verbs that agree with them."""

    articles: int

    @property
    def one(self) -> bool:
        """Whether the index holds a single article (a report) or several (articles)."""
        return self.articles == 1

    @property
    def the(self) -> str:
        """`the report` or `the articles`."""
        return "the report" if self.one else "the articles"

    @property
    def The(self) -> str:
        """`The report` or `The articles`, to start a sentence."""
        return self.the[:1].upper() + self.the[1:]

    @property
    def does(self) -> str:
        """`does` or `do`, agreeing with `the`."""
        return "does" if self.one else "do"

    @property
    def has(self) -> str:
        """`has` or `have`, agreeing with `the`."""
        return "has" if self.one else "have"

    @property
    def a(self) -> str:
        """`a news report` or `news articles`: what the bot answers about, said in general."""
        return "a news report" if self.one else "news articles"

    def count(self) -> str:
        """`1 article` or `5 articles`."""
        return f"{self.articles} article" + ("" if self.one else "s")


def wording(articles: int) -> Wording:
    """The wording for an index of `articles` articles: "the report" for one, "the articles" else.

    An empty or unknown count (0) reads as several: "the articles" never claims a single report.
    """
    return Wording(max(0, int(articles)))


#: The wording where the count is not known (e.g. no index yet): one report, as the seed corpus.
REPORT = wording(1)
