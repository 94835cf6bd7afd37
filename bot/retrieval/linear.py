"""A logistic regression over standardised, named features, as the fit scripts write it to JSON.

The answer-or-decline decision and the "What did X say?" ranking are both such a model; this is
the one reader of their shared fields and the one place their log-odds are computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class LinearModel:
    """Weights over features standardised by the training mean and scale."""

    version: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    @staticmethod
    def fields(data: dict[str, Any], known: Iterable[str], what: str) -> dict[str, Any]:
        """The shared fields of a model's JSON, checked: every feature it names must be one this code computes."""
        known = set(known)
        unknown = [n for n in data["features"] if n not in known]
        if unknown:
            raise ValueError(f"{what} {data.get('version')} uses unknown features {unknown}")
        return {
            "version": str(data["version"]),
            "features": tuple(data["features"]),
            "mean": tuple(data["mean"]),
            "scale": tuple(data["scale"]),
            "coef": tuple(data["coef"]),
            "intercept": float(data["intercept"]),
        }

    @classmethod
    def from_sklearn(cls, version: str, features: Iterable[str], pipeline: Any) -> LinearModel:
        """What a fit script fitted (scikit-learn's StandardScaler, then LogisticRegression), as it writes it.

        Read by attribute, not imported: the bot itself never needs scikit-learn.
        """
        scaler, lr = pipeline.steps[0][1], pipeline.steps[1][1]

        def rounded(values: Iterable[float]) -> tuple[float, ...]:
            return tuple(round(float(v), 6) for v in values)

        return cls(
            version=version,
            features=tuple(features),
            mean=rounded(scaler.mean_),
            scale=rounded(scaler.scale_),
            coef=rounded(lr.coef_[0]),
            intercept=round(float(lr.intercept_[0]), 6),
        )

    def to_json(self) -> dict[str, Any]:
        """The shared fields as the model files hold them (what `fields` reads back)."""
        return {
            "version": self.version,
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    def weights(self) -> str:
        """The weights, largest first, as the fit scripts print them: `name +1.23, ...`."""
        ranked = sorted(zip(self.features, self.coef, strict=True), key=lambda kv: -abs(kv[1]))
        return ", ".join(f"{k} {v:+.2f}" for k, v in ranked)

    @cached_property
    def _weighed(self) -> tuple[tuple[str, float, float, float], ...]:
        """(name, mean, scale or 1, coefficient) per feature: zipped once, not at every answer."""
        return tuple(zip(self.features, self.mean, [s or 1.0 for s in self.scale], self.coef, strict=True))

    def log_odds(self, values: dict[str, float]) -> float:
        """The model's log-odds for these feature values (a missing feature counts as 0)."""
        z = self.intercept
        get = values.get
        for name, m, s, c in self._weighed:
            z += c * (get(name, 0.0) - m) / s
        return z
