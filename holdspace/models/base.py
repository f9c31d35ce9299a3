"""One small chat-model interface: complete, stream, structured.

Backends implement `_complete` / `_stream`; `structured` is built on top of them. A prompt is a list of
chat messages plus, optionally, a few words the answer must start with (`prefill`): small models keep a
persona's voice far better when the first words are given.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

Role = Literal["system", "user", "assistant"]
T = TypeVar("T", bound=BaseModel)


class ModelError(RuntimeError):
    """The model server failed, timed out or answered something unusable."""


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    max_tokens: int = 60
    temperature: float = 0.7
    stop: tuple[str, ...] = ()
    seed: int | None = None
    #: a GBNF grammar (llama.cpp) constraining the output; backends that cannot use it ignore it
    grammar: str | None = None


@dataclass(frozen=True)
class ChatPrompt:
    messages: tuple[ChatMessage, ...]
    #: words the reply must start with; returned text does NOT repeat them
    prefill: str = ""
    options: GenerationOptions = field(default_factory=GenerationOptions)


@runtime_checkable
class ChatModel(Protocol):
    name: str

    def complete(self, prompt: ChatPrompt) -> str: ...

    def stream(self, prompt: ChatPrompt) -> Iterator[str]: ...

    def structured(self, prompt: ChatPrompt, schema: type[T]) -> T: ...


class BaseChatModel:
    """Shared behaviour: `stream` defaults to one chunk, `structured` parses JSON into the schema."""

    name = "base"

    def complete(self, prompt: ChatPrompt) -> str:
        return "".join(self.stream(prompt))

    def stream(self, prompt: ChatPrompt) -> Iterator[str]:
        yield self.complete(prompt)

    def structured(self, prompt: ChatPrompt, schema: type[T]) -> T:
        schema_text = json.dumps(schema.model_json_schema())
        messages = prompt.messages + (
            ChatMessage("system", f"Answer with one JSON object matching this JSON Schema: {schema_text}"),
        )
        raw = self.complete(ChatPrompt(messages=messages, prefill=prompt.prefill, options=prompt.options))
        return parse_structured(prompt.prefill + raw, schema)


def parse_structured(raw: str, schema: type[T]) -> T:
    """Parse the first JSON object in `raw` into `schema`, or raise ModelError naming what was wrong."""
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        raise ModelError(f"model returned no JSON object for {schema.__name__}: {raw[:120]!r}")
    try:
        return schema.model_validate_json(raw[start : end + 1])
    except ValidationError as exc:
        raise ModelError(f"model output does not match {schema.__name__}: {exc.errors()[:2]}") from exc
