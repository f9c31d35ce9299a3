"""The openai-compatible backend: the official `openai` SDK against OpenAI or any server speaking its API
(vLLM, Ollama, LM Studio, llama.cpp's server), chosen by base URL, model name and key.

Two things differ between servers and are handled here rather than in the engine:
- *prefill* (words the reply must start with): llama.cpp and most local servers continue a trailing
  assistant message; OpenAI does not, so there the words become an instruction ("Begin with ...") and are
  stripped from the answer. Either way the returned text does not repeat the prefill.
- *structured output*: `response_format` with a JSON Schema where the server accepts it; if it answers
  400 to that, the backend remembers and falls back to JSON-in-prompt plus `parse_structured`.

The SDK's own retries are off: `ResilientChatModel` owns retries, backoff and the circuit breaker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlparse

from holdspace.models.base import BaseChatModel, ChatMessage, ChatPrompt, ModelError, T, parse_structured

PrefillMode = Literal["auto", "assistant", "instruction"]
#: OpenAI's chat API accepts at most this many stop sequences
OPENAI_MAX_STOP = 4


def is_official_openai(base_url: str | None) -> bool:
    if not base_url:
        return True
    return (urlparse(base_url).hostname or "").endswith("openai.com")


def is_loopback(base_url: str | None) -> bool:
    host = urlparse(base_url or "").hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


class OpenAIChatModel(BaseChatModel):
    """ChatModel over `client.chat.completions` (thread-safe: the SDK client is)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 20.0,
        prefill_mode: PrefillMode = "auto",
        client: Any = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.name = f"openai:{model}"
        self.timeout_s = timeout_s
        official = is_official_openai(base_url)
        if prefill_mode == "auto":
            prefill_mode = "instruction" if official else "assistant"
        self.prefill_mode: PrefillMode = prefill_mode
        self.max_stop = OPENAI_MAX_STOP if official else 16
        self._json_schema_ok: bool | None = None
        self._lock = threading.Lock()
        if client is None:
            if not api_key and official:
                raise ModelError(
                    "the openai backend needs HOLDSPACE_OPENAI_API_KEY for api.openai.com, or "
                    "HOLDSPACE_OPENAI_BASE_URL for a local OpenAI-compatible server"
                )
            import openai

            client = openai.OpenAI(
                base_url=base_url,
                api_key=api_key or "not-needed",  # local servers ignore it; the SDK insists on a value
                timeout=timeout_s,
                max_retries=0,
            )
        self.client = client

    # -- request shaping
    def _messages(self, prompt: ChatPrompt) -> list[dict[str, str]]:
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        if prompt.prefill:
            if self.prefill_mode == "assistant":
                messages.append({"role": "assistant", "content": prompt.prefill})
            else:
                messages.append(
                    {
                        "role": "system",
                        "content": f"Begin your reply with exactly these words: {prompt.prefill}",
                    }
                )
        return messages

    def _kwargs(self, prompt: ChatPrompt) -> dict[str, Any]:
        opts = prompt.options
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": self._messages(prompt),
            "max_tokens": opts.max_tokens,
            "temperature": opts.temperature,
        }
        if opts.stop:
            kwargs["stop"] = list(opts.stop)[: self.max_stop]
        if opts.seed is not None:
            kwargs["seed"] = opts.seed
        return kwargs

    def _error(self, exc: Exception) -> ModelError:
        import openai

        where = self.base_url or "api.openai.com"
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(f"{where} did not answer within {self.timeout_s:.0f} s")
        if isinstance(exc, openai.APIConnectionError):
            return ModelError(f"{where} is unreachable: {exc}")
        if isinstance(exc, openai.AuthenticationError):
            return ModelError(f"{where} refused the API key (HOLDSPACE_OPENAI_API_KEY)")
        if isinstance(exc, openai.NotFoundError):
            return ModelError(f"{where} does not know the model {self.model!r}")
        if isinstance(exc, openai.APIStatusError):
            return ModelError(f"{where} answered {exc.status_code}: {str(exc)[:200]}")
        return ModelError(f"{where} failed: {type(exc).__name__}: {exc}")

    @staticmethod
    def _cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
        """Servers capped at 4 stop sequences may run past the others; cut there client-side."""
        cut = len(text)
        for s in stop:
            index = text.find(s)
            if index >= 0:
                cut = min(cut, index)
        return text[:cut]

    def _strip_prefill(self, text: str, prefill: str) -> str:
        if not prefill:
            return text
        if text.startswith(prefill):
            return text[len(prefill) :]
        if self.prefill_mode == "assistant":
            return text  # the server continued the prefill, as asked
        return " " + text.lstrip()  # the model ignored the instruction; best effort

    # -- ChatModel
    def complete(self, prompt: ChatPrompt) -> str:
        try:
            response = self.client.chat.completions.create(**self._kwargs(prompt))
        except Exception as exc:  # noqa: BLE001 - every SDK error becomes a ModelError
            raise self._error(exc) from exc
        if not response.choices:
            raise ModelError(f"{self.name} answered with no choices")
        content = response.choices[0].message.content
        if content is None:
            raise ModelError(f"{self.name} answered without text")
        return self._cut_at_stop(self._strip_prefill(content, prompt.prefill), prompt.options.stop)

    def stream(self, prompt: ChatPrompt) -> Iterator[str]:
        try:
            events = self.client.chat.completions.create(**self._kwargs(prompt), stream=True)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc) from exc
        prefill = prompt.prefill
        pending = ""  # held until we know whether the server repeats the prefill
        deciding = bool(prefill)
        emitted = ""
        try:
            for event in events:
                if not event.choices:
                    continue
                text = event.choices[0].delta.content or ""
                if not text:
                    continue
                if deciding:
                    pending += text
                    if prefill.startswith(pending):
                        continue
                    deciding = False
                    text = self._strip_prefill(pending, prefill)
                    pending = ""
                before = len(emitted)
                emitted = self._cut_at_stop(emitted + text, prompt.options.stop)
                if len(emitted) > before:
                    yield emitted[before:]
                if len(emitted) < before + len(text):
                    break  # a stop sequence appeared
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc) from exc
        finally:
            close = getattr(events, "close", None)
            if callable(close):
                close()

    def structured(self, prompt: ChatPrompt, schema: type[T]) -> T:
        """Schema-constrained JSON where supported (response_format json_schema), else JSON-in-prompt."""
        with self._lock:
            supported = self._json_schema_ok
        if supported is not False:
            kwargs = self._kwargs(ChatPrompt(prompt.messages, "", prompt.options))
            schema_json = schema.model_json_schema()
            kwargs["messages"].append(
                {
                    "role": "system",
                    "content": f"Answer with one JSON object matching: {json.dumps(schema_json)}",
                }
            )
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema_json},
            }
            try:
                response = self.client.chat.completions.create(**kwargs)
            except Exception as exc:  # noqa: BLE001
                import openai

                if isinstance(exc, openai.BadRequestError):
                    with self._lock:
                        self._json_schema_ok = False
                else:
                    raise self._error(exc) from exc
            else:
                with self._lock:
                    self._json_schema_ok = True
                content = response.choices[0].message.content if response.choices else None
                return parse_structured(content or "", schema)
        fallback = ChatPrompt(
            prompt.messages
            + (
                ChatMessage(
                    "system",
                    f"Answer with one JSON object matching: {json.dumps(schema.model_json_schema())}",
                ),
            ),
            prompt.prefill,
            prompt.options,
        )
        return parse_structured(prompt.prefill + self.complete(fallback), schema)
