"""Sign-in state for the web app: the user lives in `st.session_state`, and the sign-in token in the URL
(`?t=...`), so reloading the page (a new Streamlit session) signs the user back in from the token.

The token is random and revocable (see `holdspace.services.accounts`); it is never the password.
"""

from __future__ import annotations

import streamlit as st

from holdspace.services import accounts
from holdspace.services.accounts import UserInfo
from holdspace.ui.common import TOKEN_PARAM, current_user, esc


def restore() -> UserInfo | None:
    """The signed-in user: from this browser session, else from a valid token in the URL."""
    user = current_user()
    token = st.query_params.get(TOKEN_PARAM)
    if user is not None:
        held = st.session_state.get("token")
        # Checked on every run, so an expired sign-in or a sign-out elsewhere ends this tab's too.
        if not held or accounts.user_for_token(held) is None:
            sign_out()
            return None
        # Navigating between pages clears the query string; put the token back so a reload keeps working.
        if token != held:
            st.query_params[TOKEN_PARAM] = held
        return user
    if token:
        user = accounts.user_for_token(str(token))
        if user is not None:
            st.session_state["user"] = user
            st.session_state["token"] = str(token)
            return user
        del st.query_params[TOKEN_PARAM]  # expired or revoked: show the sign-in form on a clean URL
    return None


def sign_in(user: UserInfo) -> None:
    token = accounts.issue_token(user.id)
    st.session_state["user"] = user
    st.session_state["token"] = token
    st.query_params[TOKEN_PARAM] = token


def sign_out() -> None:
    accounts.revoke_token(st.session_state.get("token"))
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.query_params.clear()


def sidebar(user: UserInfo) -> None:
    with st.sidebar:
        st.caption(f"Signed in as {esc(user.label)} ({user.role})")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            sign_out()
            st.rerun()
