"""Generate a large synthetic news corpus for benchmarks: deterministic, fast, loader-clean.

Benchmarks need corpora of 10,000 or 100,000 passages that look like news to the loader, the
splitter, the attribution rules and the embedder (varied vocabulary, places, numbers and reported
speech from many kinds of source), without shipping megabytes of text in the repository. The same
seed always gives the same bytes, so timings from different runs and machines compare like with
like.

    python benchmarks/synthetic_corpus.py --articles 1000 --out /tmp/synth --seed 7 --paragraphs 9

Each article is one `.md` file with YAML front matter (title, publisher, date, url, byline), a
`#` title, a standfirst and `--paragraphs` body paragraphs, so it yields `paragraphs + 1` passages.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

# Vocabulary pools. Places are built from syllables so that 100,000 passages do not all repeat
# the same twenty towns (which would make lexical search unrealistically ambiguous).
_ONSETS = ["Al", "Bar", "Cor", "Dal", "Es", "Fen", "Gar", "Hal", "Ir", "Kas", "Lor", "Mar", "Nor", "Or", "Pel"]
_ONSETS += ["Quin", "Ros", "Sal", "Tor", "Ul", "Val", "Wen", "Zar", "Bel", "Cas", "Dor", "Tam", "Ven"]
_CODAS = ["ara", "ena", "ion", "ova", "ust", "ane", "ero", "ith", "ora", "and", "esk", "ino", "ia", "ell", "ant"]
_REGION_KINDS = ["province", "district", "region", "county", "valley"]
_FIRST = ["Ana", "Omar", "Lena", "Tomas", "Priya", "Yusuf", "Marta", "Ilan", "Sofia", "Daud", "Karin", "Joren"]
_FIRST += ["Amira", "Giulia", "Owen", "Hana", "Rui", "Selim", "Leila", "Marco", "Petra", "Nadia", "Kofi", "Elif"]
_LAST = ["Kessel", "Varga", "Reyna", "Moraes", "Rahimi", "Arat", "Holm", "Aalto", "Falk", "Haddad", "Benali"]
_LAST += ["Ricci", "Ferro", "Sorensen", "Tavares", "Lund", "Okafor", "Demir", "Novak", "Ibrahim", "Castro"]
_PUBLISHERS = ["Coastline Herald", "Capital Observer", "The Northern Ledger", "Atlas Wire", "Valley Courier"]
_PUBLISHERS += ["Meridian Business Review", "Example News", "Harbour Gazette", "The Daily Lantern"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_AGENCIES = ["Reuters", "AFP", "the Associated Press", "local radio", "state television"]
_MINISTRIES = ["interior", "health", "transport", "trade", "labour", "defence", "finance", "environment"]
_NGOS = [
    ("International Committee of the Red Cross", "ICRC"),
    ("World Health Organization", "WHO"),
    ("Civic Watch Network", "CWN"),
    ("Norwegian Refugee Council", "NRC"),
    ("Médecins Sans Frontières", "MSF"),
    ("International Organization for Migration", "IOM"),
]
_ROLES = ["mayor", "provincial governor", "police chief", "union leader", "hospital director", "fire chief"]
_ROLES += ["ministry spokesperson", "deputy minister", "local councillor", "aid worker", "economist"]


@dataclass(frozen=True)
class _Topic:
    """A kind of story: its headline shape and the facts its sentences draw on."""

    name: str
    headline: str
    event: str
    things: tuple[str, ...]
    actions: tuple[str, ...]


_TOPICS = (
    _Topic(
        "flood",
        "Floods kill {n} in {region}",
        "flash floods",
        ("homes", "bridges", "roads", "farms", "schools"),
        ("swept away", "cut off", "damaged", "submerged"),
    ),
    _Topic(
        "strike",
        "Strike halts {thing} across {region}",
        "the strike",
        ("ports", "rail lines", "bus depots", "factories", "mines"),
        ("closed", "slowed", "shut down", "blocked"),
    ),
    _Topic(
        "election",
        "Count continues in {region} election as turnout hits {pct}%",
        "the election",
        ("polling stations", "ballot boxes", "tally sheets", "constituencies"),
        ("counted", "reopened", "disputed", "verified"),
    ),
    _Topic(
        "wildfire",
        "Wildfire forces {n} to flee villages in {region}",
        "the wildfire",
        ("hectares of forest", "houses", "vineyards", "olive groves"),
        ("burned", "destroyed", "threatened", "evacuated"),
    ),
    _Topic(
        "outbreak",
        "Health officials race to contain outbreak in {region}",
        "the outbreak",
        ("clinics", "vaccine doses", "hospital beds", "test kits"),
        ("delivered", "opened", "used up", "requested"),
    ),
    _Topic(
        "collapse",
        "{n} killed as {thing} collapse in {region}",
        "the collapse",
        ("bridges", "apartment blocks", "tunnels", "market halls"),
        ("inspected", "closed", "cordoned off", "cleared"),
    ),
    _Topic(
        "trade",
        "{region} signs trade deal cutting tariffs on {thing}",
        "the agreement",
        ("steel", "grain", "textiles", "fish", "machinery"),
        ("exported", "imported", "taxed", "shipped"),
    ),
    _Topic(
        "quake",
        "Earthquake of magnitude {mag} strikes {region}",
        "the earthquake",
        ("buildings", "roads", "water pipes", "power lines"),
        ("damaged", "destroyed", "cracked", "cut"),
    ),
)


class _Writer:
    """Builds one article's text from a seeded random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def place(self) -> str:
        r = self.rng
        return r.choice(_ONSETS) + r.choice(_CODAS)

    def person(self) -> str:
        return f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}"

    def number(self) -> str:
        r = self.rng
        return r.choice([str(r.randint(2, 99)), f"{r.randint(1, 99) * 100:,}", f"{r.randint(1, 40) * 1000:,}"])

    def source(self, ngo_introduced: set[str]) -> tuple[str, str]:
        """A (subject, closing attribution) pair for one sentence of reported speech."""
        r = self.rng
        kind = r.randrange(7)
        if kind == 0:
            ministry = f"the {r.choice(_MINISTRIES)} ministry"
            return ministry.capitalize(), f"{ministry} said on {r.choice(_DAYS)}"
        if kind == 1:
            full, short = r.choice(_NGOS)
            if short in ngo_introduced:
                return short, f"{short} said"
            ngo_introduced.add(short)
            return f"The {full} ({short})", f"the {full} ({short}) said"
        if kind == 2:
            who = f"{r.choice(_ROLES)} {self.person()}"
            return who[0].upper() + who[1:], f"{who} told {r.choice(_AGENCIES)}"
        if kind == 3:
            return "Eyewitnesses", "eyewitnesses said"
        if kind == 4:
            return "A source who asked not to be named", "a source who asked not to be named said"
        if kind == 5:
            return "Residents", "residents say"
        return "Officials", f"officials said on {r.choice(_DAYS)}"

    def quotation(self, topic: _Topic, region: str) -> str:
        """Two different sentences of direct speech, the second without its closing punctuation."""
        r = self.rng
        shapes = [
            f"We have not slept since {r.choice(_DAYS)}",
            f"Our teams reached {self.place()} this morning and counted {self.number()} {r.choice(topic.things)}",
            f"This is the worst I have seen in {r.randint(5, 40)} years",
            f"We need {r.randint(2, 90)} more crews in {region} by {r.choice(_DAYS)}",
            f"Nobody has told us what happens to the {r.choice(topic.things)} now",
            f"The {r.choice(topic.things)} in {self.place()} were {r.choice(topic.actions)} before we arrived",
        ]
        return ". ".join(r.sample(shapes, 2))

    def fact(self, topic: _Topic, region: str) -> str:
        """A plain statement of fact in the publisher's voice, ending without a full stop."""
        r = self.rng
        shapes = [
            f"At least {self.number()} {r.choice(topic.things)} were {r.choice(topic.actions)} in {region}",
            f"{r.choice(topic.things).capitalize()} in {self.place()} and {self.place()} were "
            f"{r.choice(topic.actions)} on {r.choice(_DAYS)}",
            f"More than {self.number()} people were affected by {topic.event} in {region}",
            f"{self.number()} {r.choice(topic.things)} have been {r.choice(topic.actions)} since {r.choice(_DAYS)}",
            f"Crews worked through the night near {self.place()}, {r.randint(2, 300)} km from the capital",
        ]
        return r.choice(shapes)

    def sentence(self, topic: _Topic, region: str, ngos: set[str]) -> str:
        """One sentence: a fact, a closing attribution, an opening one, a quotation or `according to`."""
        r = self.rng
        shape = r.randrange(6)
        fact = self.fact(topic, region)
        lowered = fact[0].lower() + fact[1:] if not fact[:2].isupper() else fact
        if shape == 0:
            return fact + "."
        if shape == 1:
            _, closing = self.source(ngos)
            return f"{fact}, {closing}."
        if shape == 2:
            subject, _ = self.source(ngos)
            verb = "say" if subject in {"Eyewitnesses", "Residents", "Officials"} else "said"
            return f"{subject} {verb} {lowered}."
        if shape == 3:
            role = r.choice(_ROLES)
            article = "an" if role[0] in "aeiou" else "a"
            return f'"{self.quotation(topic, region)}," {self.person()}, {article} {role}, said.'
        if shape == 4:
            return f"According to {r.choice(['police', 'local media', 'the regional authorities'])}, {lowered}."
        return f"{fact}, said {r.choice(_ROLES)} {self.person()}."

    def article(self, number: int, paragraphs: int, start: date) -> tuple[str, str]:
        """The file name and text of article `number`."""
        r = self.rng
        topic = r.choice(_TOPICS)
        region = f"{self.place()} {r.choice(_REGION_KINDS)}"
        title = topic.headline.format(
            n=self.number(),
            region=region,
            thing=r.choice(topic.things),
            pct=r.randint(35, 89),
            mag=r.randint(40, 79) / 10,
        )
        title = title[0].upper() + title[1:]
        published = start + timedelta(days=r.randrange(3 * 365))
        publisher = r.choice(_PUBLISHERS)
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower())[:60].strip("-")
        name = f"{number:06d}-{slug}.md"
        ngos: set[str] = set()
        body = [
            f"# {title}",
            f"Officials in {region} respond to {topic.event} as {self.number()} people wait for news",
        ]
        for _ in range(paragraphs):
            body.append(" ".join(self.sentence(topic, region, ngos) for _ in range(r.randint(2, 4))))
        front = [
            "---",
            f"title: {_yaml_str(title)}",
            f"publisher: {_yaml_str(publisher)}",
            f"date: {published.isoformat()}",
            f"url: https://{re.sub(r'[^a-z]', '', publisher.lower())}.example/{published:%Y/%m/%d}/{number:06d}",
            f"byline: {_yaml_str(self.person())}",
            "---",
        ]
        return name, "\n".join(front) + "\n" + "\n\n".join(body) + "\n"


def _yaml_str(value: str) -> str:
    """A double-quoted YAML scalar, so titles with colons or `&` stay plain strings."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generate(
    out_dir: Path, articles: int, paragraphs: int = 9, seed: int = 0, *, overwrite: bool = False
) -> list[Path]:
    """Write `articles` synthetic articles into `out_dir` and return their paths.

    The same arguments always give byte-identical files. Refuses (ValueError) to mix with articles
    already in `out_dir` unless `overwrite`, which first removes the `.md` files there.
    """
    if articles < 1 or paragraphs < 1:
        raise ValueError("articles and paragraphs must both be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = sorted(out_dir.glob("*.md"))
    if existing and not overwrite:
        raise ValueError(f"{out_dir} already holds {len(existing)} .md files; use --force to replace them")
    for path in existing:
        path.unlink()
    rng = random.Random(seed)
    writer = _Writer(rng)
    start = date(2023, 1, 1)
    paths = []
    for number in range(1, articles + 1):
        name, text = writer.article(number, paragraphs, start)
        path = out_dir / name
        path.write_text(text, encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def sentences(count: int, seed: int = 0) -> list[str]:
    """`count` distinct sentences of the kind the articles are made of (for embedding benchmarks)."""
    rng = random.Random(seed)
    writer = _Writer(rng)
    found: dict[str, None] = {}
    while len(found) < count:
        topic = rng.choice(_TOPICS)
        found.setdefault(writer.sentence(topic, f"{writer.place()} {rng.choice(_REGION_KINDS)}", set()), None)
    return list(found)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def misspell(word: str, rng: random.Random) -> str:
    """One typing slip: a letter dropped, doubled, replaced or swapped with the next."""
    i = rng.randrange(len(word))
    slip = rng.randrange(4)
    if slip == 0:
        return word[:i] + word[i + 1 :]
    if slip == 1:
        return word[: i + 1] + word[i:]
    if slip == 2:
        return word[:i] + rng.choice("aeioustrnlkz") + word[i + 1 :]
    return word[:i] + word[i + 1 : i + 2] + word[i] + word[i + 2 :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a deterministic synthetic news corpus (.md with front matter) for benchmarks.",
        epilog="Each article yields PARAGRAPHS + 1 passages (the standfirst too): "
        "--articles 1000 --paragraphs 9 gives about 10,000 passages.",
    )
    parser.add_argument("--articles", type=_positive, required=True, help="number of articles to write")
    parser.add_argument("--out", type=Path, required=True, help="folder to write them into (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same bytes (default 0)")
    parser.add_argument("--paragraphs", type=_positive, default=9, help="body paragraphs per article (default 9)")
    parser.add_argument("--force", action="store_true", help="replace .md files already in --out")
    args = parser.parse_args(argv)
    try:
        paths = generate(args.out, args.articles, args.paragraphs, args.seed, overwrite=args.force)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in paths)
    passages = len(paths) * (args.paragraphs + 1)
    print(
        f"wrote {len(paths)} articles ({passages:,} passages: {args.paragraphs} paragraphs + standfirst each, "
        f"{size / 1e6:.1f} MB) to {args.out} with seed {args.seed}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
