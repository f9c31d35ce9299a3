"""Once per process and database: bring the schema up to date before any page queries it."""

from __future__ import annotations

import logging
import threading

import streamlit as st

from holdspace.storage import database_url, ensure_database

log = logging.getLogger("holdspace.ui")


@st.cache_resource(show_spinner="Preparing the database…")
def _ensure(url: str) -> bool:
    ensure_database(url)
    return True


def database_ready() -> bool:
    """True when the database is usable; otherwise an explanation is on the page."""
    url = database_url()
    try:
        return _ensure(url)
    except Exception as exc:  # noqa: BLE001 - explained on the page, detailed in the log
        log.exception("database unavailable")
        st.error(
            f"The database cannot be opened ({type(exc).__name__}). Check HOLDSPACE_DATABASE_URL or the data "
            "folder's permissions, then run `holdspace db upgrade`."
        )
        return False


@st.cache_resource(show_spinner=False)
def _warm_up(backend: str) -> threading.Thread | None:
    """Start the persona model and the embedder in the background, once per process, so the trainee's
    first reply does not wait for a model server to start (several seconds on a small machine)."""
    if backend == "scripted":
        return None

    def work() -> None:
        try:
            from holdspace.models import get_chat_model
            from holdspace.models.base import ChatMessage, ChatPrompt, GenerationOptions

            prompt = ChatPrompt((ChatMessage("user", "Say hello."),), options=GenerationOptions(max_tokens=4))
            get_chat_model("persona").complete(prompt)
        except Exception as exc:  # noqa: BLE001 - the first round will report a real failure itself
            log.warning("persona model warm-up failed: %r", exc)
        try:
            from holdspace.embeddings import get_embedder

            get_embedder().encode_one("warm up")
        except Exception as exc:  # noqa: BLE001
            log.warning("embedder warm-up failed: %r", exc)

    thread = threading.Thread(target=work, name="holdspace-warm-up", daemon=True)
    thread.start()
    return thread


def warm_up() -> None:
    from holdspace.settings import get_settings

    _warm_up(get_settings().persona_backend)
