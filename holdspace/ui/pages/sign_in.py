"""Sign in with username and password."""

from __future__ import annotations

import streamlit as st

from holdspace.services import accounts
from holdspace.ui import auth
from holdspace.ui.common import run_page, show_flash


def render() -> None:
    st.title("Sign in to holdspace")
    show_flash()
    with st.form("sign_in_form"):
        username = st.text_input("Username", max_chars=40, autocomplete="username")
        password = st.text_input(
            "Password", type="password", max_chars=accounts.PASSWORD_MAX, autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    st.caption("No account yet? Ask your trainer to add one for you.")
    if not submitted:
        return
    user = accounts.authenticate(username, password)
    if user is None:
        st.error("That username and password do not match an account.")
        return
    auth.sign_in(user)
    st.rerun()


if __name__ == "__main__":
    run_page(render)
