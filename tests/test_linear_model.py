"""The fit scripts' model files and the bot's reader of them agree (`bot/retrieval/linear.py`).

`scripts/fit_decision.py` and `scripts/fit_speaker_rank.py` write a scikit-learn pipeline with
`LinearModel.from_sklearn(...).to_json()`; the bot reads it back with plain Python. A field
written under another name, or standardised differently, would make every decision wrong.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bot.retrieval.linear import LinearModel

FEATURES = ("overlap", "rank", "speaker")


def test_a_written_model_reads_back_with_the_pipelines_log_odds() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal([0.5, 3.0, 10.0], [0.2, 2.0, 5.0], size=(200, 3))
    y = (x[:, 0] * 4 - x[:, 1] * 0.5 + rng.normal(0, 0.5, 200) > 0.5).astype(int)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=1.0)).fit(x, y)

    written = LinearModel.from_sklearn("test-1", FEATURES, pipeline).to_json()
    model = LinearModel(**LinearModel.fields(written, FEATURES, "test model"))

    expected = pipeline.decision_function(x[:20])
    got = [model.log_odds(dict(zip(FEATURES, row.tolist(), strict=True))) for row in x[:20]]
    assert np.allclose(got, expected, atol=1e-3)
    strongest = FEATURES[int(np.argmax(np.abs(pipeline[-1].coef_[0])))]
    assert model.weights().split(", ")[0].startswith(f"{strongest} ")  # the strongest weight first
