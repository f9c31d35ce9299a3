"""Failure without drama: the model server dies in the middle of a session and the group carries on with
authored lines and a visible notice; nothing is lost and nothing raises."""

from __future__ import annotations

import time

import pytest

from holdspace.content.loader import load_library
from holdspace.engine.model_rendering import NOTICE_MODEL_DOWN, ModelRenderer
from holdspace.engine.types import LineRequest, Utterance
from holdspace.models.embedded import EmbeddedChatModel, EmbeddedServer
from holdspace.models.resilience import CircuitBreaker, ResilientChatModel
from holdspace.settings import PROJECT_ROOT

pytestmark = pytest.mark.llm

REPLIES = [
    "Welcome, everyone. How has this week been for you?",
    "Thank you. What was the hardest moment this week?",
    "It sounds like that stayed with you. Who else wants to come in?",
    "Let's slow down for a second. What do you need from the group right now?",
    "Before we close, what will you take with you tonight?",
]


@pytest.fixture
def doomed_server() -> EmbeddedServer:
    """A server of its own, so stopping it does not disturb the shared one."""
    server = EmbeddedServer(threads=1)
    server.start()
    yield server
    server.stop()


def guarded(server: EmbeddedServer) -> ModelRenderer:
    inner = EmbeddedChatModel(server.base_url, timeout_s=15)
    model = ResilientChatModel(
        inner, retries=1, backoff_s=0.05, deadline_s=15, breaker=CircuitBreaker(failure_threshold=2, reset_after_s=60)
    )
    return ModelRenderer(model, attempts=2)


def test_rendering_carries_on_with_authored_lines_when_the_server_stops(doomed_server: EmbeddedServer) -> None:
    library, _ = load_library(PROJECT_ROOT)
    persona = sorted(library.personas.values(), key=lambda p: p.id)[0]
    renderer = guarded(doomed_server)
    recent: list[Utterance] = []
    lines = []
    for i, reply in enumerate(REPLIES):
        if i == 2:
            doomed_server.stop()
        recent.append(Utterance("facilitator", "facilitator", reply))
        request = LineRequest(
            speaker="Alex",
            persona=persona,
            intent="answer",
            others=("Bo", "Cy"),
            recent=tuple(recent),
            facilitator_reply=reply,
            seed=i,
            said_before=tuple(line.text for line in lines),
        )
        start = time.perf_counter()
        line = renderer.render(request)
        lines.append(line)
        recent.append(Utterance("Alex", "member", line.text))
        if i >= 3:
            assert time.perf_counter() - start < 1.0  # the open circuit answers at once
    assert all(line.notice is None for line in lines[:2])
    for line in lines[2:]:
        assert line.source == "authored" and line.notice == NOTICE_MODEL_DOWN
        assert line.text in persona.lines["answer"]
    assert all(line.text.strip() for line in lines)


def test_a_session_survives_the_server_dying_mid_session(doomed_server: EmbeddedServer) -> None:
    session_module = pytest.importorskip("holdspace.engine.session")
    library, _ = load_library(PROJECT_ROOT)
    if not library.scenarios:
        pytest.skip("no scenarios in the library")
    scenario = library.scenarios.get("relapse-disclosure") or next(iter(library.scenarios.values()))
    session = session_module.GroupSession(
        scenario, library.personas_for(scenario), seed=7, renderer=guarded(doomed_server)
    )
    played = 0
    for i, reply in enumerate(REPLIES[:4]):
        if session.ended:
            break
        if i == 2:
            doomed_server.stop()
        session.play_turn(reply)
        played += 1
    records = session.records
    assert sum(1 for r in records if r["role"] == "facilitator") == played  # every reply kept
    assert all(r["text"].strip() for r in records)
    after_stop = [r for r in records if r["role"] == "member" and r["turn"] >= 3]
    if after_stop:  # members spoke after the server died: on authored lines, with the notice shown
        assert NOTICE_MODEL_DOWN in session.notices
