"""The director: who speaks next, with which intent, after a facilitator reply.

It reads the group state, the personas' tendencies, the members' roles and the scenario's scripted events.
All randomness comes from the `random.Random` it is given, so a seed fixes the whole session.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from holdspace.content.models import Persona, Scenario, ScenarioEvent
from holdspace.engine.state import GroupState

MAX_SPEAKERS = 3
QUESTION_MOVES = {"open_question", "closed_question", "invite", "safety_check"}
OPENING_MOVES = {"open_question", "invite", "self_disclosure", "reflection", "affirmation", "summary"}


@dataclass
class Beat:
    speaker: str
    intent: str
    target: str | None = None
    beat_lines: tuple[str, ...] = ()
    event: ScenarioEvent | None = None


@dataclass
class RoundPlan:
    beats: list[Beat] = field(default_factory=list)
    fired: list[ScenarioEvent] = field(default_factory=list)

    def speakers(self) -> set[str]:
        return {b.speaker for b in self.beats}

    def add(self, beat: Beat, first: bool = False) -> None:
        if beat.speaker in self.speakers() or len(self.beats) >= MAX_SPEAKERS:
            return
        if first:
            self.beats.insert(0, beat)
        else:
            self.beats.append(beat)


class Director:
    def __init__(self, scenario: Scenario, personas: dict[str, Persona]):
        self.scenario = scenario
        self.personas = personas
        self.roles = {m.name: m.role for m in scenario.members}

    def has_intent(self, name: str, intent: str) -> bool:
        return bool(self.personas[name].lines.get(intent))

    def due_events(self, state: GroupState) -> list[ScenarioEvent]:
        due = []
        for event in self.scenario.events:
            if event.id in state.fired_events or not state.members[event.speaker].present:
                continue
            if event.at_turn is not None and event.at_turn <= state.turn:
                due.append(event)
            elif event.when is not None and event.at_turn is None and state.holds(event.when):
                due.append(event)
        return due

    def other_party(self, name: str, last_speakers: list[str], state: GroupState) -> str | None:
        """Whom a member's escalation or support is aimed at: the latest other speaker, else a volatile peer."""
        for speaker in reversed(last_speakers):
            if speaker != name and speaker in state.members and state.members[speaker].present:
                return speaker
        others = [n for n in state.members if n != name and state.members[n].present]
        volatile = [n for n in others if self.roles.get(n) == "volatile"]
        return (volatile or others or [None])[0]

    def plan(
        self,
        state: GroupState,
        labels: set[str],
        addressed: list[str],
        last_speakers: list[str],
        rng: random.Random,
        handled_now: list[str] | None = None,
    ) -> RoundPlan:
        plan = RoundPlan()
        present = [n for n, m in state.members.items() if m.present]

        # 1. Scripted beats come first: they are the scenario's key moments. A beat whose speaker already
        # has one this round waits for the next round rather than being lost.
        for event in self.due_events(state):
            if event.speaker in plan.speakers() or len(plan.beats) >= MAX_SPEAKERS:
                continue
            target = self.other_party(event.speaker, last_speakers, state)
            plan.add(Beat(event.speaker, event.intent, target, tuple(event.lines), event))
            plan.fired.append(event)

        # 2. A member who is losing all sense of safety may walk out.
        if state.safety < 0.2:
            leaving = max(present, key=lambda n: (state.members[n].distress, n))
            if self.has_intent(leaving, "leave") and leaving not in plan.speakers():
                plan.add(Beat(leaving, "leave"))

        question = bool(labels & QUESTION_MOVES)
        warm = bool(labels & OPENING_MOVES)
        only_closed = "closed_question" in labels and not labels & {"open_question", "invite", "self_disclosure"}

        # 3. Dominant members take the floor unless restrained; with crosstalk they talk over the others.
        for name in present:
            persona = self.personas[name]
            if name in addressed or name in plan.speakers():
                continue
            if self.roles[name] == "dominant" or persona.tendencies.interrupts >= 0.5:
                member = state.members[name]
                pull = persona.tendencies.talkativeness * (1.0 - member.restraint)
                if rng.random() < pull and self.has_intent(name, "interrupt"):
                    plan.add(Beat(name, "interrupt"), first=self.scenario.crosstalk and not plan.fired)

        # 4. Members the facilitator named answer (or deflect when they are not ready).
        for name in addressed:
            if name in plan.speakers() or not state.members[name].present:
                continue
            member = state.members[name]
            ready = member.engagement + (0.15 if warm else 0.0) - (0.15 if only_closed else 0.0)
            intent = "answer" if ready >= 0.3 or not self.has_intent(name, "deflect") else "deflect"
            plan.add(Beat(name, intent))

        # 5. Volatile members escalate when the room is hot and soften when it cools.
        for name in present:
            if self.roles[name] != "volatile" or name in plan.speakers():
                continue
            member = state.members[name]
            if state.tension >= 0.55 and self.has_intent(name, "escalate"):
                plan.add(Beat(name, "escalate", self.other_party(name, last_speakers, state)))
                member.escalated = True
            elif member.escalated and state.tension < 0.4 and self.has_intent(name, "calm_down"):
                plan.add(Beat(name, "calm_down", self.other_party(name, last_speakers, state)))
                member.escalated = False

        # 6. A member supports a peer whose need the facilitator just handled.
        for discloser in handled_now or []:
            supporters = [n for n in present if n != discloser and n not in plan.speakers()
                          and self.has_intent(n, "support")]
            if supporters:
                supporter = max(supporters, key=lambda n: (self.personas[n].tendencies.openness, n))
                plan.add(Beat(supporter, "support", discloser))

        # 7. A question to the whole group: willing members answer, the rest pass.
        if question and not addressed:
            pool = [n for n in present if n not in plan.speakers()]
            wanted = 1 + (state.engagement > 0.45) + (state.engagement > 0.7)
            for name in self._pick(pool, state, rng, wanted):
                member = state.members[name]
                ready = member.engagement + (0.2 if warm else 0.0) - (0.2 if only_closed else 0.0)
                intent = "answer" if rng.random() < ready + 0.15 else "deflect"
                if intent == "deflect" and not self.has_intent(name, "deflect"):
                    intent = "answer"
                plan.add(Beat(name, intent))
        elif not plan.beats and last_speakers:
            # 8. No question and no one named: the last member who spoke may carry on.
            last = next((s for s in reversed(last_speakers) if s in state.members), None)
            if last and state.members[last].present and rng.random() < 0.4 + state.members[last].engagement / 2:
                plan.add(Beat(last, "answer"))
        return plan

    def _pick(self, pool: list[str], state: GroupState, rng: random.Random, count: int) -> list[str]:
        chosen: list[str] = []
        candidates = list(pool)
        while candidates and len(chosen) < count:
            weights = []
            for name in candidates:
                member = state.members[name]
                talk = self.personas[name].tendencies.talkativeness
                weights.append(max(0.02, talk * (0.3 + member.engagement) * (1.0 - 0.8 * member.restraint)))
            name = rng.choices(candidates, weights=weights)[0]
            chosen.append(name)
            candidates.remove(name)
        return chosen
