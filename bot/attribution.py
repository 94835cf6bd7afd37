"""Who said it: a speaker for every sentence, from the rules of reported speech.

News copy marks its sources in a handful of fixed shapes, so a small set of rules gets nearly all
of them right and stays explainable (each speaker records the rule that found it):

- closing attribution: `..., SOHR confirmed on Thursday.` / `"...," he said.` / `..., X told Reuters.`
- opening attribution: `Eyewitnesses and locals suggest that ...` / `the Orient news says 9 ...`
- `according to X` anywhere, and `... that activists say were ...` inside a clause;
- a pronoun (`he said`) takes the nearest named source before it in the article;
- a quotation spread over several sentences takes the attribution of the sentence that closes it;
- no source: the publisher's own words. Captions are the publisher's, with the photo credit.

Words inside quotation marks are masked before matching, so a verb inside a quote never
becomes an attribution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

#: Verbs of reported speech, in the forms news copy uses.
_VERBS = (
    r"said|says|say|told|tells|confirmed|confirms|added|adds|stated|states|reported|reports|"
    r"announced|announces|claimed|claims|claim|suggested|suggests|suggest|warned|warns|insisted|"
    r"insists|explained|explains|noted|notes|estimated|estimates|alleged|alleges|wrote|writes|"
    r"tweeted|acknowledged|acknowledges|denied|denies|admitted|admits|believe|believes|argued|"
    r"argues|stressed|maintained|maintains|declared|described|describes|reportedly said"
)
_PRONOUNS = {"he", "she", "they", "it", "we", "i", "him", "her", "them"}
#: A source is a noun phrase: these words mean the match swallowed a clause instead.
_NOT_IN_SOURCE = re.compile(
    r"\b(?:is|are|was|were|be|been|being|has|have|had|will|would|could|should|can|not|to|if|"
    r"when|because|while|as|than|did|do|does|that|which|who|whom|whose|what)\b"
)  # case-sensitive: "WHO" the organisation is a source, "who" is a clause
_LEADING_FILLER = re.compile(
    r"^(?:(?:however|meanwhile|but|and|also|separately|earlier|later|moreover|still|yet|"
    r"on \w+|in \w+|last \w+|this \w+)\s*,?\s+)+",
    re.I,
)
_TRAILING = re.compile(
    rf"(?:^|[,\"”])\s*(?P<src>[^,;\"“”]{{1,120}}?)\s+(?P<verb>{_VERBS})\b(?P<tail>[^\"“”]*)$",
    re.I,
)
_INVERTED = re.compile(rf"[,\"”]\s*(?P<verb>{_VERBS})\s+(?P<src>[^,;\"“”]{{2,120}}?)\s*(?:,[^\"“”]*)?[.!?]?$", re.I)
_LEADING = re.compile(rf"^(?P<src>[^,;\"“”]{{2,120}}?)\s+(?P<verb>{_VERBS})\b(?P<tail>.*)$", re.I)
_CLAUSE = re.compile(
    r"\b(?:that|which|who|what)\s+(?P<src>[a-z][\w-]+(?:\s+[a-z][\w-]+)?)\s+"
    r"(?P<verb>say|says|said|claim|claims|claimed|believe|believes|suggest|suggests)\b"
)
_ACCORDING = re.compile(r"\baccording to (?P<src>[^,.;:\"“”]{2,80})", re.I)
_VIA_TOLD = re.compile(r"^\s*(?P<via>(?:the\s+)?[A-Z][\w.&-]*(?:\s+[A-Z][\w.&-]*){0,3})")
_VIA_IN = re.compile(
    r"\b(?:in (?:comments|remarks|a statement|an interview|a post)\s+)?"
    r"(?:published|carried|broadcast|aired|posted|quoted)\s+(?:in|by|on)\s+(?P<via>[^,.;:]+?)(?=\s+that\b|[,.;:]|$)",
    re.I,
)
_ACRONYM = re.compile(r"(?P<full>[A-Z][\w'’-]*(?:\s+(?:for|of|the|and|on|[A-Z][\w'’-]*))+)\s*\((?P<short>[A-Z]{2,8})\)")
#: Clauses between a source and its verb that describe the source: blanked before matching, so that
#: "Petra Holm, who was driving across, told Reuters" names Petra Holm.
_ASIDES = (
    re.compile(r",\s*(?:who|which)\b[^,\"“”]*,"),
    re.compile(r"\s+who (?:asked|spoke|declined|requested) not to be (?:named|identified)"),
    re.compile(r",\s*speaking on condition of anonymity\s*,"),
    # "Marta Kessel, general secretary of the union, said": an appositive after a name.
    re.compile(rf"(?<=[A-Z][a-z])(?<=\w)\s*,\s*[^,;\"“”]{{2,80}},(?=\s*(?:{_VERBS})\b)"),
    re.compile(
        rf"(?<=[a-z])\s*,\s*(?:a|an|the|head|general|chief|senior|deputy)\b[^,;\"“”]{{2,80}},(?=\s*(?:{_VERBS})\b)"
    ),
)
_NOT_A_SOURCE = {"and", "but", "or", "then", "so", "also", "it", "this", "that"}
#: Words of organisations: a source named with one is not a "he" or "she".
_ORGANISATION = re.compile(
    r"\b(?:office|ministry|agency|association|union|institute|committee|observatory|council|party|army|"
    r"government|police|news|media|television|radio|reuters|afp|ap|bank|company|court|hospital|group|"
    r"authority|service|department|commission|organization|organisation|network|results|survey|report)\b",
    re.I,
)
#: A person introduced as the subject of a sentence ("Transport minister Karin Aalto visited...").
_PERSON_SUBJECT = re.compile(r"^(?:[A-Za-z]+\s+){0,3}?(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2})\s+[a-z]+")
_TIME_TAIL = re.compile(
    r"\s+(?:on|late on|early on|earlier|later|last|this)\s+\w+$|\s+(?:yesterday|today|tonight)$", re.I
)


@dataclass(frozen=True)
class Speaker:
    """The source a sentence is attributed to, and how the attribution was found."""

    name: str
    kind: str = "source"  # "source", "publisher" or "caption"
    via: str | None = None
    full_name: str | None = None
    rule: str = "none"
    said_as: str | None = None  # the pronoun, when the name was resolved from one

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


def mask_quotes(text: str) -> str:
    """Replace words inside quotation marks with `x`, keeping offsets and the marks themselves.

    Curly quotes say which way they face; a straight quote opens after a space or at the start
    and closes after anything else, so a sentence that continues a quotation (`open," she said.`)
    is read correctly too.
    """
    out = list(text)
    inside = False
    for i, ch in enumerate(text):
        opens = ch == "“" or (ch == '"' and (i == 0 or text[i - 1].isspace() or text[i - 1] in "([—–-"))
        closes = ch == "”" or (ch == '"' and not opens)
        if opens:
            inside = True
        elif closes:
            if not inside:
                # The sentence began inside a quotation that an earlier sentence opened.
                out[:i] = ["x" if not c.isspace() else c for c in out[:i]]
            inside = False
        elif inside and not ch.isspace():
            out[i] = "x"
    return "".join(out)


def _clean_source(raw: str) -> str | None:
    """A matched source phrase tidied up, or None when it is not a plausible speaker."""
    src = _LEADING_FILLER.sub("", raw.strip(" ,.;:-–—"))
    src = _TIME_TAIL.sub("", src)
    src = re.sub(r"^(?:the|a|an)\s+", "", src, flags=re.I).strip(" ,")
    src = " ".join(src.split())
    if not src or len(src.split()) > 12 or _NOT_IN_SOURCE.search(src) or src.casefold() in _NOT_A_SOURCE:
        return None
    if src.casefold() in _PRONOUNS:
        return src.casefold()
    return src


def _via_from_tail(verb: str, tail: str) -> str | None:
    """The channel in `told Reuters`, `according to X` or `in comments published in state media`."""
    if verb.lower() in {"told", "tells"}:
        match = _VIA_TOLD.match(tail)
        if match:
            return re.sub(r"^the\s+", "", match.group("via"), flags=re.I)
    match = _ACCORDING.search(tail) or _VIA_IN.search(tail)
    if match:
        return re.sub(r"^the\s+", "", match.group(1).strip(), flags=re.I)
    return None


def _blank_asides(text: str) -> str:
    """`text` with descriptive clauses about a source replaced by spaces (offsets kept)."""
    for pattern in _ASIDES:
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def find_attribution(sentence: str) -> Speaker | None:
    """The speaker one sentence names, by the rules in the module docstring, or None."""
    masked = _blank_asides(mask_quotes(sentence.rstrip()))
    sentence = masked  # sources are read from the masked text: asides blanked, quotes excluded
    body = masked.rstrip(".!?")
    match = _TRAILING.search(body)
    if match and match.start("src") > 0:
        src = _clean_source(sentence[match.start("src") : match.end("src")])
        if src:
            tail = sentence[match.start("tail") : match.end("tail")]
            return Speaker(src, via=_via_from_tail(match.group("verb"), tail), rule="closing")
    match = _INVERTED.search(masked)
    if match:
        src = _clean_source(sentence[match.start("src") : match.end("src")])
        if src:
            return Speaker(src, rule="inverted")
    stripped = _LEADING_FILLER.sub("", masked)
    offset = len(masked) - len(stripped)
    match = _LEADING.match(stripped)
    if match:
        src = _clean_source(sentence[offset + match.start("src") : offset + match.end("src")])
        if src:
            tail = sentence[offset + match.start("tail") : offset + match.end("tail")]
            return Speaker(src, via=_via_from_tail(match.group("verb"), tail), rule="opening")
    match = _ACCORDING.search(masked)
    if match:
        src = _clean_source(sentence[match.start("src") : match.end("src")])
        if src:
            return Speaker(src, rule="according-to")
    match = _CLAUSE.search(masked)
    if match:
        return Speaker(match.group("src"), rule="clause")
    return None


def _quote_depth_changes(sentence: str) -> int:
    """+1 when a sentence opens a quotation it does not close, -1 when it closes an earlier one."""
    straight = sentence.count('"')
    curly = sentence.count("“") - sentence.count("”")
    if straight % 2 == 1:
        # An odd straight quote opens at the start of a sentence, closes elsewhere.
        return 1 if sentence.lstrip().startswith('"') else -1
    return curly


class Attributor:
    """Attributes the sentences of one article in reading order.

    Holds what the article has said so far: acronyms it introduced ("(SOHR)") and the last named
    source, which a later `he said` refers to.
    """

    def __init__(self, publisher: str) -> None:
        self.publisher = Speaker(publisher, kind="publisher", rule="publisher")
        self.acronyms: dict[str, str] = {}
        self.last_named: Speaker | None = None
        self.last_person: Speaker | None = None
        self.last_quoted: Speaker | None = None
        self.known: list[str] = []
        # When the last named source and the last person were set (a later one is nearer).
        self._clock = self._named_at = self._person_at = 0

    def _earlier_name(self, name: str) -> str:
        """A later short form ("the ministry", "Ricci") as the fuller name the article used first."""
        short = name.casefold()
        for known in reversed(self.known):
            if known.casefold() != short and known.casefold().endswith(" " + short):
                return known
        return name

    def _is_person(self, speaker: Speaker) -> bool:
        words = speaker.name.split()
        return (
            speaker.kind == "source"
            and not _ORGANISATION.search(speaker.name)
            and not speaker.name.isupper()
            and sum(1 for w in words if w[:1].isupper()) >= 2
        )

    def mention(self, sentence: str) -> None:
        """Note a person introduced as a sentence's subject: a later "she said" may mean them."""
        match = _PERSON_SUBJECT.match(sentence)
        if match and not _ORGANISATION.search(match.group("name")):
            prefix = sentence[: match.start("name")].strip()
            name = f"{prefix} {match.group('name')}".strip() if prefix and prefix[0].isupper() else match.group("name")
            self.last_person = Speaker(name, rule="subject")
            self._clock += 1
            self._person_at = self._clock
            self.known.append(name)

    def _named(self, speaker: Speaker, sentence: str) -> Speaker:
        """Normalise acronyms and resolve pronouns against the article so far."""
        for match in _ACRONYM.finditer(sentence):
            full = re.sub(r"^the\s+", "", match.group("full"), flags=re.I)
            self.acronyms[match.group("short")] = full
        name = speaker.name
        acronym = _ACRONYM.fullmatch(name)
        if acronym:
            name = acronym.group("short")
        if name in _PRONOUNS:
            antecedent = self.last_named
            if name in ("he", "she") and self.last_person is not None:
                # "he" is a person: the last one named, unless a later source is not an organisation
                # (the design's rule, "the nearest named source before it", for "SOHR and rebels").
                later = self._named_at > self._person_at
                if not (later and self.last_named and not _ORGANISATION.search(self.last_named.name)):
                    antecedent = self.last_person
            if antecedent is None:
                return self.publisher
            return replace(antecedent, rule="pronoun", said_as=name)
        name = self._earlier_name(name)
        full = self.acronyms.get(name)
        named = replace(speaker, name=name, full_name=full)
        self.last_named = named
        self._clock += 1
        self._named_at = self._clock
        self.known.append(name)
        if self._is_person(named):
            self.last_person = named
            self._person_at = self._clock
        return named

    def paragraph(
        self, sentences: list[str], caption_credit: str | None = None, *, caption: bool = False
    ) -> list[Speaker]:
        """Speakers for the sentences of one paragraph (or caption)."""
        if caption:
            return [Speaker("Photo caption", kind="caption", via=caption_credit, rule="caption") for _ in sentences]
        found: list[Speaker | None] = []
        for sentence in sentences:
            speaker = find_attribution(sentence)
            if speaker is None:
                self.mention(sentence)
            found.append(self._named(speaker, sentence) if speaker else None)
        # A quotation over several sentences belongs to whoever its closing sentence names.
        group: list[int] = []
        depth = 0
        for i, sentence in enumerate(sentences):
            change = _quote_depth_changes(sentence)
            if depth > 0 or change > 0:
                group.append(i)
            depth = max(0, depth + change)
            if depth == 0 and group:
                owner = next((found[j] for j in reversed(group) if found[j]), None)
                for j in group:
                    found[j] = found[j] or owner
                group = []
        # A quotation standing alone goes on the words of whoever was quoted last.
        for i, sentence in enumerate(sentences):
            if found[i] is None and sentence.lstrip()[:1] in '"“' and self.last_quoted is not None:
                found[i] = replace(self.last_quoted, rule="continued-quote")
            if found[i] is not None and ('"' in sentence or "“" in sentence):
                self.last_quoted = found[i]
        return [s or self.publisher for s in found]


def publisher_voice(publisher: str | None, byline: str | None) -> str:
    """Whose words unattributed sentences are: `TRT World and agencies` for an agency byline."""
    name = publisher or byline or "the publisher"
    if byline and re.search(r"\band agencies\b", byline, re.I) and "agencies" not in name:
        return f"{name} and agencies"
    return name
