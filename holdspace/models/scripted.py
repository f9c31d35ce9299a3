"""A deterministic ChatModel for tests and demos, in the spirit of llm's MockModel and pydantic-ai's
FunctionModel: answers come from a queue or a function, and every prompt it was given is recorded so a
test can assert on what the engine asked.

Note: the *scripted persona backend* (`persona_backend = "scripted"`) is not this class; it is
`holdspace.engine.rendering.AuthoredRenderer`, which speaks authored lines only. `ScriptedChatModel` is
what stands in for a language model where one is expected (a judge, or a `ModelRenderer` under test).
"""

from __future__ import annotations

import threading
import types
import typing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Union

from pydantic import BaseModel

from holdspace.models.base import BaseChatModel, ChatPrompt, ModelError, T, parse_structured

#: a scripted reply: text, or an exception to raise (e.g. ModelError to simulate a dead server)
Reply = Union[str, BaseException]  # noqa: UP007 - a runtime alias, kept readable
ReplyFunction = Callable[[ChatPrompt], Reply]


class ScriptedChatModel(BaseChatModel):
    """Replies from `replies` (in order) or `function(prompt)`; records each prompt in `prompts`.

    When the queue runs dry it repeats `default` (or raises ModelError if `default` is None).
    `stream` splits a reply into word-sized chunks so streaming code sees more than one chunk.
    `structured` parses a scripted JSON reply, or builds a schema-valid default object when no reply
    was scripted (like pydantic-ai's TestModel).
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        function: ReplyFunction | None = None,
        default: str | None = "",
        name: str = "scripted",
    ) -> None:
        self.name = name
        self._queue: deque[Reply] = deque(replies)
        self.function = function
        self.default = default
        self.prompts: list[ChatPrompt] = []
        self._lock = threading.Lock()

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def _next(self, prompt: ChatPrompt) -> str:
        with self._lock:
            self.prompts.append(prompt)
            if self.function is not None:
                reply: Reply | None = self.function(prompt)
            elif self._queue:
                reply = self._queue.popleft()
            else:
                reply = self.default
        if reply is None:
            raise ModelError("scripted model has no reply left")
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def complete(self, prompt: ChatPrompt) -> str:
        return self._next(prompt)

    def stream(self, prompt: ChatPrompt) -> Iterator[str]:
        text = self._next(prompt)
        start = 0
        for index, char in enumerate(text):
            if char == " " and index > start:
                yield text[start:index]
                start = index
        if start < len(text):
            yield text[start:]

    def structured(self, prompt: ChatPrompt, schema: type[T]) -> T:
        with self._lock:
            scripted = self.function is not None or bool(self._queue)
        if scripted:
            return parse_structured(self._next(prompt), schema)
        with self._lock:
            self.prompts.append(prompt)
        return schema.model_validate(example_for(schema))

    @property
    def last_prompt(self) -> ChatPrompt | None:
        return self.prompts[-1] if self.prompts else None


def example_for(schema: type[BaseModel]) -> dict[str, Any]:
    """A minimal schema-valid value for each required field (defaults are left to the model)."""
    out: dict[str, Any] = {}
    for name, field in schema.model_fields.items():
        if field.is_required():
            out[field.alias or name] = _example_value(field.annotation)
    return out


def _example_value(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return args[0]
    if origin in (Union, types.UnionType):
        if type(None) in args:
            return None
        return _example_value(args[0])
    if origin in (list, tuple, set, frozenset):
        return []
    if origin is dict:
        return {}
    if origin is typing.Annotated:
        return _example_value(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return example_for(annotation)
    return {str: "", int: 0, float: 0.0, bool: False}.get(annotation, None)
