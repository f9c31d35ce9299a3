"""Model backends behind one small interface (complete, stream, structured), chosen in settings.

- `embedded` (default): SmolLM2-135M-Instruct in llama.cpp on loopback, started once per process.
- `openai`: the official SDK against OpenAI or any OpenAI-compatible server, by base URL/model/key.
- `scripted`: no model at all; personas speak authored lines (`AuthoredRenderer`).

`get_chat_model(role)` gives the persona or judge model (wrapped with timeout, retries and a circuit
breaker, and shared per process so the breaker sees every session's failures). `get_persona_renderer()`
gives what the turn loop calls to turn (speaker, intent) into a line.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Literal

from holdspace.models.base import (
    BaseChatModel,
    ChatMessage,
    ChatModel,
    ChatPrompt,
    GenerationOptions,
    ModelError,
    parse_structured,
)
from holdspace.models.resilience import CircuitBreaker, CircuitOpenError, ResilientChatModel
from holdspace.models.scripted import ScriptedChatModel

if TYPE_CHECKING:
    from holdspace.engine.rendering import LineRenderer
    from holdspace.settings import Settings

__all__ = [
    "BaseChatModel",
    "ChatMessage",
    "ChatModel",
    "ChatPrompt",
    "CircuitBreaker",
    "CircuitOpenError",
    "GenerationOptions",
    "ModelError",
    "ResilientChatModel",
    "ScriptedChatModel",
    "describe_backend",
    "get_chat_model",
    "get_persona_renderer",
    "parse_structured",
    "reset_models",
]

Role = Literal["persona", "judge"]

_models: dict[tuple, ChatModel] = {}
_models_lock = threading.Lock()


def _backend_for(role: Role, settings: Settings) -> tuple[str, str]:
    if role == "persona":
        return settings.persona_backend, settings.persona_model
    if role == "judge":
        return settings.judge_backend, settings.judge_model
    raise ValueError(f"unknown model role {role!r}; use 'persona' or 'judge'")


def _build(backend: str, model: str, settings: Settings) -> ChatModel:
    if backend == "embedded":
        from holdspace.models.embedded import EmbeddedChatModel

        inner: ChatModel = EmbeddedChatModel(timeout_s=settings.llm_timeout_s)
    elif backend == "openai":
        from holdspace.models.openai_backend import OpenAIChatModel

        inner = OpenAIChatModel(
            model,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            timeout_s=settings.llm_timeout_s,
        )
    elif backend == "scripted":
        return ScriptedChatModel(name="scripted")
    else:
        raise ModelError(f"no model backend {backend!r}; use embedded, openai or scripted")
    return ResilientChatModel(inner, retries=settings.llm_retries, deadline_s=settings.llm_timeout_s)


def get_chat_model(role: Role = "persona", settings: Settings | None = None) -> ChatModel:
    """The configured model for `role`, shared per process (same settings -> same instance).

    Raises ModelError when the role has no model (`judge_backend = "none"`) or the backend cannot be set
    up (e.g. `openai` without a key or base URL). Starting the embedded server is deferred to first use.
    """
    if settings is None:
        from holdspace.settings import get_settings

        settings = get_settings()
    backend, model = _backend_for(role, settings)
    if backend == "none":
        raise ModelError(f"no {role} model is configured (HOLDSPACE_{role.upper()}_BACKEND=none)")
    key = (
        backend,
        model if backend != "embedded" else "",
        settings.openai_base_url,
        settings.openai_api_key,
        settings.llm_timeout_s,
        settings.llm_retries,
    )
    with _models_lock:
        found = _models.get(key)
        if found is None:
            found = _models[key] = _build(backend, model, settings)
        return found


def get_persona_renderer(settings: Settings | None = None, backend: str | None = None) -> LineRenderer:
    """What the turn loop uses to voice members: authored lines for `scripted`, a guarded model otherwise."""
    from holdspace.engine.rendering import AuthoredRenderer

    if settings is None:
        from holdspace.settings import get_settings

        settings = get_settings()
    backend = backend or settings.persona_backend
    if backend == "scripted":
        return AuthoredRenderer()
    from holdspace.engine.model_rendering import ModelRenderer

    if backend != settings.persona_backend:
        settings = settings.model_copy(update={"persona_backend": backend})
    # A server behind the openai backend is assumed capable: same beats, fewer constraints.
    return ModelRenderer(get_chat_model("persona", settings), capable=backend == "openai")


def describe_backend(role: Role, settings: Settings | None = None) -> str:
    """One line saying what is configured for `role`, for `holdspace models` and the UI."""
    if settings is None:
        from holdspace.settings import get_settings

        settings = get_settings()
    backend, model = _backend_for(role, settings)
    if backend == "none":
        return "none (no model is used)"
    if backend == "embedded":
        return "embedded: SmolLM2-135M-Instruct (bundled GGUF) in llama.cpp on 127.0.0.1"
    if backend == "openai":
        return f"openai: {model} at {settings.openai_base_url or 'api.openai.com'}"
    return "scripted: authored lines only, deterministic"


def reset_models() -> None:
    """Forget shared model instances (tests change settings between cases)."""
    with _models_lock:
        _models.clear()
