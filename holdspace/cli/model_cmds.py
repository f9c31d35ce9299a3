"""`holdspace models`: what is configured for personas and the judge, and whether each actually answers."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

import typer

from holdspace.models import ModelError, describe_backend, get_chat_model
from holdspace.models.base import ChatMessage, ChatPrompt, GenerationOptions

PING = ChatPrompt(
    (ChatMessage("user", "Reply with one short friendly sentence."),),
    options=GenerationOptions(max_tokens=12, temperature=0.0, seed=1),
)


@dataclass
class Check:
    role: str
    backend: str
    model: str
    description: str
    ok: bool
    latency_s: float | None = None
    reply: str | None = None
    message: str = ""


def check_role(role: str, *, round_trip: bool = True) -> Check:
    """Configuration for `role` plus, unless disabled, a real request with its latency."""
    from holdspace.settings import get_settings

    settings = get_settings()
    backend = settings.persona_backend if role == "persona" else settings.judge_backend
    model = settings.persona_model if role == "persona" else settings.judge_model
    check = Check(role, backend, model, describe_backend(role, settings), ok=True)  # type: ignore[arg-type]
    if backend == "none":
        check.message = "not used: the default scorer is offline and deterministic"
        return check
    if backend == "scripted":
        check.message = "authored lines only; nothing to reach"
        return check
    if backend == "embedded" and role == "persona" and model != "smollm2-135m-instruct":
        check.message = f"persona_model={model!r} is ignored: the embedded backend runs the bundled SmolLM2. "
    if not round_trip:
        return check
    try:
        if backend == "embedded":
            from holdspace.models.embedded import get_server

            t0 = time.perf_counter()
            server = get_server()
            check.message += f"server on {server.base_url} (started in {time.perf_counter() - t0:.1f} s). "
        chat = get_chat_model(role, settings)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        reply = chat.complete(PING)
        check.latency_s = time.perf_counter() - t0
        check.reply = reply.strip()[:80]
        if not check.reply:
            check.ok = False
            check.message += "answered with empty text"
    except ModelError as exc:
        check.ok = False
        check.message += f"not reachable: {exc}"
        if backend == "openai":
            check.message += (
                f" — check HOLDSPACE_OPENAI_BASE_URL, HOLDSPACE_OPENAI_API_KEY and HOLDSPACE_{role.upper()}_MODEL"
            )
    return check


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models(
        as_json: bool = typer.Option(False, "--json", help="print the checks as JSON"),
        no_check: bool = typer.Option(False, "--no-check", help="show the configuration without calling models"),
    ) -> None:
        """Show the persona and judge backends and check that each answers (a real round trip)."""
        checks = [check_role(role, round_trip=not no_check) for role in ("persona", "judge")]
        if as_json:
            typer.echo(json.dumps([asdict(c) for c in checks], indent=2))
        else:
            for c in checks:
                status = "ok" if c.ok else "FAILED"
                typer.echo(f"{c.role:8} {c.description}")
                detail = f"{c.latency_s:.2f} s" if c.latency_s is not None else ""
                if c.reply:
                    detail += f'  "{c.reply}"'
                typer.echo(f"{'':8} {status}  {detail}".rstrip())
                if c.message:
                    typer.echo(f"{'':8} {c.message.strip()}")
        if not all(c.ok for c in checks):
            raise typer.Exit(1)
