"""`scripts/fit_decision.py --learning-curve`: the decision fitted on shares of the training articles.

The curve is the evidence for "would more labelled questions help?", so it must judge each fold on
articles no model of that fold saw, count near misses and refusals over the labelled rows only, and
report a held-out AUC that tracks how separable the rows really are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.conftest import benchmark_module


def _fit_decision() -> Any:
    return benchmark_module("fit_decision", "scripts")


def _rows(noise: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    """40 articles of 12 questions, a third near misses, one feature = label + noise; 40 off-topic rows."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"a{i}" for i in range(40)], 12)
    y = (rng.random(len(groups)) > 1 / 3).astype(int)
    real = np.ones(len(groups), dtype=bool)
    off_groups = np.array([f"a{i}" for i in range(40)])
    groups = np.concatenate([groups, off_groups])
    y = np.concatenate([y, np.zeros(40, dtype=int)])
    real = np.concatenate([real, np.zeros(40, dtype=bool)])
    x = (y + rng.normal(0, noise, len(y)))[:, None]
    return x, y, groups, np.ones(len(y), dtype=bool), real


def test_a_separable_feature_reads_as_separable_at_every_share() -> None:
    fd = _fit_decision()
    x, y, groups, trainable, real = _rows(noise=0.2)
    curve = fd.learning_curve(x, y, groups, trainable, real, c=1.0, max_refused=0.05, groupings=2)
    assert curve["near_misses"] == int(((y == 0) & real).sum())
    assert curve["answerable"] == int(((y == 1) & real).sum())
    assert [s["share"] for s in curve["shares"]] == list(fd.CURVE_SHARES)
    for share in curve["shares"]:
        assert share["held_out_auc"] > 0.99
        # Off-topic rows are neither near misses nor answerable: only labelled rows are counted.
        assert share["near_misses_declined"] <= curve["near_misses"]
        assert share["near_misses_declined"] > 0.9 * curve["near_misses"]
        assert share["answerable_refused"] <= 0.1 * curve["answerable"]


def test_noise_reads_as_chance() -> None:
    fd = _fit_decision()
    x, y, groups, trainable, real = _rows(noise=0.2)
    x = np.random.default_rng(1).normal(size=x.shape)
    curve = fd.learning_curve(x, y, groups, trainable, real, c=1.0, max_refused=0.05, groupings=2)
    for share in curve["shares"]:
        assert 0.35 < share["held_out_auc"] < 0.65
        assert share["near_misses_declined"] < 0.3 * curve["near_misses"]
