"""`query.py --json --batch` (issue 16, family 16): any line in, one valid JSON object out.

Every bad line gets an error object (any JSON error, any nesting depth, undecodable bytes); the
echoed question is shortened like the searched one; the output is always JSON any reader accepts
(no NaN, no lone surrogate). The property tests feed arbitrary lines to the real batch loop over the
real engine in-process; the subprocess tests check the same through the command.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli.query import run_batch
from bot.engine import Engine
from tests.conftest import ROOT

QUESTION = "How many Russian air strikes were counted over Idlib and Hama?"


def strict_json(text: str) -> object:
    """Parse as a strict reader would: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def run_lines(engine: Engine, lines: list[bytes]) -> tuple[int, list[dict]]:
    out = io.StringIO()
    status = run_batch(engine, None, lines, out)
    text = out.getvalue()
    text.encode("utf-8")  # writable as UTF-8: no lone surrogates
    objects = [strict_json(line) for line in text.splitlines()]
    assert all(isinstance(o, dict) for o in objects)
    return status, objects  # type: ignore[return-value]


def check_one_per_line(lines: list[bytes], objects: list[dict]) -> None:
    """One object per non-blank line, each an answer or an error."""
    expected = [raw for raw in lines if raw.decode("utf-8", "replace").removeprefix("\ufeff").strip()]
    assert len(objects) == len(expected)
    for obj in objects:
        assert ("error" in obj) != ("answered" in obj), obj
        if "error" in obj:
            assert obj["error"].startswith("line ")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


def encode_value(value: object) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8")


batch_lines = st.one_of(
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" ")),  # anything, undecodable bytes too
    st.text(max_size=200).map(lambda t: t.replace("\n", " ").encode("utf-8", "surrogatepass")),
    json_values.map(encode_value),  # valid JSON that is not a question
    st.builds(
        lambda ident, q: encode_value({"id": ident, "q": q}),
        json_values,
        st.text(max_size=80) | st.sampled_from([QUESTION, "Where is Maasran?", "\ud800 strikes"]),
    ),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),  # nesting at any depth
    st.integers(1, 3000).map(lambda depth: b'{"id": ' + b"[" * depth + b"]" * depth + b', "q": "Idlib?"}'),
    st.sampled_from(
        [
            b'{"id": NaN, "q": "Idlib?"}',
            b'{"id": Infinity, "q": "Idlib?"}',
            b'{"id": -Infinity, "q": "Idlib?"}',
            b'{"id": 1e999, "q": "Idlib?"}',
            b'{"id": ' + b"9" * 5000 + b', "q": "Idlib?"}',
            b'{"id": 1, "q": "\\ud800"}',
            b'{"id": "\\udfff", "q": "Idlib?"}',
            b'\xef\xbb\xbf{"id": 1, "q": "Idlib?"}',
            b'{"id": 1, "q": "Idlib?"',
            b"\xff\xfe{\x00",
        ]
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(batch_lines, min_size=1, max_size=4))
def test_any_batch_lines_give_one_valid_json_object_each(engine: Engine, lines: list[bytes]):
    """Arbitrary lines (bytes, text, JSON, deep nesting, NaN ids): one strictly valid JSON object per line."""
    status, objects = run_lines(engine, [line + b"\n" for line in lines])
    check_one_per_line(lines, objects)
    assert status == (1 if any("error" in o for o in objects) else 0)
    for obj in objects:
        ident = obj.get("id")
        assert not isinstance(ident, float) or math.isfinite(ident)


@pytest.mark.parametrize(
    ("line", "expected_id"),
    [
        (b'{"id": NaN, "q": "Idlib?"}', "NaN"),
        (b'{"id": -Infinity, "q": "Idlib?"}', "-Infinity"),
        (b'{"id": 1e999, "q": "Idlib?"}', "1e999"),
        (b'{"id": [1, {"a": NaN}], "q": "Idlib?"}', [1, {"a": "NaN"}]),
    ],
)
def test_non_finite_ids_come_back_as_their_text(engine: Engine, line: bytes, expected_id: object):
    """An id of NaN, Infinity or a number beyond a float is echoed as its text: valid JSON, still the same id."""
    _, [obj] = run_lines(engine, [line])
    assert obj["id"] == expected_id and "answered" in obj


def test_echoed_question_is_shortened_like_the_searched_one(engine: Engine):
    """A 2 MB question: the echo is the first MAX_QUESTION_CHARS characters searched, with the notice."""
    long_question = QUESTION + " and " + "Idlib " * 350_000
    _, [obj] = run_lines(engine, [json.dumps({"id": "long", "q": long_question}).encode()])
    limit = engine.settings.max_question_chars
    assert obj["notice"] == f"question shortened to its first {limit} characters"
    assert len(obj["question"]) == limit and obj["question"].startswith(QUESTION)
    assert any("Over 40 air strikes" in p["text"] for p in obj["passages"])


@pytest.mark.slow
def test_batch_command_survives_hostile_lines(seed_index: Path, tmp_path: Path):
    """Through the command: undecodable bytes, deep nesting, NaN ids, a 5 MB line, each its own object."""
    lines = [
        b'{"id": NaN, "q": "' + QUESTION.encode() + b'"}',
        b"\xff\xfe not utf-8 \x80",
        b"[" * 100_000,
        b'{"id": 7, "q": "\\ud800 strikes over Idlib"}',
        b'{"id": "big", "q": "' + b"Idlib " * 900_000 + b'"}',
        b'{"id": 9, "q": "Where is Maasran?"}',
    ]
    result = subprocess.run(
        [sys.executable, "scripts/query.py", "--json", "--batch", "--index", str(seed_index)],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert b"Traceback" not in result.stderr, result.stderr
    out = result.stdout.decode("utf-8").splitlines()
    objects = [strict_json(line) for line in out]
    assert [o.get("id") for o in objects] == ["NaN", None, None, 7, "big", 9]
    assert [("error" in o) for o in objects] == [False, True, True, False, False, False]
    assert len(objects[4]["question"]) == 500 and len(out[4]) < 100_000
    assert result.returncode == 1  # some lines were bad
