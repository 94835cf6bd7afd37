"""The test data other tests and the evaluation rely on: the multi-article corpus, its questions,
the attribution labels and the synthetic corpus generator. Fast: no model is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.corpus.articles import Article, BlockKind
from bot.corpus.files import load_article, load_corpus
from bot.text.passages import split_article
from bot.text.speaker import publisher_voice
from tests.conftest import ROOT, SEED_FILE, benchmark_module

DATA = ROOT / "tests" / "data"
MULTI = DATA / "multi"

# id: (title, publisher, date, url, byline)
EXPECTED_META = {
    "bridge-collapse": (
        "Six killed as motorway bridge collapses over the Arlen river",
        "The Northern Ledger",
        "2023-08-22",
        "https://northernledger.example/news/arlen-bridge-collapse",
        "Owen Pritchard and Sara Lund",
    ),
    "election-count": (
        "Opposition claims lead as slow count delays Valdoria election result",
        "Capital Observer",
        "2023-11-07",
        None,
        "Rui Tavares",
    ),
    "flood": (
        "Flash floods kill at least 23 in Kessara province",
        "Example News",
        None,  # a raw .txt like the seed: no front matter, so no date
        None,
        "Example News and agencies",
    ),
    "port-strike": (
        "Dockworkers strike halts cargo at Port Velmar as pay talks stall",
        "Coastline Herald",
        "2024-03-12",
        "https://www.coastlineherald.example/business/2024/03/12/port-velmar-strike",
        "Hana Sorensen",
    ),
    "trade-deal": (
        "Valdoria and Sarnia sign trade deal cutting tariffs on steel & grain",
        "Meridian Business Review",
        "2024-09-03",
        "https://meridianbr.example/trade/valdoria-sarnia-deal",
        "Priya Nandakumar",
    ),
    "vaccine-rollout": (
        "Health ministry extends measles vaccine drive to all schools",
        "Atlas Wire",
        "2025-02-18",
        None,
        "Atlas Wire staff",
    ),
    "wildfire": (
        "Wildfire forces thousands to flee hill towns near Castel Rosso",
        "Valley Courier",
        "2025-07-29",
        "https://valleycourier.example/2025/07/29/castel-rosso-wildfire",
        "Marco Bellini",
    ),
}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    """The multi corpus by id, plus the seed article the labels also cover."""
    result = load_corpus(MULTI)
    assert result.skipped == [] and result.warnings == []
    by_id = {a.meta.id: a for a in result.articles}
    seed = load_article(SEED_FILE)
    by_id[seed.meta.id] = seed
    return by_id


def article_text(article: Article) -> str:
    return "\n\n".join([article.meta.title, *(b.text for b in article.blocks)])


# --- (a) the multi corpus loads, with its metadata -------------------------------------------


def test_every_multi_file_loads_with_its_metadata(articles: dict[str, Article]):
    multi = {k: v for k, v in articles.items() if k in EXPECTED_META}
    assert len(list(MULTI.iterdir())) == len(EXPECTED_META) == len(multi)
    for article_id, (title, publisher, date, url, byline) in EXPECTED_META.items():
        meta = multi[article_id].meta
        assert (meta.title, meta.publisher, meta.date, meta.url, meta.byline) == (title, publisher, date, url, byline)


def test_multi_corpus_covers_the_formats_and_furniture(articles: dict[str, Article]):
    suffixes = sorted(p.suffix for p in MULTI.iterdir())
    assert suffixes.count(".txt") >= 1 and suffixes.count(".md") >= 5
    dates = {a.meta.date for a in articles.values() if a.meta.date}
    assert {d[:4] for d in dates} >= {"2023", "2024", "2025"}
    kinds = {b.kind for a in articles.values() for b in a.blocks}
    assert kinds >= {BlockKind.STANDFIRST, BlockKind.CAPTION, BlockKind.CREDIT, BlockKind.HEADING, BlockKind.BYLINE}
    raw = "".join(p.read_text(encoding="utf-8") for p in MULTI.iterdir())
    for char in '<>&"“”\u00a0':
        assert char in raw, f"the corpus should exercise {char!r}"
    words = [len(" ".join(b.text for b in articles[i].body_blocks).split()) for i in EXPECTED_META]
    assert all(150 <= n <= 300 for n in words), words


# --- (b) questions point at text that is really there, in one article ------------------------


def test_questions_are_well_formed_and_point_at_their_article(articles: dict[str, Article]):
    questions = read_jsonl(DATA / "multi_questions.jsonl")
    texts = {i: article_text(articles[i]) for i in EXPECTED_META}
    assert len(questions) >= 35
    assert len({q["id"] for q in questions}) == len(questions)
    negatives = [q for q in questions if q.get("negative")]
    assert len(negatives) >= 6
    for q in negatives:
        assert "expect" not in q and "article" not in q, q["id"]
    for q in questions:
        if q.get("negative"):
            continue
        assert q["article"] in EXPECTED_META, q["id"]
        assert q["expect"], q["id"]
        for expect in q["expect"]:
            holders = [i for i, text in texts.items() if expect in text]
            assert holders == [q["article"]], (q["id"], expect, holders)


# --- (c) every labelled sentence is a sentence the splitter produces -------------------------


def test_attribution_labels_match_the_splitter(articles: dict[str, Article]):
    labels = read_jsonl(DATA / "attribution_labels.jsonl")
    assert len(labels) >= 70
    produced: dict[tuple[str, int, str], BlockKind] = {}
    voices = {}
    for article_id, article in articles.items():
        voices[article_id] = publisher_voice(article.meta.publisher, article.meta.byline)
        for passage in split_article(article):
            for sentence in passage.sentences:
                produced[(article_id, passage.paragraph, sentence.text)] = passage.kind
    keys = [(row["article"], row["paragraph"], row["sentence"]) for row in labels]
    missing = [key for key in keys if key not in produced]
    assert missing == []
    assert len(set(keys)) == len(keys)
    assert set(keys) == set(produced), "every sentence of the seed and the multi corpus is labelled"
    for row, key in zip(labels, keys, strict=True):
        assert row["speaker"].strip(), key
        is_caption = produced[key] is BlockKind.CAPTION
        assert (row["kind"] == "caption") == is_caption, key
        if row["kind"] == "publisher":
            assert row["speaker"] == voices[row["article"]], key
        else:
            assert row["kind"] in {"source", "caption"}, key


# --- (d) the synthetic generator is deterministic and loader-clean ---------------------------


@pytest.fixture(scope="module")
def synthetic():
    return benchmark_module("synthetic_corpus")


def test_generator_is_deterministic_and_loads_cleanly(synthetic, tmp_path: Path):
    first = synthetic.generate(tmp_path / "a", articles=12, paragraphs=4, seed=7)
    again = synthetic.generate(tmp_path / "b", articles=12, paragraphs=4, seed=7)
    other = synthetic.generate(tmp_path / "c", articles=12, paragraphs=4, seed=8)
    assert [p.name for p in first] == [p.name for p in again]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert [p.read_bytes() for p in first] != [p.read_bytes() for p in other]

    result = load_corpus(tmp_path / "a")
    assert result.skipped == [] and result.warnings == []
    assert len(result.articles) == 12
    for article in result.articles:
        meta = article.meta
        assert meta.title and meta.publisher and meta.date and meta.url and meta.byline
        kinds = [b.kind for b in article.blocks]
        assert kinds == [BlockKind.STANDFIRST] + [BlockKind.PARAGRAPH] * 4
        attributed = [s for p in split_article(article) for s in p.sentences if s.speaker.is_attributed]
        assert attributed, "reported speech gives the attribution rules something to do"


def test_generator_refuses_to_mix_with_existing_articles(synthetic, tmp_path: Path, capsys):
    synthetic.generate(tmp_path, articles=2, paragraphs=1, seed=1)
    with pytest.raises(ValueError, match="--force"):
        synthetic.generate(tmp_path, articles=3, paragraphs=1, seed=1)
    assert synthetic.main(["--articles", "3", "--paragraphs", "2", "--out", str(tmp_path), "--force"]) == 0
    assert "wrote 3 articles (9 passages" in capsys.readouterr().out
    assert len(list(tmp_path.glob("*.md"))) == 3


def test_generator_gives_distinct_sentences_for_embedding_benchmarks(synthetic):
    made = synthetic.sentences(500, seed=3)
    assert len(made) == len(set(made)) == 500
    assert made == synthetic.sentences(500, seed=3) != synthetic.sentences(500, seed=4)
    assert all(s.strip() == s and s.endswith(".") for s in made)
