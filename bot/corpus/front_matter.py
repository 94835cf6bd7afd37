"""Front matter that cannot hurt: YAML without anchors or aliases, every field checked by pydantic.

A corpus file or a page served as `text/markdown` is someone else's text. Plain `yaml.safe_load`
lets about a kilobyte of nested aliases expand to gigabytes (the "billion laughs"), builds dates
and integers that can raise (`2015-02-30`, a 5,000-digit number), and nests without limit. So:

- the loader refuses anchors and aliases outright (an article's five fields never need them);
- it builds no dates, numbers or booleans: every scalar stays the text it was written as
  (`title: 1984` is the title "1984"), and pydantic then checks the fields we read;
- nesting deeper than a few levels and front matter over 64 KiB are refused before parsing.

Every problem is an `ArticleError` naming the file and the field, so the build skips that file
and goes on.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar

import yaml
from frontmatter.default_handlers import YAMLHandler
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from yaml.composer import ComposerError
from yaml.error import Mark
from yaml.events import AliasEvent, CollectionStartEvent, Event, ScalarEvent

from bot.corpus.normalise import normalise_text
from bot.errors import ArticleError

#: Front matter longer than this is refused unread: five short fields fit in a few hundred bytes.
MAX_FRONT_MATTER_BYTES = 64 * 1024
#: Mappings and lists nested deeper than this are refused (the fields we read are flat).
MAX_DEPTH = 16
#: Titles longer than this (a first line that is a whole paragraph) are shown shortened; front
#: matter titles over it are refused.
MAX_TITLE_CHARS = 500
#: Bounds of the text fields, in characters (a URL may be long, a title may not).
MAX_NAME_CHARS = 300
MAX_URL_CHARS = 2048

_NULL_TAG = "tag:yaml.org,2002:null"
#: Scalar tags SafeLoader would build into dates, numbers, booleans or bytes: all kept as text here.
_SCALAR_TAGS = ("bool", "int", "float", "timestamp", "binary", "null", "value", "merge")


def _refused(problem: str, event: Event) -> ComposerError:
    """The error for a refused node, pointing at where it starts in the front matter."""
    # The pure-Python parser (under SafeLoader) marks events with yaml.error.Mark; the stubs also
    # allow the C parser's mark, which ComposerError's stubs do not take.
    mark = event.start_mark if isinstance(event.start_mark, Mark) else None
    return ComposerError(None, None, problem, mark)


class NoAliasLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses anchors, aliases and deep nesting, and builds only text.

    Refusing at compose time means an alias bomb is stopped at its first `&anchor`, before any
    node is built: nothing is expanded, whatever the document's size. Plain scalars resolve to
    text (only an empty value, `~` or `null` mean "no value"), and explicitly tagged ones
    (`!!int`, `!!timestamp` ...) are constructed as the text written, so no value can fail to
    convert or turn a title into a number.
    """

    # A ClassVar, as PyYAML reads it (from the class); types-PyYAML declares it per instance.
    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = {  # type: ignore[misc]
        first: [(tag, regexp) for tag, regexp in resolvers if tag == _NULL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def construct_text(self, node: yaml.Node) -> str | None:
        """A tagged scalar as the text written (None for `!!null`)."""
        if not isinstance(node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(None, None, f"unexpected {node.tag}", node.start_mark)
        return None if node.tag == _NULL_TAG else str(node.value)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """The next node, unless it is an alias, carries an anchor or nests too deep."""
        event: Event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _refused("aliases (*name) are not allowed", event)
        if isinstance(event, ScalarEvent | CollectionStartEvent) and event.anchor is not None:
            raise _refused("anchors (&name) are not allowed", event)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _refused(f"nested deeper than {MAX_DEPTH} levels", event)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


for _tag in _SCALAR_TAGS:
    NoAliasLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", NoAliasLoader.construct_text)


def _text_or_none(value: Any) -> Any:
    """Empty values mean "not given"; text is stripped; anything but text is left for pydantic to refuse."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value


Text = Annotated[str | None, BeforeValidator(_text_or_none)]


def parse_iso_date(value: str) -> str:
    """`YYYY-MM-DD` (a time may follow) as a real calendar date in ISO form; ValueError otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.+\-Z ]{0,40})?", value.strip())
    if not match:
        raise ValueError("not an ISO date (YYYY-MM-DD)")
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError as exc:
        raise ValueError(f"not a real date ({exc})") from None


class FrontMatter(BaseModel):
    """The fields a corpus file may set; all text, bounded, the date a real one. Other keys are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    title: Text = Field(None, max_length=MAX_TITLE_CHARS)
    publisher: Text = Field(None, max_length=MAX_NAME_CHARS)
    site: Text = Field(None, max_length=MAX_NAME_CHARS)
    sitename: Text = Field(None, max_length=MAX_NAME_CHARS)
    date: Text = Field(None, max_length=64)
    url: Text = Field(None, max_length=MAX_URL_CHARS)
    byline: Text = Field(None, max_length=MAX_NAME_CHARS)
    author: Text = Field(None, max_length=MAX_NAME_CHARS)

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        return None if value is None else parse_iso_date(value)

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        """Only http(s) addresses: the URL becomes a link in Telegram, where `javascript:` must not go."""
        if value is not None and not re.match(r"https?://[^\s/]+", value, re.I):
            raise ValueError("not an http(s) address")
        return value

    def fields(self) -> dict[str, str | None]:
        """The five article fields, aliases (site, sitename, author) folded in."""
        return {
            "title": self.title,
            "publisher": self.publisher or self.site or self.sitename,
            "date": self.date,
            "url": self.url,
            "byline": self.byline or self.author,
        }


def _first_problem(error: ValidationError) -> str:
    item = error.errors(include_url=False)[0]
    where = ".".join(str(x) for x in item["loc"]) or "front matter"
    message = item["msg"].removeprefix("Value error, ")
    return f"{where}: {message[:1].lower()}{message[1:]}"


def validate_fields(raw: dict[str, Any], path: Path | str) -> dict[str, str | None]:
    """The article fields of parsed front matter, checked; `ArticleError` names the bad field."""
    try:
        return FrontMatter.model_validate(raw).fields()
    except ValidationError as exc:
        raise ArticleError(f"{path}: bad front matter {_first_problem(exc)}") from None


def load_yaml(text: str) -> Any:
    """YAML text through `NoAliasLoader`: text, lists and mappings only."""
    loader = NoAliasLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class SafeYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler with `NoAliasLoader` instead of `yaml.SafeLoader`."""

    def load(self, fm: str, **kwargs: object) -> Any:
        """The front matter's data; refused unparsed when over `MAX_FRONT_MATTER_BYTES`."""
        if len(fm.encode("utf-8", "surrogatepass")) > MAX_FRONT_MATTER_BYTES:
            raise ArticleError(f"front matter is over {MAX_FRONT_MATTER_BYTES // 1024} KiB")
        return load_yaml(fm)


def split(text: str, path: Path | str) -> tuple[dict[str, Any], str]:
    """Raw front matter (a mapping, its fields not yet checked) and body; `ArticleError` says why not.

    python-frontmatter's own `parse`, with its YAML handler on `NoAliasLoader`, minus what let bad
    input through: a mapping with a key that is not text, or a list instead of a mapping.
    """
    handler = SafeYAMLHandler()
    stripped = text.strip()
    if not handler.detect(stripped):
        return {}, text
    try:
        fm, content = handler.split(stripped)
    except ValueError:  # no closing `---`: all of it is body, as python-frontmatter reads it
        return {}, text
    try:
        data = handler.load(fm)
    except ArticleError as exc:
        raise ArticleError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ArticleError(f"{path}: malformed front matter ({problem})") from None
    except (ValueError, TypeError, RecursionError, UnicodeError) as exc:
        raise ArticleError(f"{path}: malformed front matter ({type(exc).__name__})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        raise ArticleError(f"{path}: front matter is not a mapping of fields")
    return data, content.strip()


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """YAML front matter between `---` lines and the body; the fields are checked by `article_fields`.

    Parsed by python-frontmatter with a loader that refuses anchors and aliases and keeps every
    value as text (below): a hostile header costs at most 64 KiB of parsing.
    """
    if not text.startswith("---"):
        return {}, text
    return split(text, path)


def article_fields(raw: dict[str, Any], path: Path) -> dict[str, str | None]:
    """The five article fields of raw front matter, validated (real date, bounded text, http(s) url)."""
    if not raw:
        return dict.fromkeys(FRONT_MATTER_FIELDS)
    return validate_fields(raw, path)


#: Front matter fields in the order a normalised corpus file lists them.
FRONT_MATTER_FIELDS = ("title", "publisher", "date", "url", "byline")


def format_article(fields: dict[str, Any], body: str) -> str:
    """A normalised corpus file: YAML front matter (title, publisher, date, url, byline) and the body.

    Empty fields are written empty rather than left out, so an editor sees what can be filled in.
    """
    import yaml

    ordered: dict[str, Any] = {
        k: (str(fields[k]) if fields.get(k) not in (None, "") else None) for k in FRONT_MATTER_FIELDS
    }
    if ordered["date"]:
        with contextlib.suppress(ValueError):  # written unquoted, read back as a date
            ordered["date"] = date.fromisoformat(ordered["date"])
    header = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=1000)
    header = re.sub(r": null$", ":", header, flags=re.M)
    return f"---\n{header}---\n\n{normalise_text(body)}\n"


def as_iso_date(value: Any, path: Path) -> str | None:
    """A date as an ISO string; YAML or the command line may hand us a date object or a string.

    Only a real calendar date passes (`2015-02-30` does not), as an `ArticleError` naming the file.
    """
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return parse_iso_date(str(value)[:100])
    except ValueError as exc:
        raise ArticleError(f"{path}: date {str(value)[:40]!r} is {exc}") from None


def clean_field(value: Any) -> str | None:
    """A front matter field as a stripped string, or None when empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
