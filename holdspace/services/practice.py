"""Practice service: build a session for a scenario with the configured detector, renderer and scorer.

The command line and the web app both come through here, so a session is assembled one way only.
"""

from __future__ import annotations

import json
from pathlib import Path

from holdspace.content import get_library
from holdspace.engine.moves import MoveDetector, RuleMoveDetector
from holdspace.engine.rendering import AuthoredRenderer, LineRenderer
from holdspace.engine.session import GroupSession, TurnScorer
from holdspace.settings import get_settings

BACKENDS = ("scripted", "embedded", "openai")


def default_detector() -> MoveDetector:
    """The best available move detector: the scorer's trained one when present, else the rules."""
    try:
        from holdspace.scoring import get_move_detector  # type: ignore[attr-defined]
    except ImportError:
        return RuleMoveDetector()
    return get_move_detector()


def default_scorer() -> TurnScorer | None:
    try:
        from holdspace.scoring import get_turn_scorer  # type: ignore[attr-defined]
    except ImportError:
        return None
    return get_turn_scorer()


def make_renderer(backend: str | None = None) -> LineRenderer:
    name = backend or get_settings().persona_backend
    if name not in BACKENDS:
        raise ValueError(f"unknown model {name!r}; use one of {', '.join(BACKENDS)}")
    if name == "scripted":
        return AuthoredRenderer()
    from holdspace.models import get_persona_renderer

    return get_persona_renderer(backend=name)


def build_session(scenario_id: str, *, seed: int = 0, backend: str | None = None) -> GroupSession:
    library = get_library()
    scenario = library.scenario(scenario_id)
    return GroupSession(
        scenario,
        library.personas_for(scenario),
        seed=seed,
        detector=default_detector(),
        renderer=make_renderer(backend),
        scorer=default_scorer(),
    )


def transcript_lines(session: GroupSession) -> list[str]:
    return [json.dumps(record, ensure_ascii=False, sort_keys=False) for record in session.transcript()]


def write_transcript(session: GroupSession, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(transcript_lines(session)) + "\n", encoding="utf-8")
