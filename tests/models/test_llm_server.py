"""Against a real server: the embedded backend, and the openai backend talking to the same llama.cpp
server's OpenAI-compatible endpoint (`/v1`). Loopback only; nothing is downloaded."""

from __future__ import annotations

import re
import threading

import pytest
from pydantic import BaseModel, Field

from holdspace.models.base import ChatMessage, ChatPrompt, GenerationOptions
from holdspace.models.embedded import EmbeddedChatModel, EmbeddedServer, get_server
from holdspace.models.openai_backend import OpenAIChatModel

pytestmark = pytest.mark.llm

GRAMMAR = 'root ::= [A-Za-z ,\']+ "."\n'
PROMPT = ChatPrompt(
    (ChatMessage("system", "You are Sam, a member of a support group."), ChatMessage("user", "How was your week?")),
    prefill="Honestly, my week was",
    options=GenerationOptions(max_tokens=24, temperature=0.0, stop=("\n",), seed=11),
)


class Member(BaseModel):
    name: str
    mood: str = Field(description="one word")
    hours_slept: int


STRUCTURED = ChatPrompt(
    (ChatMessage("user", "Sam slept 5 hours and feels tired. Describe Sam as JSON with name, mood, hours_slept."),),
    options=GenerationOptions(max_tokens=60, temperature=0.0, seed=3),
)


def test_server_is_on_loopback_and_shared(llama_server: EmbeddedServer) -> None:
    assert llama_server.base_url.startswith("http://127.0.0.1:")
    assert get_server() is llama_server
    found: list[EmbeddedServer] = []
    threads = [threading.Thread(target=lambda: found.append(get_server())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(s is llama_server for s in found)


def test_embedded_complete_continues_the_prefill_under_grammar_and_budget(llama_server: EmbeddedServer) -> None:
    model = EmbeddedChatModel(llama_server.base_url)
    prompt = ChatPrompt(
        PROMPT.messages, PROMPT.prefill, GenerationOptions(max_tokens=24, temperature=0.0, seed=11, grammar=GRAMMAR)
    )
    text = model.complete(prompt)
    assert not text.startswith("Honestly")  # the prefill is not repeated
    assert re.fullmatch(r"[A-Za-z ,']+\.", text), text
    timings = model.last_timings
    assert timings is not None and 0 < timings.predicted_tokens <= 24
    assert timings.prompt_per_second > 0 and timings.predicted_per_second > 0


def test_embedded_stream_matches_complete(llama_server: EmbeddedServer) -> None:
    model = EmbeddedChatModel(llama_server.base_url)
    chunks = list(model.stream(PROMPT))
    assert len(chunks) > 1 and "\n" not in "".join(chunks)
    assert "".join(chunks) == model.complete(PROMPT)  # temperature 0, same seed


def test_embedded_structured(llama_server: EmbeddedServer) -> None:
    member = EmbeddedChatModel(llama_server.base_url).structured(STRUCTURED, Member)
    assert isinstance(member, Member)


def openai_model(server: EmbeddedServer) -> OpenAIChatModel:
    return OpenAIChatModel("smollm2", base_url=server.base_url + "/v1", timeout_s=30)


def test_openai_backend_complete_against_llama_cpp(llama_server: EmbeddedServer) -> None:
    model = openai_model(llama_server)
    assert model.prefill_mode == "assistant"
    text = model.complete(PROMPT)
    assert text.strip() and not text.startswith("Honestly") and "\n" not in text


def test_openai_backend_streams_against_llama_cpp(llama_server: EmbeddedServer) -> None:
    model = openai_model(llama_server)
    chunks = list(model.stream(PROMPT))
    assert len(chunks) > 1
    assert "".join(chunks) == model.complete(PROMPT)


def test_openai_backend_structured_output_against_llama_cpp(llama_server: EmbeddedServer) -> None:
    model = openai_model(llama_server)
    member = model.structured(STRUCTURED, Member)
    assert isinstance(member, Member) and model._json_schema_ok is True


def test_prefetch_leaves_little_but_the_reply_to_read(llama_server: EmbeddedServer) -> None:
    from holdspace.content.loader import load_library
    from holdspace.engine.model_rendering import ModelRenderer
    from holdspace.engine.persona_prompt import build_persona_prompt
    from holdspace.engine.rendering import word_overlap
    from holdspace.engine.types import LineRequest, Utterance
    from holdspace.settings import PROJECT_ROOT

    library, _ = load_library(PROJECT_ROOT)
    persona = sorted(library.personas.values(), key=lambda p: p.id)[-1]
    recent = (
        Utterance("facilitator", "facilitator", "Welcome back, everyone."),
        Utterance("Bo", "member", "Long week. The kids were sick and I barely slept."),
    )
    before = LineRequest("Alex", persona, "answer", ("Bo", "Cy"), recent, "", seed=5)
    model = EmbeddedChatModel(llama_server.base_url)
    assert ModelRenderer(model, relevance=word_overlap).prefetch(before)
    reply = "What helped you get through it?"
    later = LineRequest(
        "Alex",
        persona,
        "answer",
        ("Bo", "Cy"),
        (*recent, Utterance("facilitator", "facilitator", reply)),
        reply,
        seed=5,
    )
    model.complete(build_persona_prompt(later).prompt)
    timings = model.last_timings
    assert timings is not None and timings.prompt_total > 150
    assert timings.prompt_tokens < 0.25 * timings.prompt_total  # the rest came from the prefetched cache


EXIT_WITH_REQUEST_IN_FLIGHT = """
import threading
from holdspace.models.base import ChatMessage, ChatPrompt, GenerationOptions
from holdspace.models.embedded import EmbeddedChatModel, get_server, requests_in_flight
import time

get_server(threads=1, port=0)
model = EmbeddedChatModel()
long = ChatPrompt((ChatMessage("system", "You are Sam. " + "I talk about my week. " * 150),), "",
                  GenerationOptions(max_tokens=0))
threading.Thread(target=model.prefetch, args=(long,), daemon=True).start()
deadline = time.time() + 10
while requests_in_flight() == 0 and time.time() < deadline:
    time.sleep(0.01)
print("in flight:", requests_in_flight(), flush=True)
"""  # the interpreter exits with the prefetch still being read; atexit stops the server


def test_process_exits_while_a_prefetch_is_in_flight(tmp_path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", EXIT_WITH_REQUEST_IN_FLIGHT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "in flight: 1" in done.stdout


def test_embedded_judge_verdict_is_complete_json_within_its_budget(llama_server: EmbeddedServer) -> None:
    # The compact grammar (no free whitespace, bounded strings) is what lets a 135M model close the object:
    # with llama.cpp's own schema grammar it spent the budget on indentation and the JSON was cut off.
    from holdspace.scoring.scorer import ScoreRequest, _judge_prompt, judge_schema
    from holdspace.scoring.text import to_utterances

    request = ScoreRequest(
        "j", "That sounds hard. What happened next?", to_utterances([{"speaker": "Sam", "text": "I slipped."}])
    )
    prompt = _judge_prompt(request, [], ("empathy", "questioning"))
    verdict = EmbeddedChatModel(llama_server.base_url, timeout_s=120).structured(
        prompt, judge_schema(("empathy", "questioning"))
    )
    assert 1 <= len(verdict.dimensions) <= 2
    assert {v.dimension for v in verdict.dimensions} <= {"empathy", "questioning"}
