"""Once per process and database: bring the schema up to date before any page queries it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

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


def _quietly(what: str, work: Callable[[], object]) -> None:
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - the first real use reports a failure itself
        log.warning("%s warm-up failed: %r", what, exc)


def _model() -> None:
    from holdspace.models import get_chat_model
    from holdspace.models.base import ChatMessage, ChatPrompt, GenerationOptions

    prompt = ChatPrompt((ChatMessage("user", "Say hello."),), options=GenerationOptions(max_tokens=4))
    get_chat_model("persona").complete(prompt)


def _scoring() -> None:
    from holdspace.services import practice

    practice.default_detector()
    practice.default_scorer()


def _guide() -> None:
    from holdspace.retrieval import get_retriever

    get_retriever().load()


@st.cache_resource(show_spinner=False)
def _warm_up(backend: str) -> threading.Thread:
    """Load the move detector, the scorer, the guide index and (unless scripted) the persona model in the
    background, once per process, so the first session and the first reply do not wait for them."""

    def work() -> None:
        _quietly("move detector and scorer", _scoring)
        if backend != "scripted":
            _quietly("persona model", _model)
        _quietly("guide index", _guide)

    thread = threading.Thread(target=work, name="holdspace-warm-up", daemon=True)
    thread.start()
    return thread


def _real_server() -> bool:
    """True under `streamlit run`; streamlit.testing stands a mock in for the runtime (and tests choose their
    own detector, scorer and model, so a background load there would only compete with them)."""
    from streamlit import runtime

    return runtime.exists() and type(runtime.get_instance()) is runtime.Runtime


def warm_up() -> None:
    from holdspace.settings import get_settings

    if _real_server():
        _warm_up(get_settings().persona_backend)
