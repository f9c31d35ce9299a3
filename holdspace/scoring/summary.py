"""A session's scores at a glance: dimension means, strengths, growth areas and the key moments.

Works on scored records (the `holdspace score` output or a transcript's facilitator records). Besides the
rubric means it reports the listening profile counselling supervisors read first (reflections per
question, share of open questions, share of complex reflections), because those separate strong and weak
sessions regardless of the topic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from holdspace.content.models import DIMENSIONS

_TIPS: dict[str, str] = {
    "safety": "name the group's agreements and the limits of confidentiality calmly, and step in when one is broken",
    "empathy": "reflect the feeling under what was said before anything else",
    "questioning": "ask one open question that builds on what was just said",
    "participation": "acknowledge the speaker, then invite a quieter member by name, making passing fine",
    "focus": "pause a long story respectfully, sum it up in a sentence and link it back to the topic",
    "crisis": "slow the room, ask directly about safety when there is any sign of risk, and offer support beyond "
    "the group",
    "peer_stance": "share your own experience briefly and hand the focus back; ask what they want instead of advising",
}
_STRENGTHS: dict[str, str] = {
    "safety": "keeps the space safe",
    "empathy": "acknowledges feelings without judgment",
    "questioning": "asks open, curious questions",
    "participation": "balances who gets to speak",
    "focus": "keeps the group on purpose",
    "crisis": "responds to distress and risk",
    "peer_stance": "works as a peer, not an expert",
}


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def summarise_session(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Summarise scored facilitator turns. Each record needs `scores` and may carry `moves`, `overall`,
    `feedback`, `id`/`turn`, `text` and `citations`."""
    rows = [r for r in records if isinstance(r, dict) and isinstance(r.get("scores"), dict)]
    means: dict[str, float | None] = {}
    for dim in DIMENSIONS:
        means[dim] = _mean([float(r["scores"][dim]) for r in rows if r["scores"].get(dim) is not None])
    overalls = [float(r["overall"]) for r in rows if r.get("overall") is not None]
    moves = Counter(m.get("label") for r in rows for m in r.get("moves", []) if isinstance(m, dict))
    depths = Counter(
        m.get("depth")
        for r in rows
        for m in r.get("moves", [])
        if isinstance(m, dict) and m.get("label") == "reflection"
    )
    questions = moves["open_question"] + moves["closed_question"]
    reflections = moves["reflection"] + moves["summary"]
    profile = {
        "reflections_per_question": round(reflections / questions, 2) if questions else None,
        "open_question_share": round(moves["open_question"] / questions, 2) if questions else None,
        "complex_reflection_share": round(depths["complex"] / moves["reflection"], 2) if moves["reflection"] else None,
        "advice_or_judgment_share": round((moves["advice"] + moves["judgment"]) / len(rows), 2) if rows else None,
    }
    ranked = sorted((v, d) for d, v in means.items() if v is not None)
    strengths = [
        {"dimension": d, "mean": v, "note": f"{_STRENGTHS[d]} (mean {v})"} for v, d in reversed(ranked) if v >= 4.0
    ][:3]
    growth = []
    for v, d in ranked:
        if v >= 3.5 or len(growth) >= 3:
            continue
        cites = []
        for r in rows:
            if r["scores"].get(d) is not None and r["scores"][d] <= 3:
                cites.extend(c for c in r.get("citations", []) if c not in cites)
        growth.append({"dimension": d, "mean": v, "tip": _TIPS[d], "citations": cites[:2]})

    def moment(r: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            "id": r.get("id", r.get("turn")),
            "kind": kind,
            "overall": r.get("overall"),
            "text": (r.get("text") or "")[:200],
            "feedback": r.get("feedback", ""),
        }

    scored = [r for r in rows if r.get("overall") is not None]
    by_score = sorted(scored, key=lambda r: (float(r["overall"]), str(r.get("id", r.get("turn")))))
    key_moments = [moment(r, "low") for r in by_score[:2] if float(r["overall"]) < 3.5]
    key_moments += [
        moment(r, "high") for r in reversed(by_score[-2:]) if float(r["overall"]) >= 4.0 and r not in by_score[:2]
    ]
    return {
        "turns": len(rows),
        "overall": _mean(overalls),
        "dimension_means": means,
        "moves": dict(sorted(moves.items())),
        "profile": profile,
        "strengths": strengths,
        "growth_areas": growth,
        "key_moments": key_moments,
    }
