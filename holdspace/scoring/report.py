"""`holdspace eval moves`: (re)train on the calibration train split, measure on the test split, write
evaluation/REPORT.md.

Everything in the report is recomputed from the calibration files and the shipped (or retrained)
weights, so the numbers can be reproduced by anyone with one command.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from holdspace.content.models import DIMENSIONS
from holdspace.engine.moves import RuleMoveDetector
from holdspace.engine.types import Move
from holdspace.scoring import detector as D
from holdspace.scoring import features as F
from holdspace.scoring import text as T
from holdspace.scoring.data import CalibrationRecord, load_annotations, load_calibration, train_test
from holdspace.scoring.rubric import SCORE_ARTIFACT, ReplyShape, capped, fit_score_model, to_score
from holdspace.scoring.situation import applicable, read_context
from holdspace.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from holdspace.scoring.scorer import LLMJudgeScorer

log = logging.getLogger(__name__)

REPORT_PATH = PROJECT_ROOT / "evaluation" / "REPORT.md"
#: Targets from the issue: F1 for questions, reflections and every other move with enough test examples.
TARGETS = {"open_question": 0.8, "closed_question": 0.8, "reflection": 0.7}
OTHER_TARGET = 0.7
MIN_SUPPORT = 30


@dataclass
class MoveMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    kappa: float
    support: int
    predicted: int

    @property
    def target(self) -> float | None:
        if self.label in TARGETS:
            return TARGETS[self.label]
        return OTHER_TARGET if self.support >= MIN_SUPPORT and self.label != "other" else None

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.f1 >= self.target


def metrics(gold: Sequence[frozenset[str]], pred: Sequence[set[str]], labels: Sequence[str]) -> list[MoveMetrics]:
    """Per-label precision, recall, F1 and Cohen's kappa (presence vs absence per reply)."""
    out = []
    n = len(gold)
    for label in labels:
        y = np.array([label in g for g in gold])
        p = np.array([label in q for q in pred])
        tp = int((y & p).sum())
        fp = int((~y & p).sum())
        fn = int((y & ~p).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        po = float((y == p).mean()) if n else 0.0
        pe = float(y.mean() * p.mean() + (1 - y.mean()) * (1 - p.mean())) if n else 0.0
        kappa = (po - pe) / (1 - pe) if pe < 1 else 1.0
        out.append(MoveMetrics(label, precision, recall, f1, kappa, int(y.sum()), int(p.sum())))
    return out


class _Features:
    """Features of every calibration record, computed once (embedding is the slow part)."""

    def __init__(self, records: Sequence[CalibrationRecord]) -> None:
        self.records = list(records)
        self.items = [D.item_from_record(r) for r in records]
        self.batch = D.featurize(self.items)
        self.index = {r.id: i for i, r in enumerate(records)}

    def subset(self, records: Sequence[CalibrationRecord]) -> D.Batch:
        idx = [self.index[r.id] for r in records]
        return D.Batch(
            self.batch.X[idx],
            self.batch.sentence_X,
            [self.batch.sentence_rows[i] for i in idx],
            [self.batch.parsed[i] for i in idx],
            self.batch.mean_embs[idx] if self.batch.mean_embs is not None else None,
        )


def predict(
    model: D.CascadeModel, feats: _Features, records: Sequence[CalibrationRecord], embed_all: bool = False
) -> tuple[list[list[Move]], float]:
    """The cascade's moves for `records` (as `holdspace score` decides them) and the share embedded."""
    idx = [feats.index[r.id] for r in records]
    items = [feats.items[i] for i in idx]
    parsed = [feats.batch.parsed[i] for i in idx]
    moves, unsure = D.run_cascade(model, items, parsed, embed_all=embed_all)
    return moves, float(unsure.mean()) if len(unsure) else 0.0


def _shape(parsed: F.ReplyFeatures) -> ReplyShape:
    from holdspace.scoring.scorer import _shape as shape

    return shape(parsed)


def _gold_moves(r: CalibrationRecord) -> list[Move]:
    return [Move(label, 1.0, "", r.depth if label == "reflection" else None) for label in sorted(r.moves)]


def train_all(feats: _Features, train: Sequence[CalibrationRecord]) -> tuple[D.CascadeModel, object]:
    """Fit the move model and the score model on the training split and save both artifacts."""
    model = D.train_cascade(train, batch=feats.subset(train))
    model.save(D.ARTIFACT)
    rows = []
    batch = feats.subset(train)
    for r, parsed in zip(train, batch.parsed, strict=True):
        moment = read_context(T.to_utterances(r.context))
        moves = _gold_moves(r)
        shape = _shape(parsed)
        for dim in DIMENSIONS:
            if r.scores.get(dim) is not None:
                rows.append((dim, moves, moment, shape, int(r.scores[dim])))
    score_model = fit_score_model(rows)
    score_model.save(SCORE_ARTIFACT)
    return model, score_model


def score_agreement(
    records: Sequence[CalibrationRecord],
    moves: Sequence[list[Move]],
    parsed: Sequence[F.ReplyFeatures],
    score_model: object,
) -> dict[str, dict[str, float]]:
    """Per dimension: applicability precision/recall and exact / within-one agreement where both score."""
    out: dict[str, dict[str, float]] = {}
    per_dim: dict[str, dict[str, list]] = {
        d: {"exact": [], "near": [], "tp": [], "fp": [], "fn": [], "err": []} for d in DIMENSIONS
    }
    for r, mv, p in zip(records, moves, parsed, strict=True):
        moment = read_context(T.to_utterances(r.context))
        dims = set(applicable(moment, mv))
        shape = _shape(p)
        for dim in DIMENSIONS:
            gold = r.scores.get(dim)
            acc = per_dim[dim]
            if dim in dims and gold is not None:
                pred = capped(dim, to_score(score_model.predict(dim, mv, moment, shape)), mv, moment)  # type: ignore
                acc["exact"].append(pred == gold)
                acc["near"].append(abs(pred - gold) <= 1)
                acc["err"].append(abs(pred - gold))
                acc["tp"].append(1)
            elif dim in dims:
                acc["fp"].append(1)
            elif gold is not None:
                acc["fn"].append(1)
    for dim, acc in per_dim.items():
        tp, fp, fn = len(acc["tp"]), len(acc["fp"]), len(acc["fn"])
        out[dim] = {
            "n": tp,
            "exact": float(np.mean(acc["exact"])) if acc["exact"] else 0.0,
            "near": float(np.mean(acc["near"])) if acc["near"] else 0.0,
            "mae": float(np.mean(acc["err"])) if acc["err"] else 0.0,
            "app_precision": tp / (tp + fp) if tp + fp else 0.0,
            "app_recall": tp / (tp + fn) if tp + fn else 0.0,
            "labelled": tp + fn,
        }
    return out


def cross_part(feats: _Features, like: D.CascadeModel | None = None) -> dict[str, list[MoveMetrics]]:
    """Train on all parts but one, test on the held-out part: how well the detector transfers to replies
    written by a different author in a different setting. With `like`, each move keeps the shipped model's
    feature blocks and C (thresholds are still chosen on the other parts), which makes the nine fits cheap."""
    parts = sorted({r.part for r in feats.records})
    result = {}
    for part in parts:
        train = [r for r in feats.records if r.part != part]
        test = [r for r in feats.records if r.part == part]
        if not train or not test:
            continue
        model = D.train_cascade(train, batch=feats.subset(train), like=like)
        pred, _ = predict(model, feats, test)
        result[part] = metrics([r.moves for r in test], [{m.label for m in p} for p in pred], D.LEARNED_LABELS)
    return result


def judge_agreement(
    records: Sequence[CalibrationRecord], limit: int = 60, judge: LLMJudgeScorer | None = None
) -> tuple[str, dict | None]:
    """The LLM judge's agreement on (up to `limit`) test replies, or why it was skipped; when replies fell
    back to the default judge, how many and why."""
    from holdspace.settings import get_settings

    backend = get_settings().judge_backend if judge is None else getattr(judge.model, "name", "given model")
    if judge is None:
        if backend == "none":
            return "skipped: no judge model is configured (set HOLDSPACE_JUDGE_BACKEND to embedded or openai)", None
        from holdspace.scoring.scorer import JudgeUnavailable, LLMJudgeScorer

        try:
            judge = LLMJudgeScorer()
        except JudgeUnavailable as exc:
            return f"skipped: the judge model is unavailable ({exc})", None
    from holdspace.scoring.scorer import ScoreRequest

    sample = list(records)[:limit]
    requests = [ScoreRequest(r.id, r.reply, T.to_utterances(r.context)) for r in sample]
    failures_before = judge.failures
    scored = judge.score_many(requests)
    broken = judge.failures - failures_before  # raised: no valid verdict within the token budget
    exact: dict[str, list[bool]] = {d: [] for d in DIMENSIONS}
    near: dict[str, list[bool]] = {d: [] for d in DIMENSIONS}
    used = sum(1 for s in scored if s.judge == "llm")
    for r, s in zip(sample, scored, strict=True):
        if s.judge != "llm":
            continue
        for d in DIMENSIONS:
            g, p = r.scores.get(d), s.scores.get(d)
            if g is not None and p is not None:
                exact[d].append(g == p)
                near[d].append(abs(g - p) <= 1)
    table = {
        d: (len(exact[d]), float(np.mean(exact[d])) if exact[d] else 0.0, float(np.mean(near[d])) if near[d] else 0.0)
        for d in DIMENSIONS
    }
    line = f"{used} of {len(sample)} test replies judged by the LLM ({backend})"
    fell_back = [s for s in scored if s.judge != "llm" and s.overall is not None]
    if fell_back:
        senseless = len(fell_back) - broken
        line += (
            f"; {len(fell_back)} fell back to the default judge: {senseless} verdicts held no real reason (the"
            " field instructions, an example or one phrase written back into the slots) and"
            f" {broken} were not a valid verdict within the token budget"
        )
        if not used:
            line += (
                ". A model this small cannot rate a reply; point HOLDSPACE_JUDGE_BACKEND=openai and"
                " HOLDSPACE_JUDGE_MODEL at a larger one and rerun `holdspace eval moves` to measure it"
            )
    return line, table if used else None


def human_agreement(
    test: Sequence[CalibrationRecord], annotations: dict[str, dict[str, frozenset[str]]]
) -> tuple[int, dict[str, MoveMetrics]] | None:
    """The blind second annotator scored against the author on the test replies both labelled: how far two
    people reading the same codebook agree, the ceiling the detector is measured under."""
    author, second = annotations.get("author", {}), annotations.get("second", {})
    both = [r for r in test if r.id in author and r.id in second]
    if not both:
        return None
    table = metrics([author[r.id] for r in both], [set(second[r.id]) for r in both], D.LEARNED_LABELS)
    return len(both), {m.label: m for m in table}


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def generate(
    retrain: bool = False, cross: bool = True, judge: bool = True, echo: Callable[[str], None] = lambda s: None
) -> tuple[str, bool]:
    """Build REPORT.md's text; returns (markdown, all targets met)."""
    started = time.time()
    records = load_calibration()
    if not records:
        raise RuntimeError("no calibration records in evaluation/calibration/")
    train, test = train_test(records)
    echo(f"{len(records)} calibration records ({len(train)} train, {len(test)} test); embedding…")
    feats = _Features(records)
    if retrain:
        echo("training the move and score models on the train split…")
        model, score_model = train_all(feats, train)
        from holdspace.scoring import reset_scoring

        reset_scoring()
    from holdspace.scoring.rubric import load_score_model

    model = D.load_model(D.ARTIFACT, allow_train=False)
    score_model = load_score_model()
    test_batch = feats.subset(test)
    pred, embedded_share = predict(model, feats, test)
    full_pred, _ = predict(model, feats, test, embed_all=True)
    full_table = {
        m.label: m
        for m in metrics([r.moves for r in test], [{m.label for m in p} for p in full_pred], D.LEARNED_LABELS)
    }
    pred_sets = [{m.label for m in p} for p in pred]
    gold_sets = [r.moves for r in test]
    table = metrics(gold_sets, pred_sets, D.LEARNED_LABELS)
    rules = RuleMoveDetector()
    rule_sets = [
        {m.label for m in rules.detect(it.reply, it.context, it.names)}
        for it in (feats.items[feats.index[r.id]] for r in test)
    ]
    rule_table = {m.label: m for m in metrics(gold_sets, rule_sets, D.LEARNED_LABELS)}
    # Reflection depth on replies where both gold and prediction have a reflection.
    depth_pairs = [
        (r.depth, next(m.depth for m in p if m.label == "reflection"))
        for r, p in zip(test, pred, strict=True)
        if r.depth and any(m.label == "reflection" for m in p)
    ]
    depth_acc = float(np.mean([g == q for g, q in depth_pairs])) if depth_pairs else 0.0
    depth_counts = {d: sum(1 for g, _ in depth_pairs if g == d) for d in D.DEPTHS}
    echo("scoring agreement…")
    agreement = score_agreement(test, pred, test_batch.parsed, score_model)
    agreement_gold = score_agreement(test, [_gold_moves(r) for r in test], test_batch.parsed, score_model)
    cross_tables = {}
    if cross:
        echo("cross-part generalisation (train on the other parts)…")
        cross_tables = cross_part(feats, like=model)
    judge_line, judge_table = judge_agreement(test) if judge else ("skipped (--no-judge)", None)

    passed_all = all(m.passed is not False for m in table)
    lines: list[str] = []
    add = lines.append
    parts_text = ", ".join(
        f"part {p}: {sum(1 for r in records if r.part == p)}" for p in sorted({r.part for r in records})
    )
    add("# Scorer quality report")
    add("")
    add("Regenerate with `holdspace eval moves` (add `--retrain` to refit the shipped weights on the train split).")
    add("")
    add(
        f"- Calibration set: {len(records)} labelled replies in `evaluation/calibration/` "
        f"({parts_text});"
        f" settings: {sum(r.setting == 'group' for r in records)} group, "
        f"{sum(r.setting == 'one_to_one' for r in records)} one-to-one."
    )
    add(
        f"- Split: deterministic by a salted SHA-1 of each id ({len(train)} train / {len(test)} test); the weights in "
        f"`holdspace/scoring/artifacts/` were fitted on the train split only "
        f"(trained on {model.meta.get('trained_on', '?')} replies, fingerprint `{model.meta.get('fingerprint', '?')}`)."
    )
    add(
        "- Detector: rule hits from `holdspace/engine/moves.py` + lexical shape + MiniLM sentence embeddings and "
        "similarity to prototype sentences written from the move definitions; one L2-regularised logistic regression "
        "per move (feature blocks, C and threshold by 5-fold cross-validation on train; judgment's threshold "
        "maximises F0.5, favouring precision, because the calibration set over-represents judgment and a false "
        "accusation of judging teaches the wrong thing). A fast twin model decides the "
        "clear-cut replies from the rules, shape and static MiniLM token vectors (each token's vector from the model, "
        "looked up and averaged: no model run); the rest are embedded."
    )
    add(
        f"- Targets: F1 ≥ 0.8 for open and closed questions, ≥ 0.7 for reflections and for every other move with "
        f"≥ {MIN_SUPPORT} test examples. **{'All targets met.' if passed_all else 'Some targets are NOT met.'}**"
    )
    add("")
    add("## Moves on the test split")
    add("")
    add(
        f"As deployed: the fast model decided {100 * (1 - embedded_share):.0f}% of test replies on its own and "
        f"embedded the other {100 * embedded_share:.0f}% for the full model. The last two columns compare the "
        "full model on every reply and the engine's rules alone."
    )
    add("")
    humans = human_agreement(test, load_annotations())
    human_table = humans[1] if humans else {}
    add(
        "| move | precision | recall | F1 | Cohen's κ | support | predicted | target | full-model F1 | rules-only F1 "
        "| annotators F1 / κ |"
    )
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    for m in table:
        target = "—" if m.target is None else f"≥ {m.target:.1f} {'✅' if m.passed else '❌'}"
        h = human_table.get(m.label)
        human = f"{_fmt(h.f1)} / {_fmt(h.kappa)}" if h and (h.support or h.predicted) else "—"
        add(
            f"| {m.label} | {_fmt(m.precision)} | {_fmt(m.recall)} | {_fmt(m.f1)} | {_fmt(m.kappa)} | {m.support} | "
            f"{m.predicted} | {target} | {_fmt(full_table[m.label].f1)} | {_fmt(rule_table[m.label].f1)} | {human} |"
        )
    supported = [m for m in table if m.support]
    add("")
    add(
        f"Macro F1 over moves present in the test split: {_fmt(float(np.mean([m.f1 for m in supported])))} "
        f"(rules alone: {_fmt(float(np.mean([rule_table[m.label].f1 for m in supported])))})."
    )
    if humans:
        add("")
        add(
            f"Annotators: every reply was labelled by its author and, blind, by a second annotator; a third labelled "
            f"the replies where those two disagreed, and the calibration files hold the majority per label "
            f"(`evaluation/annotations/`, `evaluation/calibration/AUDIT.md`). The last column scores the second "
            f"annotator against the author on {humans[0]} test replies: how far two people reading the same "
            f"codebook agree."
        )
    add("")
    add(
        f"Reflection depth (simple / complex) on {len(depth_pairs)} test replies where both the label and the "
        f"detector have a reflection: accuracy {_fmt(depth_acc)} (gold: {depth_counts['simple']} simple, "
        f"{depth_counts['complex']} complex)."
    )
    if cross_tables:
        add("")
        add("## Cross-part generalisation")
        add("")
        add(
            "Each part of the calibration set was written separately (different authors, settings and styles). "
            "Here the detector is trained on the other parts and tested on the held-out one — a proxy for replies "
            "worded unlike anything it was trained on. Each move keeps the shipped model's feature blocks and "
            "regularisation (chosen on the train split); weights and thresholds are fitted on the other parts. "
            "F1 per move (support in brackets):"
        )
        add("")
        parts = sorted(cross_tables)
        add("| move | " + " | ".join(f"held-out part {p}" for p in parts) + " |")
        add("|---|" + "---|" * len(parts))
        for label in D.LEARNED_LABELS:
            cells = []
            for p in parts:
                m = next(x for x in cross_tables[p] if x.label == label)
                cells.append(f"{_fmt(m.f1)} ({m.support})" if m.support else "—")
            add(f"| {label} | " + " | ".join(cells) + " |")
        macro = []
        for p in parts:
            sup = [x for x in cross_tables[p] if x.support >= 10]
            macro.append(_fmt(float(np.mean([x.f1 for x in sup]))) if sup else "—")
        add("| *macro F1 (moves with ≥ 10)* | " + " | ".join(macro) + " |")
    add("")
    add("## Rubric scores: deterministic scorer vs the calibration labels (test split)")
    add("")
    add(
        "Applicability: does the scorer score the dimensions the labeller scored? Agreement: on replies where "
        "both scored the dimension, exact and within-one agreement and mean absolute error. First with the "
        "detected moves (what `holdspace score` does), then with the labelled moves (scoring alone)."
    )
    add("")
    add(
        "| dimension | labelled | applies: precision | applies: recall | n | exact | ±1 | MAE | exact (gold moves) | "
        "±1 (gold moves) |"
    )
    add("|---|---|---|---|---|---|---|---|---|---|")
    for dim in DIMENSIONS:
        a, g = agreement[dim], agreement_gold[dim]
        add(
            f"| {dim} | {a['labelled']} | {_fmt(a['app_precision'])} | {_fmt(a['app_recall'])} | {a['n']} | "
            f"{_fmt(a['exact'])} | {_fmt(a['near'])} | {_fmt(a['mae'])} | {_fmt(g['exact'])} | {_fmt(g['near'])} |"
        )
    tot = sum(a["n"] for a in agreement.values())
    if tot:
        ex = sum(a["exact"] * a["n"] for a in agreement.values()) / tot
        nr = sum(a["near"] * a["n"] for a in agreement.values()) / tot
        add(f"| *all* | | | | {tot} | {_fmt(ex)} | {_fmt(nr)} | | | |")
    add("")
    lines.extend(session_section(echo))
    add("## LLM judge")
    add("")
    add(judge_line + ".")
    if judge_table:
        add("")
        add("| dimension | n | exact | ±1 |")
        add("|---|---|---|---|")
        for d, (n, ex, nr) in judge_table.items():
            add(f"| {d} | {n} | {_fmt(ex)} | {_fmt(nr)} |")
    add("")
    add(f"_Generated {_dt.date.today().isoformat()} in {time.time() - started:.0f} s._")
    return "\n".join(lines) + "\n", passed_all


def session_section(echo: Callable[[str], None] = lambda s: None) -> list[str]:
    """REPORT.md's section on whole sessions rated high or low quality (empty when there are none)."""
    from holdspace.scoring import get_turn_scorer
    from holdspace.scoring import sessions as S

    sessions = S.load_sessions()
    if not sessions:
        return []
    echo(f"scoring {len(sessions)} whole sessions…")
    results = S.evaluate(sessions, get_turn_scorer())
    second = S.load_second_ratings()
    out = ["## Whole sessions rated high or low quality", ""]
    n_high = sum(r.quality == "high" for r in results)
    rated = [s for s in sessions if s.id in second]
    agree = sum(second[s.id].quality == s.quality for s in rated)
    out.append(
        f"{len(sessions)} whole sessions in `evaluation/sessions/` ({n_high} high, {len(results) - n_high} low; "
        f"{sum(s.setting == 'one_to_one' for s in sessions)} one-to-one, {sum(s.setting == 'group' for s in sessions)} "
        f"group), each written as an example of good or poor practice"
        + (f" and rated blind by a second rater, who agreed on {agree} of {len(rated)}" if rated else "")
        + ". Part a's poor sessions are poor in most turns; part b's are subtler (plain, unpolished good practice "
        "and warm, articulate poor practice). Every helper or facilitator turn is scored as `holdspace score` "
        "scores a reply (the turns before it as context); a session's score is the mean of its turns' overall "
        "scores. AUC: how often a high session outscores a low one (1.0 = always, 0.5 = chance)."
    )
    out += ["", "| measure | high: mean (min–max) | low: mean (min–max) | AUC |", "|---|---|---|---|"]

    def row(name: str, attr: str, higher_is_better: bool = True) -> str:
        hi = [getattr(r, attr) for r in results if r.quality == "high"]
        lo = [getattr(r, attr) for r in results if r.quality == "low"]
        auc = S.roc_auc(hi, lo) if higher_is_better else S.roc_auc(lo, hi)

        def span(v: list[float]) -> str:
            return f"{np.mean(v):.2f} ({min(v):.2f}–{max(v):.2f})" if v else "—"

        return f"| {name} | {span(hi)} | {span(lo)} | {_fmt(auc)}{'' if higher_is_better else ' (low higher)'} |"

    out.append(row("session score (mean overall of its turns)", "mean_overall"))
    out.append(row("reflections per question", "reflections_per_question"))
    out.append(row("share of turns with advice or judgment", "telling_share", higher_is_better=False))
    subsets = [
        (f"{setting.replace('_', '-')} only", [r for r in results if r.setting == setting])
        for setting in ("one_to_one", "group")
    ]
    subsets += [
        (f"{part.replace('_', ' ')} only", [r for r in results if r.part == part])
        for part in sorted({r.part for r in results})
    ]
    for name, sub in subsets:
        hi = [r.mean_overall for r in sub if r.quality == "high"]
        lo = [r.mean_overall for r in sub if r.quality == "low"]
        if hi and lo:
            out.append(f"| session score, {name} ({len(sub)}) | | | {_fmt(S.roc_auc(hi, lo))} |")
    out.append("")
    return out


def write_report(
    retrain: bool = False, cross: bool = True, judge: bool = True, echo: Callable[[str], None] = lambda s: None
) -> tuple[str, bool]:
    text, ok = generate(retrain, cross, judge, echo)
    REPORT_PATH.write_text(text, encoding="utf-8")
    return text, ok
