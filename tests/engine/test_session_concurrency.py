"""A round's member lines are written side by side when the renderer allows it, yet shown in the
director's order, and the transcript is the same as when they are written one after another."""

from __future__ import annotations

import threading

from holdspace.content import get_library
from holdspace.engine.rendering import AuthoredRenderer
from holdspace.engine.session import GroupSession
from holdspace.engine.types import LineRequest, RenderedLine

REPLIES = (
    "Welcome, everyone. What would you like to talk about tonight?",
    "What has been hardest this week?",
    "Thank you. I'd like to hear from someone we haven't heard from yet.",
    "What helps you get through the hard days?",
)


def play(scenario_id: str, renderer, seed: int, **kwargs) -> list[dict]:
    library = get_library()
    scenario = library.scenario(scenario_id)
    session = GroupSession(scenario, library.personas_for(scenario), seed=seed, renderer=renderer, **kwargs)
    for reply in REPLIES:
        if session.ended:
            break
        session.play_turn(reply)
    return session.transcript()


class GatedRenderer(AuthoredRenderer):
    """Authored lines, but a line is only finished once `needed` lines have been started: written one
    after another, a round with two members would wait forever (here: until the timeout, then flag it)."""

    concurrent = True

    def __init__(self, needed: int) -> None:
        super().__init__()
        self.needed = needed
        self.lock = threading.Lock()
        self.started = 0
        self.timed_out = False
        self.gate = threading.Event()

    def render(self, request: LineRequest) -> RenderedLine:
        with self.lock:
            self.started += 1
            if self.started >= self.needed:
                self.gate.set()
        if not self.gate.wait(timeout=5.0):
            self.timed_out = True
        return super().render(request)


def test_concurrent_lines_give_the_same_transcript_as_sequential_ones() -> None:
    for scenario_id in ("dominating-member", "escalating-conflict", "relapse-disclosure"):
        for seed in (0, 3):
            sequential = play(scenario_id, AuthoredRenderer(), seed, concurrent_lines=False)
            concurrent = play(scenario_id, AuthoredRenderer(), seed, concurrent_lines=True)
            assert sequential == concurrent, (scenario_id, seed)


def test_a_rounds_lines_are_written_at_the_same_time_and_shown_in_order() -> None:
    library = get_library()
    scenario = library.scenario("dominating-member")
    # find a round where two or more members answer (with plain authored lines)
    probe = GroupSession(scenario, library.personas_for(scenario), seed=1)
    for reply in REPLIES:
        start = len(probe.records)
        speakers = [r["speaker"] for r in probe.play_turn(reply) if r["role"] == "member"]
        if len(speakers) >= 2:
            break
    else:  # pragma: no cover - the scenario always has a busy round
        raise AssertionError("no round with two members")
    turns_before = REPLIES.index(reply)

    gated = GatedRenderer(needed=len(speakers))
    session = GroupSession(scenario, library.personas_for(scenario), seed=1, renderer=gated)
    for earlier in REPLIES[:turns_before]:
        gated.gate.set()  # earlier rounds are not under test
        session.play_turn(earlier)
    gated.gate.clear()
    gated.started = 0
    events = list(session.stream_turn(reply))
    assert not gated.timed_out, "member lines were written one after another"
    shown = [e.speaker for e in events if e.kind == "line"]
    assert shown == speakers
    typing = [e.speaker for e in events if e.kind == "typing"]
    assert typing == speakers
    assert [r["speaker"] for r in probe.records[start:] if r["role"] == "member"] == shown


def test_member_records_carry_their_intent() -> None:
    transcript = play("dominating-member", AuthoredRenderer(), 2)
    members = [r for r in transcript if r.get("role") == "member"]
    assert members and all(r["intent"] for r in members)
    assert {"answer", "interrupt"} & {r["intent"] for r in members}


def test_prefetch_and_concurrency_follow_the_renderer_unless_told() -> None:
    library = get_library()
    scenario = library.scenario("silent-group")
    authored = GroupSession(scenario, library.personas_for(scenario), renderer=AuthoredRenderer())
    assert not authored.prefetch and not authored.concurrent_lines
    gated = GroupSession(scenario, library.personas_for(scenario), renderer=GatedRenderer(1))
    assert gated.concurrent_lines
    told = GroupSession(scenario, library.personas_for(scenario), renderer=GatedRenderer(1), concurrent_lines=False)
    assert not told.concurrent_lines


def test_the_next_reply_cancels_prefetching_and_likely_speakers_are_warmed_first() -> None:

    class Warming(AuthoredRenderer):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[tuple[list[str], threading.Event]] = []

        def prefetch_async(self, requests, cancel):
            self.batches.append(([r.speaker for r in requests], cancel))

    library = get_library()
    scenario = library.scenario("dominating-member")
    personas = library.personas_for(scenario)
    warming = Warming()
    session = GroupSession(scenario, personas, seed=0, renderer=warming, prefetch=True)
    first, cancel = warming.batches[0]
    dominant = next(m.name for m in scenario.members if m.role == "dominant")
    assert first[0] == dominant and sorted(first) == sorted(personas)
    assert not cancel.is_set()
    session.play_turn("Welcome, everyone. How has your week been?")
    assert cancel.is_set() and len(warming.batches) == 2 and not warming.batches[1][1].is_set()
