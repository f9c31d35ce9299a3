"""The turn loop: one facilitator reply in, the group's answer out, every step written to the transcript.

observe (detect moves) -> resolve (needs, move effects) -> direct (who speaks, with which intent)
-> render (persona lines) -> should_end. Deterministic under a seed with a deterministic renderer.
"""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from holdspace.content.models import DIMENSIONS, Condition, MoveEffect, Persona, Scenario
from holdspace.engine.director import Beat, Director
from holdspace.engine.model_rendering import StreamEvent, render_streaming
from holdspace.engine.moves import (
    MoveDetector,
    RuleMoveDetector,
    addressed_members,
    named_members,
    sentences,
)
from holdspace.engine.rendering import AuthoredRenderer, LineRenderer
from holdspace.engine.state import EffectBook, GroupState, NeedState, apply_effect
from holdspace.engine.types import LineRequest, Move, RenderedLine, Utterance

RECENT_TURNS = 8
#: how sure the detector must be before a move changes the group. A false "judgment" hurts the room badly
#: (and the trained detector's doubtful ones sit at 0.6-0.8), so the group reacts only to clear ones.
MIN_CONFIDENCE = {"judgment": 0.85}
DEFAULT_MIN_CONFIDENCE = 0.5


@lru_cache(maxsize=1)
def intent_effects() -> dict[str, MoveEffect]:
    raw = yaml.safe_load(Path(__file__).with_name("intent_effects.yaml").read_text(encoding="utf-8"))
    return {intent: MoveEffect(**values) for intent, values in raw.items()}


@dataclass(frozen=True)
class Situation:
    """What the moment calls for, read by the scorer to decide which dimensions apply."""

    tension: float
    engagement: float
    safety: float
    dominant_share: float
    quiet_members: tuple[str, ...]
    pending_needs: tuple[str, ...]  # kinds of needs not yet handled
    last_member_intents: tuple[str, ...]
    turn: int
    group: bool = True


@dataclass
class TurnScore:
    scores: dict[str, int | None]
    overall: float | None
    feedback: str = ""
    alternative: str | None = None
    citations: list[dict] = field(default_factory=list)


class TurnScorer(Protocol):
    def score_turn(
        self, reply: str, moves: list[Move], context: list[Utterance], situation: Situation
    ) -> TurnScore: ...


@dataclass
class RoundEvent:
    """Streamed to a UI: `facilitator` (the scored reply record), `typing` (a member composes), `delta`
    (text as the model writes it), `line` (a member's finished record), `notice`, `end`."""

    kind: str
    speaker: str | None = None
    text: str = ""
    record: dict | None = None


class _LineStream:
    """One member line written on a background thread; its stream events are read back in order."""

    _DONE = object()

    def __init__(self, renderer: LineRenderer, request: LineRequest) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(renderer, request), daemon=True)
        self._thread.start()

    def _run(self, renderer: LineRenderer, request: LineRequest) -> None:
        try:
            for event in render_streaming(renderer, request):
                self._queue.put(event)
        except Exception as exc:  # noqa: BLE001 - re-raised in the reader's thread
            self._queue.put(exc)
        finally:
            self._queue.put(self._DONE)

    def events(self) -> Iterator[StreamEvent]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]


class GroupSession:
    def __init__(
        self,
        scenario: Scenario,
        personas: dict[str, Persona],
        *,
        seed: int = 0,
        detector: MoveDetector | None = None,
        renderer: LineRenderer | None = None,
        scorer: TurnScorer | None = None,
        prefetch: bool | None = None,
        concurrent_lines: bool | None = None,
    ):
        self.scenario = scenario
        self.personas = personas
        self.seed = seed
        self.detector = detector or RuleMoveDetector()
        self.renderer = renderer or AuthoredRenderer()
        self.scorer = scorer
        # Both default to what the renderer says it can do (a model renderer: yes; authored lines: no).
        #: warm the model's prompt cache with every member's prompt between rounds, while the trainee types
        self.prefetch = bool(getattr(self.renderer, "can_prefetch", False)) if prefetch is None else prefetch
        #: write a round's member lines at the same time (the model server batches them); they are still
        #: shown one after another, in the director's order
        self.concurrent_lines = (
            bool(getattr(self.renderer, "concurrent", False)) if concurrent_lines is None else concurrent_lines
        )
        self.state = GroupState.initial(scenario)
        self.effects = EffectBook(scenario, personas)
        self.director = Director(scenario, personas)
        self.records: list[dict[str, Any]] = []
        self.utterances: list[Utterance] = []
        self.said: dict[str, list[str]] = {name: [] for name in personas}
        self.turn_scores: list[TurnScore] = []
        self.ended = False
        self.outcome = "in_progress"
        self.end_message = ""
        self.notices: list[str] = []
        self._intents: list[str] = []
        self._prefetch_cancel = threading.Event()
        for line in scenario.opening:
            self._member_line(line.speaker, line.text, "answer")
        self._prefetch()

    # ------------------------------------------------------------------ public API
    @property
    def turn(self) -> int:
        return self.state.turn

    def play_turn(self, reply: str) -> list[dict]:
        """One facilitator reply; returns the new transcript records (reply first, then members)."""
        start = len(self.records)
        for _ in self.stream_turn(reply):
            pass
        return self.records[start:]

    def stream_turn(self, reply: str) -> Iterator[RoundEvent]:
        if self.ended:
            raise RuntimeError("the session has ended")
        reply = reply.strip()
        if not reply:
            raise ValueError("the reply is empty")
        self._prefetch_cancel.set()  # warming what is left would only delay this round's lines
        state = self.state
        state.turn += 1
        context = list(self.utterances[-RECENT_TURNS:])
        members = list(self.personas)
        moves = self.detector.detect(reply, context, members)
        labels = {m.label for m in moves if m.confidence >= MIN_CONFIDENCE.get(m.label, DEFAULT_MIN_CONFIDENCE)}
        addressed = addressed_members(reply, members)
        redirected = self._redirected(reply, moves, members)
        addressed = [name for name in addressed if name not in redirected]
        for name in redirected:
            # Being paused by name is not an invitation to keep talking.
            member = state.members[name]
            member.restraint = min(1.0, member.restraint + 0.2)

        situation = self.situation()
        handled_now = self._resolve_needs(labels)
        self._apply_moves(labels, addressed)

        record: dict[str, Any] = {
            "turn": state.turn,
            "speaker": "facilitator",
            "role": "facilitator",
            "text": reply,
            "moves": [m.to_json() for m in moves],
        }
        state.add_line("facilitator", reply)
        self.utterances.append(Utterance("facilitator", "facilitator", reply))
        record["state"] = state.snapshot()

        rng = random.Random(f"{self.seed}:round:{state.turn}")
        last_speakers = [u.speaker for u in self.utterances if u.role == "member"][-4:]
        plan = self.director.plan(state, labels, addressed, last_speakers, rng, handled_now)
        for event in plan.fired:
            state.fired_events.add(event.id)
            apply_effect(state, event.effect, [event.speaker])
            if event.need is not None:
                state.needs[event.id] = NeedState(event.id, event.speaker, event.need, state.turn)
        # Every member answers the facilitator's reply (requests are built before anyone speaks), so the
        # lines can be written at once, and the same seed gives the same lines either way.
        requests = [self._request(beat.speaker, beat.intent, reply, beat) for beat in plan.beats]
        streams = [_LineStream(self.renderer, r) for r in requests] if self.concurrent_lines else []

        if self.scorer is not None:  # scored while the members' lines are being written
            score = self.scorer.score_turn(reply, moves, context, situation)
            self.turn_scores.append(score)
            record["scores"] = score.scores
            record["overall"] = score.overall
            record["feedback"] = score.feedback
            if score.alternative:
                record["alternative"] = score.alternative
            record["citations"] = score.citations
        self.records.append(record)
        yield RoundEvent("facilitator", "facilitator", reply, record)

        for i, (beat, request) in enumerate(zip(plan.beats, requests, strict=True)):
            yield from self._render_beat(beat, request, streams[i] if streams else None)
        state.record()
        yield from self._check_end()
        self._prefetch()

    def situation(self) -> Situation:
        state = self.state
        dominant = state.dominant()
        recent = [u for u in self.utterances[-4:] if u.role == "member"]
        return Situation(
            tension=state.tension,
            engagement=state.engagement,
            safety=state.safety,
            dominant_share=state.airtime_share(dominant) if dominant else 0.0,
            quiet_members=tuple(state.quiet_members()),
            pending_needs=tuple(n.spec.kind for n in state.needs.values() if not n.handled),
            last_member_intents=tuple(self._intents[-len(recent):]) if recent else (),
            turn=state.turn,
        )

    def objectives(self) -> dict[str, bool]:
        result = {}
        for objective in self.scenario.objectives:
            check = objective.check
            if check.startswith("need:"):
                need = self.state.needs.get(check.removeprefix("need:"))
                result[objective.id] = bool(need and need.handled)
            elif check.startswith("moved:"):
                label = check.removeprefix("moved:")
                result[objective.id] = any(
                    m["label"] == label for r in self.records if r["role"] == "facilitator" for m in r["moves"]
                )
            else:
                result[objective.id] = self.state.holds(Condition.parse(check))
        return result

    def summary(self) -> dict[str, Any]:
        state = self.state
        means: dict[str, float | None] = {}
        for dim in DIMENSIONS:
            values = [s.scores.get(dim) for s in self.turn_scores if s.scores.get(dim) is not None]
            means[dim] = round(sum(values) / len(values), 2) if values else None
        present = [v for v in means.values() if v is not None]
        return {
            "type": "summary",
            "scenario": self.scenario.id,
            "outcome": {
                "participation_evenness": round(state.evenness(), 3),
                "facilitator_talk_ratio": round(state.facilitator_talk_ratio(), 3),
                "final_tension": round(state.tension, 3),
                "final_engagement": round(state.engagement, 3),
                "final_safety": round(state.safety, 3),
                "objectives": self.objectives(),
            },
            "scores": means,
            "overall": round(sum(present) / len(present), 2) if present else None,
        }

    def end(self, outcome: str = "ended_early", message: str = "The facilitator ended the session.") -> dict:
        if not self.ended:
            self._finish(outcome, message)
        return self.summary()

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _redirected(reply: str, moves: list[Move], members: list[str]) -> set[str]:
        """Members named in the redirecting sentence, unless a question elsewhere asks them something."""
        named = set()
        for move in moves:
            if move.label == "redirect":
                named |= set(named_members(move.evidence, members))
        asked = {n for s in sentences(reply) if "?" in s and s not in {m.evidence for m in moves
                 if m.label == "redirect"} for n in named_members(s, members)}
        return named - asked

    def _resolve_needs(self, labels: set[str]) -> list[str]:
        """Update pending needs from this reply; return members whose need was handled now."""
        handled = []
        for need in self.state.needs.values():
            if need.handled or need.created_turn >= self.state.turn:
                continue
            spec = need.spec
            ack = bool(labels & set(spec.acknowledge)) or need.status == "acknowledged"
            support = bool(labels & set(spec.support))
            breaks = bool(labels & set(spec.breaks))
            if "judgment" in labels:
                need.turns_pending = max(need.turns_pending + 1, spec.grace_turns + 1)
                apply_effect(self.state, spec.unhandled_cost, [need.member])
            elif ack and support:
                need.status = "handled"
                apply_effect(self.state, spec.handled_gain, [need.member])
                handled.append(need.member)
            elif ack:
                need.status = "acknowledged"
            else:
                need.turns_pending += 1
                if breaks:
                    need.turns_pending = max(need.turns_pending, spec.grace_turns + 1)
                if need.turns_pending > spec.grace_turns:
                    apply_effect(self.state, spec.unhandled_cost, [need.member])
        return handled

    def _apply_moves(self, labels: set[str], addressed: list[str]) -> None:
        state = self.state
        for member in state.members.values():
            member.restraint = max(0.0, member.restraint - 0.08)
        targets = list(addressed)
        if "invite" in labels and not targets:
            quiet = sorted(state.quiet_members(), key=lambda n: (state.members[n].airtime, n))
            targets = quiet[:1]
            for name in targets:
                state.members[name].invited = True
        for label in sorted(labels):
            effect = self.effects.room.get(label)
            if effect is not None:
                apply_effect(state, effect, targets)
            for name, personal in self.effects.personal.items():
                if label in personal:
                    apply_effect(state, personal[label], [name])

    def _request(self, speaker: str, intent: str, reply: str, beat: Beat | None = None) -> LineRequest:
        return LineRequest(
            speaker=speaker,
            persona=self.personas[speaker],
            intent=intent,
            others=tuple(n for n in self.personas if n != speaker),
            recent=tuple(self.utterances[-RECENT_TURNS:]),
            facilitator_reply=reply,
            target=beat.target if beat else None,
            beat_lines=beat.beat_lines if beat else (),
            said_before=tuple(self.said[speaker]),
            seed=self.seed * 1000 + self.state.turn,
        )

    def _prefetch(self) -> None:
        """Warm the model's prompt cache for each member's next line while the trainee types (model
        renderers only; an optimisation that never fails a session). The likeliest speakers go first,
        and the next reply cancels whatever has not been sent."""
        warm = getattr(self.renderer, "prefetch_async", None)
        if self.prefetch and callable(warm) and not self.ended:
            state = self.state
            present = [n for n, m in state.members.items() if m.present]
            pull = {n: self.personas[n].tendencies.talkativeness * (1.0 - state.members[n].restraint) for n in present}
            present.sort(key=lambda n: (-pull[n], n))
            self._prefetch_cancel = threading.Event()
            warm([self._request(name, "answer", "") for name in present], self._prefetch_cancel)

    def _render_beat(
        self, beat: Beat, request: LineRequest, stream: _LineStream | None = None
    ) -> Iterator[RoundEvent]:
        yield RoundEvent("typing", beat.speaker)
        rendered = None
        try:
            # Stream the model's words as they come; the final (guarded) line replaces them.
            events = stream.events() if stream is not None else render_streaming(self.renderer, request)
            for event in events:
                if event.kind == "delta" and event.text:
                    yield RoundEvent("delta", beat.speaker, event.text)
                elif event.kind == "final":
                    rendered = event.line
        except Exception:  # a renderer must never end a session: _render falls back to authored lines
            rendered = None
        if rendered is None:
            rendered = self._render(request)
        for notice in [rendered.notice] if rendered.notice else []:
            if notice not in self.notices:
                self.notices.append(notice)
                yield RoundEvent("notice", None, notice)
        record = self._member_line(beat.speaker, rendered.text, beat.intent, rendered)
        if beat.intent == "leave":
            self.state.members[beat.speaker].present = False
        yield RoundEvent("line", beat.speaker, rendered.text, record)

    def _render(self, request: LineRequest) -> RenderedLine:
        try:
            return self.renderer.render(request)
        except Exception as exc:  # a renderer must never end a session: fall back to authored lines
            fallback = AuthoredRenderer().render(request)
            fallback.notice = f"The group is running on authored lines ({type(exc).__name__})."
            return fallback

    def _member_line(self, speaker: str, text: str, intent: str, rendered: RenderedLine | None = None) -> dict:
        state = self.state
        effect = intent_effects().get(intent)
        if effect is not None and state.turn > 0:
            apply_effect(state, effect, [speaker])
        state.add_line(speaker, text)
        self.said.setdefault(speaker, []).append(text)
        self.utterances.append(Utterance(speaker, "member", text))
        self._intents.append(intent)
        record = {
            "turn": state.turn,
            "speaker": speaker,
            "role": "member",
            "text": text,
            "intent": intent,
            "state": state.snapshot(),
        }
        self.records.append(record)
        return record

    def _check_end(self) -> Iterator[RoundEvent]:
        state = self.state
        for end in self.scenario.end_conditions:
            if end.when is not None and state.holds(end.when):
                yield self._finish(end.outcome, end.message or f"The session ended: {end.when.text}.")
                return
            if end.objectives_met and all(self.objectives().values()):
                yield self._finish(end.outcome, end.message or "The group met its objectives.")
                return
        if not any(m.present for m in state.members.values()):
            yield self._finish("ended_early", "Every member has left the room.")
        elif state.turn >= self.scenario.max_turns:
            yield self._finish("completed", "The meeting has reached its time.")

    def _finish(self, outcome: str, message: str) -> RoundEvent:
        self.ended = True
        self.outcome = outcome
        self.end_message = message
        record = {"turn": self.state.turn, "speaker": "system", "role": "system", "text": message,
                  "state": self.state.snapshot()}
        self.records.append(record)
        return RoundEvent("end", "system", message, record)

    def transcript(self) -> list[dict]:
        """Every record, then the summary record."""
        return [*self.records, self.summary()]
