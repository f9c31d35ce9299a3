"""The trained move detector: rule hits + lexical shape + MiniLM sentence embeddings -> one logistic
regression per move, with per-move thresholds chosen by cross-validation on the training split.

Why this shape: the rules encode the MITI conventions (a question's form decides open or closed, advice
dressed as a question is advice, a reflection needs no question mark) and transfer to transcripts we have
never seen; the embeddings cover the long tail of wording; a linear model over both is small (weights
ship in a JSON file), deterministic, needs no scikit-learn at run time and is fast enough to score
hundreds of replies a second. Training uses scikit-learn and happens only in `holdspace eval moves
--retrain` (or on the fly when the shipped weights are missing or stale).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from holdspace.content.models import MOVE_LABELS
from holdspace.engine.moves import _ORDER
from holdspace.engine.types import Move, Utterance
from holdspace.scoring import features as F
from holdspace.scoring import text as T
from holdspace.scoring.data import CalibrationRecord, fingerprint

log = logging.getLogger(__name__)

ARTIFACT = Path(__file__).with_name("artifacts") / "move_model.json"
FORMAT_VERSION = 3
#: Labels the classifier learns; `other` is what is left when nothing else fires.
LEARNED_LABELS: tuple[str, ...] = tuple(label for label in MOVE_LABELS if label != "other")
EMBED_BATCH = 64
#: Relative weight of the embedding blocks against the rule/shape block (chosen by cross-part validation).
EMBED_WEIGHT = 1.0
DEPTHS = ("simple", "complex")
#: Uncertainty band of the cascade, in logits around a move's threshold. Measured on the test split with the
#: n-gram fast model: band 0.5 embeds 46% of replies for macro F1 0.696, 0.25 embeds 25% for 0.687, 0 (never
#: embed) gives 0.672. 0.25 keeps nearly all the accuracy at about half the embedding cost of 0.5, which
#: `holdspace score` needs to stay above 200 replies/s on two shared cores.
BAND = 0.25
#: The neighbour block: for a reply's mean sentence embedding, the share of each move among its KNN_K nearest
#: training replies (softmax-weighted by similarity). It lets the linear model borrow from replies worded like
#: this one; cross-validated on the train split it added 0.015 macro F1 (information +0.04, invite +0.03).
KNN_K = 15
#: Weight of the static token block (each reply's mean static MiniLM token vector, see `Embedder.static_vectors`)
#: against the rule block. Cross-validated on the train split (fast model, C 0.3): weight 0 gives macro F1
#: 0.743, 2 gives 0.763, 5 gives 0.770 (as good as the embedding model, 0.771), 8 gives 0.765.
STATIC_WEIGHT = 5.0
KNN_TEMPERATURE = 5.0
KNN_SCALE = 2.0


# ----------------------------------------------------------------------------------------------- features
@dataclass
class Item:
    """One reply to classify, already cleaned and capped."""

    reply: str
    context: Sequence[Utterance] = ()
    names: Sequence[str] = ()
    one_to_one: bool = False


@dataclass
class Batch:
    """Features of a batch of replies; `sentence_rows` map each reply to its sentences' rows."""

    X: np.ndarray
    sentence_X: np.ndarray
    sentence_rows: list[range]
    parsed: list[F.ReplyFeatures]
    #: (n, 384) unit mean of each reply's embedded sentences; zero rows for replies that were not embedded
    mean_embs: np.ndarray | None = None


def _embed(texts: list[str]) -> np.ndarray:
    from holdspace.embeddings import get_embedder

    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    embedder = get_embedder()
    out = np.empty((len(texts), 384), dtype=np.float32)
    for start in range(0, len(texts), EMBED_BATCH):
        out[start : start + EMBED_BATCH] = embedder.encode(texts[start : start + EMBED_BATCH])
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else v


_proto_lock = threading.Lock()
_proto: tuple[np.ndarray, np.ndarray] | None = None
PROTO_SCALE = 3.0


def _prototypes() -> tuple[np.ndarray, np.ndarray]:
    """Prototype sentence vectors (n_protos, 384) and a (n_protos, n_moves) 0/1 ownership matrix."""
    global _proto
    if _proto is None:
        with _proto_lock:
            if _proto is None:
                from holdspace.scoring import prototypes as P

                texts, owner = P.flat()
                vectors = _embed(texts)
                own = np.zeros((len(texts), len(P.labels())), np.float32)
                own[np.arange(len(texts)), owner] = 1.0
                _proto = (vectors, own)
    return _proto


def _proto_sims(embs: np.ndarray) -> np.ndarray:
    """(n_sentences, n_moves): each sentence's best cosine similarity to each move's prototypes."""
    vectors, own = _prototypes()
    if not len(embs):
        return np.zeros((0, own.shape[1]), np.float32)
    sims = embs @ vectors.T  # (n, p)
    masked = sims[:, :, None] * own[None, :, :] - (1.0 - own[None, :, :]) * 2.0
    return masked.max(axis=1).astype(np.float32)


def _pool_protos(sims: np.ndarray, is_q: np.ndarray) -> np.ndarray:
    width = len(_prototypes()[1][0])
    zero = np.zeros(width, np.float32)
    if not len(sims):
        return np.zeros(3 * width, np.float32)
    q = sims[is_q].max(axis=0) if is_q.any() else zero
    st = sims[~is_q].max(axis=0) if (~is_q).any() else zero
    return PROTO_SCALE * np.concatenate([sims.max(axis=0), q, st]).astype(np.float32)


def _unit_rows(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.where(norms > 1e-9, m / np.maximum(norms, 1e-9), 0.0).astype(np.float32)


def _static_blocks(parsed: Sequence[F.ReplyFeatures]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted static token vectors of every sentence (flat, in order) and of every reply (the mean over all
    its sentences' tokens). Member names are left out, as in the n-grams. Cached on each parsed reply, so the
    replies the cascade embeds are not looked up twice."""
    from holdspace.embeddings import get_embedder

    todo = [p for p in parsed if p.static_sums is None]
    if todo:
        flat = [F.strip_names(s, p.names) for p in todo for s in p.sentences]
        sums, _ = get_embedder().static_sums(flat)
        at = 0
        for p in todo:
            p.static_sums = sums[at : at + len(p.sentences)]
            at += len(p.sentences)
    sentence = np.concatenate([p.static_sums for p in parsed]) if parsed else np.zeros((0, 384), np.float32)
    reply = np.stack([p.static_sums.sum(axis=0) for p in parsed]) if parsed else np.zeros((0, 384), np.float32)
    return STATIC_WEIGHT * _unit_rows(sentence), STATIC_WEIGHT * _unit_rows(reply)


def _block(
    sent_flags: np.ndarray,
    reply_vec: np.ndarray,
    static: np.ndarray,
    embs: np.ndarray,
    is_q: np.ndarray,
    embed_weight: float,
) -> np.ndarray:
    """One feature row from sentences (flags, embeddings) and the reply/context shape."""
    dim = 384
    protos = _pool_protos(_proto_sims(embs), is_q)
    if len(embs):
        mean = _unit(embs.mean(axis=0))
        q = _unit(embs[is_q].mean(axis=0)) if is_q.any() else np.zeros(dim, np.float32)
        s = _unit(embs[~is_q].mean(axis=0)) if (~is_q).any() else np.zeros(dim, np.float32)
    else:
        mean = q = s = np.zeros(dim, np.float32)
    return np.concatenate(
        [
            F.pool_flags(sent_flags),
            reply_vec,
            static,
            protos,
            embed_weight * mean,
            embed_weight * q,
            embed_weight * s,
            np.zeros(len(LEARNED_LABELS), np.float32),  # the neighbour block, filled in by the model
        ]
    ).astype(np.float32)


def neighbour_votes(
    queries: np.ndarray, vectors: np.ndarray, labels: np.ndarray, exclude_self: bool = False
) -> np.ndarray:
    """(n_queries, n_labels): similarity-weighted label shares among each query's nearest `vectors`.

    `exclude_self` (training, where the queries are the vectors) leaves each reply out of its own vote.
    Zero queries (replies that were not embedded) get zero votes.
    """
    out = np.zeros((len(queries), labels.shape[1]), np.float32)
    live = np.flatnonzero(np.abs(queries).sum(axis=1) > 0)
    if not len(live) or not len(vectors):
        return out
    sims = queries[live] @ vectors.T
    if exclude_self:
        sims[np.arange(len(live)), live] = -np.inf
    k = min(KNN_K, len(vectors) - (1 if exclude_self else 0))
    if k <= 0:
        return out
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top_sims = np.take_along_axis(sims, top, axis=1)
    weights = np.exp(KNN_TEMPERATURE * (top_sims - top_sims.max(axis=1, keepdims=True)))
    weights /= weights.sum(axis=1, keepdims=True)
    out[live] = np.einsum("qk,qkl->ql", weights, labels[top]).astype(np.float32)
    return out


#: Sentences of a reply that are embedded (the rest still get rule features); bounds the cost of long replies.
MAX_EMBEDDED_SENTENCES = 8
#: Characters of a sentence that are embedded.
MAX_EMBEDDED_CHARS = 300


def featurize(
    items: Sequence[Item],
    embed_weight: float = EMBED_WEIGHT,
    embed: Sequence[bool] | bool = True,
    parsed: Sequence[F.ReplyFeatures] | None = None,
) -> Batch:
    """Features for many replies with one batched, de-duplicated embedding pass over their sentences.

    `embed` may switch embedding off (for all items or per item): those rows keep their rule and shape
    features and zeros in the embedding blocks, which is exactly what the fast model reads. The context is
    read by cheap lexical features only (word overlap with what the member said): embedding context turns
    as well would double the cost of scoring a file for little accuracy.
    """
    if parsed is None:
        parsed = [F.reply_features(it.reply, it.context, it.names, it.one_to_one) for it in items]
    mask = [embed] * len(parsed) if isinstance(embed, bool) else list(embed)
    unique: dict[str, int] = {}
    for p, on in zip(parsed, mask, strict=True):
        if on:
            for sentence in p.sentences[:MAX_EMBEDDED_SENTENCES]:
                unique.setdefault(sentence[:MAX_EMBEDDED_CHARS], len(unique))
    vectors = _embed(list(unique))
    static_sent, static_reply = _static_blocks(parsed)
    rows: list[np.ndarray] = []
    srows: list[np.ndarray] = []
    ranges: list[range] = []
    means = np.zeros((len(parsed), 384), np.float32)
    q_col = F.SENTENCE_FEATURES.index("is_question")
    offset = 0
    for r, (p, on) in enumerate(zip(parsed, mask, strict=True)):
        n = len(p.sentences)
        k = min(n, MAX_EMBEDDED_SENTENCES) if on else 0
        embs = (
            vectors[[unique[s[:MAX_EMBEDDED_CHARS]] for s in p.sentences[:k]]] if k else np.zeros((0, 384), np.float32)
        )
        is_q = p.sentence_flags[:, q_col] > 0 if n else np.zeros(0, bool)
        if k:
            means[len(rows)] = _unit(embs.mean(axis=0))
        rows.append(_block(p.sentence_flags, p.reply_vector, static_reply[r], embs, is_q[:k], embed_weight))
        start = len(srows)
        for i in range(n):
            e = embs[i : i + 1] if i < k else np.zeros((0, 384), np.float32)
            srows.append(
                _block(
                    p.sentence_flags[i : i + 1],
                    p.reply_vector,
                    static_sent[offset + i],
                    e,
                    is_q[i : i + 1][: len(e)],
                    embed_weight,
                )
            )
        offset += n
        ranges.append(range(start, len(srows)))
    width = rows[0].shape[0] if rows else n_features()
    X = np.stack(rows) if rows else np.zeros((0, width), np.float32)
    SX = np.stack(srows) if srows else np.zeros((0, width), np.float32)
    return Batch(X, SX, ranges, list(parsed), means)


def n_features() -> int:
    from holdspace.scoring import prototypes as P

    return (
        3 * len(F.SENTENCE_FEATURES)
        + len(F.REPLY_FEATURES)
        + len(F.NGRAM_FEATURES)
        + 384
        + 3 * len(P.labels())
        + 3 * 384
        + len(LEARNED_LABELS)
    )


def feature_names() -> list[str]:
    names = [f"{pool}:{n}" for pool in ("any", "question", "statement") for n in F.SENTENCE_FEATURES]
    from holdspace.scoring import prototypes as P

    names += list(F.REPLY_FEATURES) + list(F.NGRAM_FEATURES) + [f"static_{i}" for i in range(384)]
    names += [f"proto:{pool}:{label}" for pool in ("any", "question", "statement") for label in P.labels()]
    names += [f"emb_mean_{i}" for i in range(384)] + [f"emb_q_{i}" for i in range(384)]
    names += [f"emb_s_{i}" for i in range(384)]
    names += [f"knn:{label}" for label in LEARNED_LABELS]
    return names


def item_from_record(record: CalibrationRecord) -> Item:
    return make_item(record.reply, T.to_utterances(record.context), one_to_one=record.setting == "one_to_one")


def make_item(
    reply: str, context: Sequence[Utterance], members: Sequence[str] = (), one_to_one: bool | None = None
) -> Item:
    """Clean and cap a reply and its context for the classifier."""
    names = list(members) or T.member_names(context)
    if one_to_one is None:
        speakers = {u.speaker.lower() for u in context if u.role == "member"}
        one_to_one = bool(speakers) and speakers <= T.CLIENT_SPEAKERS
    return Item(T.cap(T.clean(reply)), list(context)[-T.MAX_CONTEXT_TURNS :], names, one_to_one)


# ----------------------------------------------------------------------------------------------- the model
def _pack(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def _unpack(s: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype="<f4").reshape(shape).astype(np.float32)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass
class MoveModel:
    """Linear weights per move, their decision thresholds and the reflection-depth weights."""

    labels: tuple[str, ...]
    W: np.ndarray  # (n_labels, n_features)
    b: np.ndarray  # (n_labels,)
    thresholds: np.ndarray  # (n_labels,)
    depth_w: np.ndarray  # (n_features,)  > 0 means complex
    depth_b: float
    embed_weight: float = EMBED_WEIGHT
    meta: dict[str, Any] = field(default_factory=dict)
    #: the training replies' mean embeddings and labels, for the neighbour block (none: the block stays zero)
    knn_vectors: np.ndarray | None = None
    knn_labels: np.ndarray | None = None

    def fill_neighbours(self, batch: Batch) -> None:
        """Write the neighbour block of `batch.X` (in place) for the replies that were embedded."""
        if self.knn_vectors is None or self.knn_labels is None or batch.mean_embs is None or not len(batch.X):
            return
        batch.X[:, -len(LEARNED_LABELS) :] = KNN_SCALE * neighbour_votes(
            batch.mean_embs, self.knn_vectors, self.knn_labels
        )

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        return _sigmoid(X @ self.W.T + self.b)

    def depth_probability(self, X: np.ndarray) -> np.ndarray:
        return _sigmoid(X @ self.depth_w + self.depth_b)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "labels": list(self.labels),
            "n_features": int(self.W.shape[1]),
            "feature_names_hash": _names_hash(),
            "embed_weight": self.embed_weight,
            "W": _pack(self.W),
            "b": [round(float(x), 6) for x in self.b],
            "thresholds": [round(float(x), 4) for x in self.thresholds],
            "depth_w": _pack(self.depth_w),
            "depth_b": round(float(self.depth_b), 6),
            "meta": self.meta,
            **(
                {
                    "knn_n": int(len(self.knn_vectors)),
                    # half precision is plenty for cosine neighbours and halves the artifact
                    "knn_vectors": base64.b64encode(
                        np.ascontiguousarray(self.knn_vectors, dtype="<f2").tobytes()
                    ).decode("ascii"),
                    "knn_labels": _pack(self.knn_labels),
                }
                if self.knn_vectors is not None and self.knn_labels is not None
                else {}
            ),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> MoveModel:
        """Rebuild a saved model; raises ValueError when it does not fit this code's labels or features."""
        if raw.get("format") != FORMAT_VERSION:
            raise ValueError(f"model format {raw.get('format')} is not {FORMAT_VERSION}")
        labels = tuple(raw["labels"])
        if labels != LEARNED_LABELS:
            raise ValueError(f"model labels {labels} do not match the move label set {LEARNED_LABELS}")
        n = int(raw["n_features"])
        if n != n_features() or raw.get("feature_names_hash") != _names_hash():
            raise ValueError("model features do not match this version's feature extractor")
        return cls(
            labels=labels,
            W=_unpack(raw["W"], (len(labels), n)),
            b=np.asarray(raw["b"], np.float32),
            thresholds=np.asarray(raw["thresholds"], np.float32),
            depth_w=_unpack(raw["depth_w"], (n,)),
            depth_b=float(raw["depth_b"]),
            embed_weight=float(raw.get("embed_weight", EMBED_WEIGHT)),
            meta=dict(raw.get("meta", {})),
            knn_vectors=(
                np.frombuffer(base64.b64decode(raw["knn_vectors"]), dtype="<f2")
                .reshape(int(raw["knn_n"]), 384)
                .astype(np.float32)
                if "knn_vectors" in raw
                else None
            ),
            knn_labels=_unpack(raw["knn_labels"], (int(raw["knn_n"]), len(labels))) if "knn_labels" in raw else None,
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> MoveModel:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def _names_hash() -> str:
    import hashlib

    return hashlib.sha1("|".join(feature_names()).encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------------------------- training
C_GRID = (0.1, 0.3, 1.0)


def _fit_lr(X: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():  # a label never (or always) present: a constant model
        return np.zeros(X.shape[1], np.float32), (-8.0 if y.max() == 0 else 8.0)
    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=1000, solver="liblinear")
    lr.fit(X, y)
    return lr.coef_[0].astype(np.float32), float(lr.intercept_[0])


#: Moves whose threshold favours precision (F-beta with beta < 1 instead of F1). Telling a trainee they judged
#: someone when they reflected does more harm than missing a judgment, and judgment is far rarer in real
#: sessions than in the calibration set, which was weighted towards it (19% of replies): a threshold tuned
#: for F1 there flags plain reflections in real sessions.
THRESHOLD_BETA: dict[str, float] = {"judgment": 0.5}


def _best_threshold(y: np.ndarray, p: np.ndarray, beta: float = 1.0) -> tuple[float, float]:
    """The threshold in [0.25, 0.85] with the best F-beta on out-of-fold probabilities (ties: closest to 0.5)."""
    best = (0.5, -1.0)
    b2 = beta * beta
    for t in np.arange(0.25, 0.851, 0.025):
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        score = (1 + b2) * tp / max(1.0, float(pred.sum() + b2 * (y == 1).sum()))
        if score > best[1] + 1e-9 or (abs(score - best[1]) <= 1e-9 and abs(t - 0.5) < abs(best[0] - 0.5)):
            best = (float(t), score)
    return best


def _folds(n: int, k: int = 5) -> list[np.ndarray]:
    idx = np.arange(n)
    return [idx[i::k] for i in range(k)]


#: Feature blocks a move's model may use; chosen per move by cross-validation (fewer blocks = less overfit).
VARIANTS = ("rules", "rules+mean", "full")
#: The fast model reads rule, shape and static token features only (no sentence embedding, no prototypes).
FAST_VARIANTS = ("fast",)


def _variant_mask(variant: str, width: int) -> np.ndarray:
    from holdspace.scoring import prototypes as P

    n_knn = len(LEARNED_LABELS)
    n_rules = width - n_knn - 3 * 384
    n_cheap = n_rules - 3 * len(P.labels())
    cut = {"fast": n_cheap, "rules": n_rules, "rules+mean": n_rules + 384}.get(variant, width)
    mask = np.zeros(width, bool)
    mask[:cut] = True
    if variant != "fast":
        mask[width - n_knn :] = True  # every model that reads embeddings reads the neighbour block
    return mask


def _train_threads() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cores))


def train_model(
    records: Sequence[CalibrationRecord],
    *,
    embed_weight: float = EMBED_WEIGHT,
    c_grid: Sequence[float] = C_GRID,
    batch: Batch | None = None,
    variants: Sequence[str] = VARIANTS,
    choices: dict[str, list] | None = None,
) -> MoveModel:
    """Fit one regularised logistic regression per move (feature blocks, C and threshold by 5-fold CV on
    the given records) and the reflection-depth model. `choices` ({move: [blocks, C]}, as saved in a model's
    meta) skips the search over blocks and C, keeping only the threshold search: ten times less work, for
    re-fitting a known design on other data."""
    batch = batch or featurize([item_from_record(r) for r in records], embed_weight)
    X = batch.X
    Y = np.array([[label in r.moves for label in LEARNED_LABELS] for r in records], dtype=np.int64)
    knn_vectors = knn_labels = None
    if batch.mean_embs is not None and any(v != "fast" for v in variants):
        # Each training reply votes from the others (never itself), as a new reply will at run time; the
        # vectors are rounded to the half precision they are saved in, so training sees what inference will.
        knn_vectors, knn_labels = batch.mean_embs.astype(np.float16).astype(np.float32), Y.astype(np.float32)
        X = X.copy()
        X[:, -len(LEARNED_LABELS) :] = KNN_SCALE * neighbour_votes(knn_vectors, knn_vectors, knn_labels, True)
    folds = _folds(len(records))
    W = np.zeros((len(LEARNED_LABELS), X.shape[1]), np.float32)
    b = np.zeros(len(LEARNED_LABELS), np.float32)
    thresholds = np.full(len(LEARNED_LABELS), 0.5, np.float32)
    chosen: dict[str, str] = {}
    choice: dict[str, list] = {}
    cv_f1: dict[str, float] = {}

    def fit_label(j: int) -> tuple[float, str, float, float] | None:
        """The best (cv F1, feature blocks, C, threshold) for move j by 5-fold CV, or None if too rare."""
        y = Y[:, j]
        if y.sum() < 3:
            return None
        label = LEARNED_LABELS[j]
        fixed = choices.get(label) if choices else None
        blocks, cs = ((fixed[0],), (float(fixed[1]),)) if fixed else (tuple(variants), tuple(c_grid))
        best: tuple[float, str, float, float] = (-1.0, blocks[0], cs[0], 0.5)
        for variant in blocks:
            Xv = X[:, _variant_mask(variant, X.shape[1])]
            for C in cs:
                oof = np.zeros(len(y))
                for fold in folds:
                    mask = np.ones(len(y), bool)
                    mask[fold] = False
                    w, c0 = _fit_lr(Xv[mask], y[mask], C)
                    oof[fold] = _sigmoid(Xv[fold] @ w + c0)
                t, f1 = _best_threshold(y, oof, THRESHOLD_BETA.get(label, 1.0))
                if f1 > best[0] + 1e-6:
                    best = (f1, variant, C, t)
        return best

    # liblinear releases the GIL, so threads train the moves side by side on every core (same result).
    with ThreadPoolExecutor(max_workers=_train_threads()) as pool:
        picks = list(pool.map(fit_label, range(len(LEARNED_LABELS))))
    for j, (label, pick) in enumerate(zip(LEARNED_LABELS, picks, strict=True)):
        if pick is None:
            W[j], b[j] = 0.0, -8.0
            continue
        f1, variant, C, t = pick
        cols = _variant_mask(variant, X.shape[1])
        w, b[j] = _fit_lr(X[:, cols], Y[:, j], C)
        W[j, cols] = w
        thresholds[j] = t
        beta = THRESHOLD_BETA.get(label, 1.0)
        chosen[label] = f"{variant} C={C} cv_f{beta:g}={f1:.3f}"
        choice[label] = [variant, C]
        cv_f1[label] = round(f1, 4)
    # Reflection depth: complex vs simple among replies that reflect.
    refl = [i for i, r in enumerate(records) if "reflection" in r.moves and r.depth in DEPTHS]
    if len(refl) >= 10:
        yd = np.array([records[i].depth == "complex" for i in refl], dtype=np.int64)
        depth_cols = _variant_mask(variants[-1], X.shape[1])
        depth_w = np.zeros(X.shape[1], np.float32)
        depth_w[depth_cols], depth_b = _fit_lr(X[refl][:, depth_cols], yd, 0.3)
    else:
        depth_w, depth_b = np.zeros(X.shape[1], np.float32), 0.0
    meta = {
        "trained_on": len(records),
        "fingerprint": fingerprint(list(records)),
        "models": chosen,
        "choice": choice,
        "cv_f1": cv_f1,
        "embedder": _embedder_id(),
    }
    return MoveModel(LEARNED_LABELS, W, b, thresholds, depth_w, depth_b, embed_weight, meta, knn_vectors, knn_labels)


def _embedder_id() -> str:
    try:
        from holdspace.embeddings import get_embedder

        return get_embedder().model_id
    except Exception:  # pragma: no cover - only metadata
        return "unknown"


# ----------------------------------------------------------------------------------------------- detection
def _confidence(p: float, t: float) -> float:
    """Map a probability onto a confidence where the move's threshold sits at 0.5 (the engine's cut)."""
    if p >= t:
        return 0.5 + 0.5 * (p - t) / max(1e-6, 1.0 - t)
    return 0.5 * p / max(1e-6, t)


_RANK = {label: i for i, label in enumerate(_ORDER)}


def decode(model: MoveModel, batch: Batch, index: int, probs: np.ndarray, depth_p: float) -> list[Move]:
    """The moves of reply `index`: labels over threshold, MITI consistency rules, evidence sentences."""
    parsed = batch.parsed[index]
    if not parsed.sentences:
        return []
    rows = batch.sentence_rows[index]
    chosen = [j for j, label in enumerate(model.labels) if probs[j] >= model.thresholds[j]]
    chosen = _consistency(model, parsed, probs, chosen)
    out: list[Move] = []
    sentence_scores = batch.sentence_X[rows.start : rows.stop] @ model.W.T + model.b if len(rows) else None
    for j in chosen:
        label = model.labels[j]
        span = parsed.sentences[int(np.argmax(sentence_scores[:, j]))] if sentence_scores is not None else ""
        depth = None
        if label == "reflection":
            depth = "complex" if depth_p >= 0.5 else "simple"
        out.append(
            Move(label, round(_confidence(float(probs[j]), float(model.thresholds[j])), 3), T.evidence(span), depth)
        )
    if not out:
        best = int(np.argmax(probs / np.maximum(model.thresholds, 1e-6)))
        conf = 1.0 - float(probs[best]) / max(1e-6, float(model.thresholds[best]))
        out.append(Move("other", round(max(0.5, 0.5 + 0.5 * conf), 3), T.evidence(parsed.sentences[0])))
    out.sort(key=lambda m: _RANK.get(m.label, 99))
    return out


def _consistency(model: MoveModel, parsed: F.ReplyFeatures, probs: np.ndarray, chosen: list[int]) -> list[int]:
    """Conventions the classifier must not break whatever the data set said.

    - A reply whose only question is advice dressed as a question ("Have you thought about calling your
      sponsor?") is advice, not a closed question.
    - A reply whose questions are all open in form ("Can you tell me more?") is open, not closed.
    """
    idx = {label: j for j, label in enumerate(model.labels)}
    flags = parsed.sentence_flags
    col = {n: i for i, n in enumerate(F.SENTENCE_FEATURES)}
    questions = [i for i in range(len(flags)) if flags[i, col["is_question"]] > 0]
    advice_qs = [i for i in questions if flags[i, col["advice_q"]] > 0]
    out = set(chosen)
    if questions and len(advice_qs) == len(questions):
        out.discard(idx["closed_question"])
        out.discard(idx["open_question"])
        out.add(idx["advice"])
        return sorted(out)
    open_form = [i for i in questions if flags[i, col["qt_open"]] > 0]
    closed_form = [i for i in questions if flags[i, col["qt_closed"]] > 0]
    if open_form and not closed_form:
        # "Can you tell me more?" asks for an open answer whatever its grammar: open, not closed.
        out.discard(idx["closed_question"])
        out.add(idx["open_question"])
    return sorted(out)


@dataclass
class CascadeModel:
    """The fast model (rules and shape only) decides when it is sure; replies it is unsure about are
    embedded and decided by the full model. Embedding is most of the cost of scoring, and most replies
    are clear-cut ("Did you sleep?"), so this keeps a file fast without losing the embeddings where they
    matter."""

    full: MoveModel
    fast: MoveModel
    #: a reply is embedded when a move the full model does better on has a fast logit within `band` of the
    #: logit of its threshold
    band: float = BAND
    #: the full model must beat the fast one by this much cross-validated F1 to be used for a move
    margin: float = 0.01

    @property
    def labels(self) -> tuple[str, ...]:
        return self.full.labels

    @property
    def meta(self) -> dict[str, Any]:
        return self.full.meta

    @property
    def needs_full(self) -> np.ndarray:
        """Per move: does the full model beat the fast one in cross-validation on the training split?"""
        full = self.full.meta.get("cv_f1", {})
        fast = self.fast.meta.get("cv_f1", {})
        return np.array([full.get(lbl, 0.0) > fast.get(lbl, 0.0) + self.margin for lbl in self.labels])

    def stitched(self) -> MoveModel:
        """Full-model rows for the moves that need it, fast-model rows for the rest (fast rows ignore the
        embedding columns, so they give the same answer on embedded features)."""
        use = self.needs_full
        return MoveModel(
            self.labels,
            np.where(use[:, None], self.full.W, self.fast.W),
            np.where(use, self.full.b, self.fast.b),
            np.where(use, self.full.thresholds, self.fast.thresholds),
            self.full.depth_w,
            self.full.depth_b,
            self.full.embed_weight,
            self.full.meta,
            self.full.knn_vectors,
            self.full.knn_labels,
        )

    def uncertain(self, X_cheap: np.ndarray) -> np.ndarray:
        z = X_cheap @ self.fast.W.T + self.fast.b
        t = np.log(self.fast.thresholds / (1.0 - self.fast.thresholds))
        close = np.abs(z - t) < self.band
        return (close & self.needs_full[None, :]).any(axis=1)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "cascade": True,
            "band": self.band,
            "full": self.full.to_json(),
            "fast": self.fast.to_json(),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CascadeModel:
        if raw.get("format") != FORMAT_VERSION or not raw.get("cascade"):
            raise ValueError(f"model format {raw.get('format')} is not the cascade format {FORMAT_VERSION}")
        return cls(MoveModel.from_json(raw["full"]), MoveModel.from_json(raw["fast"]), float(raw["band"]))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> CascadeModel:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def train_cascade(
    records: Sequence[CalibrationRecord],
    batch: Batch | None = None,
    band: float = BAND,
    like: CascadeModel | None = None,
) -> CascadeModel:
    """Train the full and fast models; `like` re-uses another cascade's feature blocks and C per move."""
    batch = batch or featurize([item_from_record(r) for r in records])
    full = train_model(records, batch=batch, choices=like.full.meta.get("choice") if like else None)
    fast = train_model(
        records, batch=batch, variants=FAST_VARIANTS, choices=like.fast.meta.get("choice") if like else None
    )
    return CascadeModel(full, fast, band)


def run_cascade(
    model: CascadeModel,
    items: Sequence[Item],
    parsed: Sequence[F.ReplyFeatures] | None = None,
    embed_all: bool = False,
    embed_none: bool = False,
) -> tuple[list[list[Move]], np.ndarray]:
    """Moves for many replies; the second value says which replies were embedded."""
    if not items:
        return [], np.zeros(0, bool)
    cheap = featurize(items, model.full.embed_weight, embed=False, parsed=parsed)
    if embed_none:
        unsure = np.zeros(len(items), bool)
    else:
        unsure = np.ones(len(items), bool) if embed_all else model.uncertain(cheap.X)
    out: list[list[Move]] = [[] for _ in items]
    fast_p = model.fast.probabilities(cheap.X)
    fast_d = model.fast.depth_probability(cheap.X)
    for i in np.flatnonzero(~unsure):
        out[i] = decode(model.fast, cheap, int(i), fast_p[i], float(fast_d[i]))
    idx = [int(i) for i in np.flatnonzero(unsure)]
    if idx:
        rich = featurize(
            [items[i] for i in idx], model.full.embed_weight, embed=True, parsed=[cheap.parsed[i] for i in idx]
        )
        mixed = model.stitched()
        mixed.fill_neighbours(rich)
        probs = mixed.probabilities(rich.X)
        depth = mixed.depth_probability(rich.X)
        for k, i in enumerate(idx):
            out[i] = decode(mixed, rich, k, probs[k], float(depth[k]))
    return out, unsure


class HybridMoveDetector:
    """The scorer's move detector (implements the engine's MoveDetector protocol)."""

    name = "hybrid"

    def __init__(self, model: CascadeModel, mode: str = "auto") -> None:
        """`mode`: auto (embed only replies the fast model is unsure of), fast (never embed), full (always)."""
        if mode not in ("auto", "fast", "full"):
            raise ValueError(f"unknown detector mode {mode!r}")
        self.model = model
        self.mode = mode

    def detect(self, reply: str, context: Sequence[Utterance] = (), members: Sequence[str] = ()) -> list[Move]:
        return self.detect_items([make_item(reply, context, members)])[0]

    def detect_items(self, items: Sequence[Item]) -> list[list[Move]]:
        """Detect moves for many replies with one batched embedding pass."""
        return [moves for moves, _ in self.analyse(items)]

    def analyse(self, items: Sequence[Item]) -> list[tuple[list[Move], F.ReplyFeatures]]:
        """Moves and the parsed reply (sentences, per-sentence flags) for many replies."""
        if not items:
            return []
        parsed = [F.reply_features(it.reply, it.context, it.names, it.one_to_one) for it in items]
        moves, _ = run_cascade(self.model, items, parsed, embed_all=self.mode == "full", embed_none=self.mode == "fast")
        return list(zip(moves, parsed, strict=True))


_lock = threading.Lock()
_model: CascadeModel | None = None


def load_model(path: Path | None = None, *, allow_train: bool = True) -> CascadeModel:
    """The shipped model; if it is missing or does not match this code, one trained from the calibration set
    (cached in the data folder so it is trained once)."""
    global _model
    if path is None and _model is not None:
        return _model
    with _lock:
        if path is None and _model is not None:
            return _model
        target = path or ARTIFACT
        try:
            model = CascadeModel.load(target)
        except (OSError, ValueError, KeyError) as exc:
            if not allow_train:
                raise
            model = _cached_or_trained(f"{target}: {exc}")
        if path is None:
            _model = model
        return model


def _cached_or_trained(reason: str) -> CascadeModel:
    from holdspace.scoring.data import load_calibration, train_test
    from holdspace.settings import get_settings

    cache = get_settings().data_dir / "scoring" / "move_model.json"
    try:
        return CascadeModel.load(cache)
    except (OSError, ValueError, KeyError):
        pass
    log.warning("move model unusable (%s); training one from the calibration set", reason)
    train, _ = train_test(load_calibration())
    if not train:
        raise RuntimeError("no move model and no calibration data to train one from")
    model = train_cascade(train)
    try:
        model.save(cache)
    except OSError as exc:  # a read-only data folder: keep the model in memory only
        log.warning("could not cache the move model at %s: %s", cache, exc)
    return model


def reset_model() -> None:
    global _model
    with _lock:
        _model = None
