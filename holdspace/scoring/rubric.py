"""Deterministic rubric scores: 1-5 per applicable dimension from the moves a reply makes and the moment.

Each dimension's score is a small linear model over interpretable features (which moves were made, how
they fit the moment) fitted to the calibration labels, starting from the rubric's own positive and
negative moves, then rounded and clipped to 1-5. The weights ship in `artifacts/score_model.json`; when it
is missing, the rubric prior alone is used (so scoring never needs training to run).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from holdspace.content.models import DIMENSIONS, MOVE_LABELS, Rubric
from holdspace.engine.types import Move
from holdspace.scoring.situation import TAGS, Moment
from holdspace.settings import get_settings

log = logging.getLogger(__name__)

SCORE_ARTIFACT = Path(__file__).with_name("artifacts") / "score_model.json"
SCORE_FORMAT = 1


@lru_cache(maxsize=4)
def _rubric_at(path: str) -> Rubric | None:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Rubric.model_validate(raw)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        log.warning("rubric unavailable (%s); scoring from built-in move lists", exc)
        return None


def load_rubric() -> Rubric | None:
    """evaluation/rubric.yaml under the configured content folder (validated), or None."""
    return _rubric_at(str(get_settings().content_dir / "evaluation" / "rubric.yaml"))


# When the rubric file cannot be read, these stand in for its positive/negative move lists.
_FALLBACK_MOVES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "safety": (("ground_rules", "safety_check", "de_escalation", "reflection", "affirmation"), ("judgment",)),
    "empathy": (("reflection", "affirmation", "self_disclosure", "summary"), ("judgment", "advice")),
    "questioning": (("open_question", "reflection", "invite"), ("closed_question", "advice", "judgment")),
    "participation": (("invite", "summary", "redirect", "open_question"), ("judgment",)),
    "focus": (("redirect", "summary", "ground_rules"), ("judgment",)),
    "crisis": (("safety_check", "referral", "de_escalation", "reflection"), ("judgment", "advice")),
    "peer_stance": (("self_disclosure", "reflection", "open_question", "affirmation"), ("advice", "judgment")),
}


def move_lists(dim: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    rubric = load_rubric()
    if rubric is None:
        return _FALLBACK_MOVES[dim]
    d = rubric.dimension(dim)
    return tuple(d.positive_moves), tuple(d.negative_moves)


# ----------------------------------------------------------------------------------------------- features
SCORE_FEATURES: tuple[str, ...] = (
    *(f"move:{m}" for m in MOVE_LABELS if m != "other"),
    "complex_reflection",
    "only_closed",
    "many_closed",
    "question_stack",
    "long_reply",
    "long_self_disclosure",
    "rubric_pos",
    "rubric_neg",
    *(f"tag:{t}" for t in TAGS),
    "unmet_risk",
    "unmet_disclosure",
    "unmet_monologue",
    "unmet_anger",
    "advice_after_disclosure",
    "ack_then_support",
)
_IDX = {name: i for i, name in enumerate(SCORE_FEATURES)}


@dataclass(frozen=True)
class ReplyShape:
    """What the score needs to know about the reply beyond its moves."""

    n_questions: int = 0
    n_closed: int = 0
    n_sentences: int = 1
    n_words: int = 0


def score_features(dim: str, moves: Sequence[Move], moment: Moment, shape: ReplyShape) -> np.ndarray:
    labels = {m.label for m in moves}
    v = np.zeros(len(SCORE_FEATURES), np.float32)
    for label in labels:
        if f"move:{label}" in _IDX:
            v[_IDX[f"move:{label}"]] = 1.0
    refl = next((m for m in moves if m.label == "reflection"), None)
    v[_IDX["complex_reflection"]] = 1.0 if refl is not None and refl.depth == "complex" else 0.0
    v[_IDX["only_closed"]] = 1.0 if "closed_question" in labels and "open_question" not in labels else 0.0
    v[_IDX["many_closed"]] = 1.0 if shape.n_closed >= 2 else 0.0
    v[_IDX["question_stack"]] = 1.0 if shape.n_questions >= 3 else 0.0
    v[_IDX["long_reply"]] = min(1.0, max(0.0, (shape.n_words - 60) / 120))
    v[_IDX["long_self_disclosure"]] = 1.0 if "self_disclosure" in labels and shape.n_words >= 60 else 0.0
    pos, neg = move_lists(dim)
    v[_IDX["rubric_pos"]] = min(3, len(labels & set(pos)))
    v[_IDX["rubric_neg"]] = min(2, len(labels & set(neg)))
    for tag in moment.tags:
        v[_IDX[f"tag:{tag}"]] = 1.0
    ack = bool(labels & {"reflection", "affirmation", "summary"})
    v[_IDX["unmet_risk"]] = 1.0 if moment.has("risk") and not labels & {"safety_check", "referral"} else 0.0
    v[_IDX["unmet_disclosure"]] = 1.0 if moment.has("disclosure", "distress") and not ack else 0.0
    v[_IDX["unmet_monologue"]] = 1.0 if moment.has("monologue") and not labels & {"redirect", "invite"} else 0.0
    v[_IDX["unmet_anger"]] = (
        1.0 if moment.has("anger") and not labels & {"de_escalation", "ground_rules", "reflection"} else 0.0
    )
    v[_IDX["advice_after_disclosure"]] = 1.0 if moment.has("disclosure", "distress") and "advice" in labels else 0.0
    v[_IDX["ack_then_support"]] = (
        1.0 if ack and labels & {"open_question", "referral", "safety_check", "invite"} else 0.0
    )
    return v


def prior_score(dim: str, moves: Sequence[Move], moment: Moment, shape: ReplyShape) -> float:
    """The rubric's own reading, before calibration: 3, up for each positive move, down for each negative,
    and down when the moment's need went unmet."""
    f = score_features(dim, moves, moment, shape)
    score = 3.0 + 0.7 * f[_IDX["rubric_pos"]] - 1.3 * f[_IDX["rubric_neg"]]
    if "judgment" in {m.label for m in moves}:
        score = min(score, 1.5)
    if dim == "crisis":
        score -= 1.2 * f[_IDX["unmet_risk"]] + 0.6 * f[_IDX["unmet_anger"]]
    if dim == "empathy":
        score -= 0.8 * f[_IDX["unmet_disclosure"]]
        score += 0.5 * f[_IDX["complex_reflection"]]
    if dim in ("participation", "focus"):
        score -= 1.0 * f[_IDX["unmet_monologue"]]
    if dim == "questioning":
        score -= 0.5 * f[_IDX["many_closed"]] + 0.5 * f[_IDX["question_stack"]]
    if dim == "peer_stance":
        score -= 1.0 * f[_IDX["long_self_disclosure"]]
    return float(np.clip(score, 1.0, 5.0))


@dataclass
class ScoreModel:
    """Per-dimension linear weights over SCORE_FEATURES plus the prior."""

    weights: dict[str, np.ndarray]
    bias: dict[str, float]
    prior_weight: dict[str, float]

    def predict(self, dim: str, moves: Sequence[Move], moment: Moment, shape: ReplyShape) -> float:
        prior = prior_score(dim, moves, moment, shape)
        if dim not in self.weights:
            return prior
        f = score_features(dim, moves, moment, shape)
        return float(self.bias[dim] + self.prior_weight[dim] * prior + f @ self.weights[dim])

    def to_json(self) -> dict:
        return {
            "format": SCORE_FORMAT,
            "features": list(SCORE_FEATURES),
            "dimensions": {
                d: {
                    "bias": round(self.bias[d], 5),
                    "prior": round(self.prior_weight[d], 5),
                    "weights": {
                        n: round(float(w), 5)
                        for n, w in zip(SCORE_FEATURES, self.weights[d], strict=True)
                        if abs(w) >= 1e-5
                    },
                }
                for d in sorted(self.weights)
            },
        }

    @classmethod
    def from_json(cls, raw: dict) -> ScoreModel:
        if raw.get("format") != SCORE_FORMAT:
            raise ValueError("score model format mismatch")
        weights, bias, prior = {}, {}, {}
        for d, spec in raw["dimensions"].items():
            if d not in DIMENSIONS:
                raise ValueError(f"unknown dimension {d}")
            w = np.zeros(len(SCORE_FEATURES), np.float32)
            for name, value in spec["weights"].items():
                if name not in _IDX:
                    raise ValueError(f"score feature {name} unknown to this version")
                w[_IDX[name]] = value
            weights[d], bias[d], prior[d] = w, float(spec["bias"]), float(spec["prior"])
        return cls(weights, bias, prior)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")


def prior_only() -> ScoreModel:
    return ScoreModel({}, {}, {})


@lru_cache(maxsize=1)
def load_score_model() -> ScoreModel:
    try:
        return ScoreModel.from_json(json.loads(SCORE_ARTIFACT.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("score model unavailable (%s); using the rubric prior", exc)
        return prior_only()


def fit_score_model(
    rows: Sequence[tuple[str, Sequence[Move], Moment, ReplyShape, int]], alpha: float = 3.0
) -> ScoreModel:
    """Ridge regression per dimension on (features, prior) -> human score. `rows` are (dim, moves, moment,
    shape, score). The prior enters unpenalised-ish as a feature so the rubric's reading is the default."""
    from sklearn.linear_model import Ridge

    weights, bias, prior = {}, {}, {}
    for dim in DIMENSIONS:
        data = [r for r in rows if r[0] == dim]
        if len(data) < 20:
            continue
        X = np.stack(
            [
                np.concatenate([[prior_score(dim, m, mo, sh) * 3.0], score_features(dim, m, mo, sh)])
                for _, m, mo, sh, _ in data
            ]
        )
        y = np.array([r[4] for r in data], dtype=np.float32)
        model = Ridge(alpha=alpha)
        model.fit(X, y)
        prior[dim] = float(model.coef_[0] * 3.0)
        weights[dim] = model.coef_[1:].astype(np.float32)
        bias[dim] = float(model.intercept_)
    return ScoreModel(weights, bias, prior)


def capped(dim: str, value: int, moves: Sequence[Move], moment: Moment) -> int:
    """The rubric's score-1 anchors as hard limits: a reply that judges, leaves a risk unasked or lets a
    monologue run cannot score well on the dimension it fails, whatever else it does."""
    labels = {m.label for m in moves}
    limit = 5
    if "judgment" in labels and dim in ("empathy", "peer_stance", "safety"):
        limit = 2
    if dim == "crisis" and moment.has("risk") and not labels & {"safety_check", "referral"}:
        limit = 2
    steering = {"redirect", "invite", "summary", "open_question", "closed_question", "ground_rules"}
    if dim in ("participation", "focus") and moment.has("monologue") and not labels & steering:
        limit = 2  # nothing in the reply steers or hands over: the monologue simply runs on
    if (
        dim == "empathy"
        and moment.has("disclosure", "distress")
        and "advice" in labels
        and not labels & {"reflection", "affirmation"}
    ):
        limit = min(limit, 3)
    return min(value, limit)


def to_score(value: float) -> int:
    return int(np.clip(np.floor(value + 0.5), 1, 5))
