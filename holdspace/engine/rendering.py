"""Persona rendering: turning (speaker, intent) into a line.

`AuthoredRenderer` uses only the persona's authored lines (the scripted backend, and the fallback of every
model renderer). Lines are chosen for relevance to what the facilitator just said, never repeated while
unused ones remain, and ties are broken by a seeded generator so a run is reproducible.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from holdspace.engine.types import LineRequest, RenderedLine

_WORD = re.compile(r"[a-z']+")
_STOP = frozenset(
    "a an the and or but i you we it is are was were be to of in on at for with that this what how do does did "
    "your my me so just about can could would there here have has had not no yes its it's i'm you're".split()
)

#: relevance(query, candidates) -> one score per candidate, higher is more relevant
Relevance = Callable[[str, Sequence[str]], Sequence[float]]


class LineRenderer(Protocol):
    def render(self, request: LineRequest) -> RenderedLine: ...

    def stream(self, request: LineRequest) -> Iterator[str]: ...


def fill_target(line: str, target: str | None, fallback: str = "everyone") -> str:
    return line.replace("{target}", target or fallback)


def word_overlap(query: str, candidates: Sequence[str]) -> list[float]:
    """Cheap lexical relevance: shared content words, normalised. Deterministic and dependency-free."""
    q = {w for w in _WORD.findall(query.lower()) if w not in _STOP}
    scores = []
    for text in candidates:
        words = {w for w in _WORD.findall(text.lower()) if w not in _STOP}
        scores.append(len(q & words) / (1 + len(words)) ** 0.5 if q else 0.0)
    return scores


def authored_options(request: LineRequest) -> list[str]:
    lines = request.persona.lines.get(request.intent) or request.persona.lines["answer"]
    return [fill_target(line, request.target) for line in lines]


def choose_authored(request: LineRequest, relevance: Relevance = word_overlap) -> str:
    """The most relevant authored line this member has not said yet (seeded choice among near-ties)."""
    options = authored_options(request)
    said = set(request.said_before)
    fresh = [line for line in options if line not in said] or options
    rng = random.Random(f"{request.seed}:{request.speaker}:{request.intent}:{len(request.said_before)}")
    scores = list(relevance(request.facilitator_reply, fresh))
    best = max(scores) if scores else 0.0
    # Near-ties (or no signal at all) are broken by the seed, so different seeds vary the transcript.
    pool = [line for line, s in zip(fresh, scores, strict=True) if s >= best - 0.05] if best > 0 else fresh
    return rng.choice(pool)


def choose_beat(request: LineRequest) -> str:
    rng = random.Random(f"{request.seed}:{request.speaker}:beat")
    return fill_target(rng.choice(list(request.beat_lines)), request.target)


class AuthoredRenderer:
    """The `scripted` backend: authored lines only, deterministic under a seed."""

    name = "scripted"

    def __init__(self, relevance: Relevance = word_overlap):
        self.relevance = relevance

    def render(self, request: LineRequest) -> RenderedLine:
        if request.beat_lines:
            return RenderedLine(choose_beat(request), "beat")
        return RenderedLine(choose_authored(request, self.relevance), "authored")

    def stream(self, request: LineRequest) -> Iterator[str]:
        yield self.render(request).text
