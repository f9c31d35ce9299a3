"""The openai backend's request shaping and error handling, against a fake SDK client (no network).

The same backend is tested against a real OpenAI-compatible server in test_llm_server.py.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from holdspace.models.base import ChatMessage, ChatPrompt, GenerationOptions, ModelError
from holdspace.models.openai_backend import OpenAIChatModel, is_official_openai

STOPS = ("\n", "Facilitator:", "Dana:", "Marcus:", "Sam:")
PROMPT = ChatPrompt(
    (ChatMessage("system", "You are Sam."), ChatMessage("user", "[Sam answers.]")),
    prefill="Honestly, I",
    options=GenerationOptions(max_tokens=40, stop=STOPS, seed=7),
)


class Mood(BaseModel):
    name: str
    score: int


def message(text: str) -> SimpleNamespace:
    return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text))])


def chunk(text: str | None) -> SimpleNamespace:
    return SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(content=text))])


class FakeClient:
    def __init__(self, *responses: Any) -> None:
        self.responses = list(responses)
        self.calls: list[dict[str, Any]] = []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    def create(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        return response


def status_error(cls: type[openai.APIStatusError], code: int) -> openai.APIStatusError:
    response = httpx.Response(code, request=httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions"))
    return cls(message=f"error {code}", response=response, body=None)


def test_local_servers_continue_an_assistant_prefill() -> None:
    client = FakeClient(message("Honestly, I slept badly."))
    model = OpenAIChatModel("local", base_url="http://127.0.0.1:8080/v1", client=client)
    assert model.prefill_mode == "assistant"
    assert model.complete(PROMPT) == " slept badly."  # llama.cpp repeats the prefill; it is stripped
    sent = client.calls[0]
    assert sent["messages"][-1] == {"role": "assistant", "content": "Honestly, I"}
    assert sent["stop"] == list(STOPS) and sent["seed"] == 7 and sent["max_tokens"] == 40


def test_openai_itself_gets_the_prefill_as_an_instruction_and_at_most_four_stops() -> None:
    client = FakeClient(message("Honestly, I slept badly.\nFacilitator: thanks"))
    model = OpenAIChatModel("gpt-4o-mini", api_key="sk-test", client=client)
    assert model.prefill_mode == "instruction"
    assert model.complete(PROMPT) == " slept badly."  # cut client-side at the newline
    sent = client.calls[0]
    assert sent["messages"][-1]["role"] == "system" and "Honestly, I" in sent["messages"][-1]["content"]
    assert len(sent["stop"]) == 4


def test_stream_strips_a_repeated_prefill_and_stops_at_stop_sequences() -> None:
    client = FakeClient(
        iter(
            [
                chunk(None),
                chunk("Honest"),
                chunk("ly, I"),
                chunk(" slept"),
                chunk(" badly."),
                chunk(" Sam:"),
                chunk(" more"),
            ]
        )
    )
    model = OpenAIChatModel("local", base_url="http://127.0.0.1:8080/v1", client=client)
    assert "".join(model.stream(PROMPT)) == " slept badly. "


def test_stream_passes_a_plain_continuation_through() -> None:
    client = FakeClient(iter([chunk(" slept"), chunk(" badly.")]))
    model = OpenAIChatModel("local", base_url="http://127.0.0.1:8080/v1", client=client)
    assert "".join(model.stream(PROMPT)) == " slept badly."


def test_structured_uses_json_schema_and_falls_back_when_unsupported() -> None:
    client = FakeClient(message('{"name": "Sam", "score": 3}'))
    model = OpenAIChatModel("local", base_url="http://127.0.0.1:8080/v1", client=client)
    assert model.structured(PROMPT, Mood) == Mood(name="Sam", score=3)
    assert client.calls[0]["response_format"]["type"] == "json_schema"

    client = FakeClient(status_error(openai.BadRequestError, 400), message('Sure: {"name": "Sam", "score": 4}'))
    model = OpenAIChatModel("local", base_url="http://127.0.0.1:8080/v1", client=client)
    assert model.structured(PROMPT, Mood) == Mood(name="Sam", score=4)
    assert "response_format" not in client.calls[1]
    assert model._json_schema_ok is False


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:1")), "unreachable"),
        (openai.APITimeoutError(request=httpx.Request("POST", "http://127.0.0.1:1")), "did not answer"),
        (status_error(openai.AuthenticationError, 401), "API key"),
        (status_error(openai.NotFoundError, 404), "does not know the model"),
        (status_error(openai.InternalServerError, 500), "answered 500"),
    ],
)
def test_sdk_errors_become_model_errors(error: Exception, text: str) -> None:
    model = OpenAIChatModel("local", base_url="http://127.0.0.1:1/v1", client=FakeClient(error))
    with pytest.raises(ModelError, match=text):
        model.complete(PROMPT)


def test_garbage_answers_are_model_errors() -> None:
    model = OpenAIChatModel("local", base_url="http://127.0.0.1:1/v1", client=FakeClient(message(None), message("x")))
    with pytest.raises(ModelError):
        model.complete(PROMPT)
    with pytest.raises(ModelError):
        model.structured(PROMPT, Mood)


def test_openai_without_a_key_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="HOLDSPACE_OPENAI_API_KEY"):
        OpenAIChatModel("gpt-4o-mini")
    assert is_official_openai(None) and is_official_openai("https://api.openai.com/v1")
    assert not is_official_openai("http://127.0.0.1:8000/v1")
