"""What every page shares: the signed-in user, moving between pages with the sign-in kept in the URL,
safe display of trainee and model text, member colours, and the error boundary around each page.

Trainee and model text is shown with `st.text` (no Markdown, no HTML) or escaped before `st.markdown`;
the only HTML the app writes is a `<style>` block built from validated persona colours.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import streamlit as st

from holdspace.services.accounts import AccountError, UserInfo
from holdspace.services.assignments import AssignmentError
from holdspace.services.exports import escape_markdown
from holdspace.services.sessions_service import SessionError

log = logging.getLogger("holdspace.ui")

PAGES_DIR = Path(__file__).resolve().parent / "pages"
#: query parameters: the sign-in token and the session a page shows
TOKEN_PARAM = "t"
SESSION_PARAM = "s"
FACILITATOR_NAME = "You"
FACILITATOR_AVATAR = "🧑‍🏫"
SYSTEM_AVATAR = "🔔"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

STATUS_LABELS = {
    "in_progress": "in progress",
    "paused": "paused",
    "completed": "completed",
    "ended_early": "ended early",
    "crisis": "ended in crisis",
}


def page_path(name: str) -> str:
    return str(PAGES_DIR / f"{name}.py")


def esc(text: Any) -> str:
    """Text made safe for st.markdown: every Markdown character escaped (HTML is never enabled)."""
    return escape_markdown(str(text))


def current_user() -> UserInfo | None:
    user = st.session_state.get("user")
    return user if isinstance(user, UserInfo) else None


def require_user() -> UserInfo:
    user = current_user()
    if user is None:
        st.warning("Please sign in.")
        st.stop()
    return user


def go(page: str, **params: str | int) -> None:
    """Switch page, keeping the sign-in token in the URL so a reload there stays signed in."""
    query = {k: str(v) for k, v in params.items()}
    token = st.session_state.get("token")
    if token:
        query[TOKEN_PARAM] = token
    st.switch_page(page_path(page), query_params=query)


def flash(message: str, kind: str = "success") -> None:
    """A message for the next page shown (after st.switch_page or st.rerun)."""
    st.session_state["flash"] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop("flash", (None, None))
    if message:
        {"success": st.success, "info": st.info, "warning": st.warning}.get(kind, st.info)(message)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def session_param() -> int | None:
    raw = st.query_params.get(SESSION_PARAM)
    if raw and str(raw).isdigit():
        return int(raw)
    return None


# ------------------------------------------------------------------------------------------ colours
def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def readable(hex_colour: str) -> str:
    """The colour darkened until it reaches 4.5:1 contrast on white (WCAG AA for text)."""
    if not _HEX.match(hex_colour):
        return "#333333"
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    for _ in range(20):
        colour = f"#{r:02x}{g:02x}{b:02x}"
        if 1.05 / (_luminance(colour) + 0.05) >= 4.5:
            return colour
        r, g, b = int(r * 0.85), int(g * 0.85), int(b * 0.85)
    return "#333333"


def _css_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " -_'." else f"\\{ord(c):x} " for c in text) + '"'


def member_styles(personas: dict[str, Any]) -> None:
    """Each member's colour on their messages (a left border and their name), as a style block built only
    from validated `#rrggbb` colours and CSS-escaped names."""
    rules = []
    for name, persona in personas.items():
        colour = getattr(persona, "color", "")
        if not _HEX.match(colour):
            continue
        label = _css_string(f"Chat message from {name}")
        rules.append(
            f'[data-testid="stChatMessageContent"][aria-label={label}]'
            f"{{border-left:4px solid {colour};padding-left:.6rem}}"
            f'[data-testid="stChatMessageContent"][aria-label={label}] strong'
            f"{{color:{readable(colour)}}}"
        )
    facilitator = _css_string(f"Chat message from {FACILITATOR_NAME}")
    rules.append(
        f'[data-testid="stChatMessageContent"][aria-label={facilitator}]'
        "{border-left:4px solid #4a4a4a;padding-left:.6rem}"
    )
    st.html("<style>" + "".join(rules) + "</style>")


def speaker_look(record: dict[str, Any], personas: dict[str, Any]) -> tuple[str, str, str]:
    """(chat name, avatar, shown label) for a transcript record."""
    role = record.get("role")
    if role == "facilitator":
        return FACILITATOR_NAME, FACILITATOR_AVATAR, "You (facilitator)"
    if role == "system":
        return "Session", SYSTEM_AVATAR, "Session"
    name = str(record.get("speaker", "member"))
    persona = personas.get(name)
    return name, getattr(persona, "avatar", None) or "🙂", name


def cue_caption(target: Any, cue: str | None) -> None:
    """A member's delivery in words above the line (e.g. "cuts in", "talks over Dana"): text, so it does not
    rest on colour and a screen reader says it."""
    if cue:
        target.caption(f"*{esc(cue)}*")


def chat_record(
    record: dict[str, Any], personas: dict[str, Any], container: Any = None, cue: str | None = None
) -> None:
    """One transcript record as a chat message: the speaker's name, how the line was delivered when that
    matters (`cue`), then the text exactly as written."""
    if record.get("role") == "system":
        (container or st).info(esc(record.get("text", "")), icon=SYSTEM_AVATAR)
        return
    name, avatar, label = speaker_look(record, personas)
    message = (container or st).chat_message(name, avatar=avatar)
    message.markdown(f"**{esc(label)}**")
    cue_caption(message, cue)
    message.text(str(record.get("text", "")))


# ------------------------------------------------------------------------------------------ errors
def run_page(render: Callable[[], None]) -> None:
    """The error boundary of every page: a refusal shows its message, anything unexpected a short apology
    (the traceback goes to the server log, never to the page)."""
    try:
        render()
    except (SessionError, AccountError, AssignmentError) as exc:
        st.error(str(exc))
    except Exception as exc:  # noqa: BLE001 - the page must not show a traceback
        log.exception("page failed")
        st.error(
            f"Something went wrong on this page ({type(exc).__name__}). Your work up to the last saved "
            "turn is safe; try again, or reload the page."
        )
