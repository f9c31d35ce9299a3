"""The coach panel's hint: what the room looks like right now, and the guide passage that speaks to it.

The hint states facts read from the group state (who holds the floor, who is quiet, what is still
unacknowledged, how tense the room is) and retrieves the guide section for that situation; it never
invents advice of its own, so every suggestion a trainee sees carries its citation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from holdspace.engine.session import GroupSession

log = logging.getLogger(__name__)

#: what a pending need is called in a search of the guide
NEED_QUERIES = {
    "disclosure": "responding when a member discloses something painful, relapse, acknowledge and support",
    "distress": "member in distress, emotionally charged moment, acknowledge feelings",
    "safety": "safety concern, risk of harm, crisis plan, referral",
    "conflict": "conflict between members, de-escalation, acknowledging anger",
}

#: how a pending need is named to the trainee
NEED_NAMES = {
    "disclosure": "what {member} disclosed",
    "distress": "{member}'s distress",
    "safety": "the question of {member}'s safety",
    "conflict": "the conflict involving {member}",
}


@dataclass
class Hint:
    observations: list[str]
    citations: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def observations(engine: GroupSession) -> tuple[list[str], list[str]]:
    """What a co-facilitator would notice, and the search terms each observation suggests."""
    situation = engine.situation()
    state = engine.state
    seen: list[str] = []
    terms: list[str] = []
    for need in state.needs.values():
        if not need.handled:
            what = NEED_NAMES.get(need.spec.kind, "{member}'s " + need.spec.kind).format(member=need.member)
            fully = "fully " if need.status == "acknowledged" else ""
            seen.append(f"{what[0].upper()}{what[1:]} has not been {fully}responded to yet.")
            terms.append(NEED_QUERIES.get(need.spec.kind, need.spec.kind))
    dominant = state.dominant()
    if dominant and situation.dominant_share >= 0.4:
        seen.append(f"{dominant} has had {situation.dominant_share:.0%} of the members' airtime.")
        terms.append("a member dominates the discussion, interrupting a monologue kindly, balancing airtime")
    if situation.quiet_members:
        seen.append(f"Quiet so far: {', '.join(situation.quiet_members)}.")
        terms.append("encouraging quiet members to participate, inviting without pressure")
    if situation.tension >= 0.6:
        seen.append(f"The room is tense ({situation.tension:.2f}).")
        terms.append("de-escalation when tension rises, emotionally charged moments")
    if situation.engagement <= 0.35:
        seen.append(f"Engagement is low ({situation.engagement:.2f}).")
        terms.append("a passive or silent group, maintaining engagement, open questions")
    if situation.safety <= 0.45:
        seen.append(f"The group feels less safe ({situation.safety:.2f}).")
        terms.append("emotional safety, ground rules, confidentiality")
    if not seen:
        seen.append("Nothing urgent: the room is steady.")
        terms.append("open questions and reflections that deepen the discussion")
    return seen, terms


def coach_hint(engine: GroupSession, k: int = 2) -> Hint:
    """Observations about the room and the guide passages behind them (retrieval may be slow the first
    time, while the index loads; any failure becomes `error`, never an exception)."""
    seen, terms = observations(engine)
    recent = " ".join(u.text for u in engine.utterances[-3:] if u.role == "member")
    query = " ".join(terms[:2]) + (" " + recent if recent else "")
    try:
        from holdspace.retrieval import get_retriever

        citations = get_retriever().cite(query, k=k)
    except Exception as exc:  # noqa: BLE001 - the observations still help without the guide
        log.warning("coach retrieval failed: %r", exc)
        return Hint(seen, [], f"The guide could not be searched just now ({type(exc).__name__}).")
    return Hint(seen, citations)
