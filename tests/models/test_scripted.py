"""The scripted ChatModel: queued replies, a reply function, recorded prompts, schema-valid defaults."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel

from holdspace.models.base import ChatMessage, ChatModel, ChatPrompt, ModelError
from holdspace.models.scripted import ScriptedChatModel, example_for

PROMPT = ChatPrompt((ChatMessage("user", "hi"),), prefill="Well,")


class Verdict(BaseModel):
    label: Literal["good", "bad"]
    score: int
    reasons: list[str]
    note: str | None
    confident: bool = True


def test_is_a_chat_model_and_replies_in_order() -> None:
    model = ScriptedChatModel(["one", "two"], default=None)
    assert isinstance(model, ChatModel)
    assert model.complete(PROMPT) == "one"
    assert model.complete(PROMPT) == "two"
    with pytest.raises(ModelError):
        model.complete(PROMPT)
    assert len(model.prompts) == 3 and model.last_prompt is PROMPT


def test_default_repeats_when_the_queue_is_empty() -> None:
    model = ScriptedChatModel(default="same")
    assert [model.complete(PROMPT) for _ in range(3)] == ["same"] * 3


def test_function_sees_each_prompt() -> None:
    model = ScriptedChatModel(function=lambda p: p.prefill.upper())
    assert model.complete(PROMPT) == "WELL,"


def test_scripted_exceptions_are_raised() -> None:
    model = ScriptedChatModel([ModelError("down"), "back"])
    with pytest.raises(ModelError, match="down"):
        model.complete(PROMPT)
    assert model.complete(PROMPT) == "back"


def test_stream_splits_into_word_chunks() -> None:
    model = ScriptedChatModel([" I was tired. Really."])
    chunks = list(model.stream(PROMPT))
    assert len(chunks) > 1 and "".join(chunks) == " I was tired. Really."


def test_structured_parses_a_scripted_reply_or_builds_a_valid_default() -> None:
    model = ScriptedChatModel(['{"label": "bad", "score": 2, "reasons": ["x"], "note": null}'])
    assert model.structured(PROMPT, Verdict).label == "bad"
    default = ScriptedChatModel().structured(PROMPT, Verdict)
    assert default == Verdict(label="good", score=0, reasons=[], note=None)
    assert example_for(Verdict) == {"label": "good", "score": 0, "reasons": [], "note": None}
