"""First run: create the first trainer account (offered only while no account exists)."""

from __future__ import annotations

import streamlit as st

from holdspace.services import accounts
from holdspace.ui import auth
from holdspace.ui.common import run_page


def render() -> None:
    st.title("Welcome to holdspace")
    st.write(
        "holdspace is a practice room for peer support specialists who facilitate groups. To begin, create "
        "the first trainer account. Trainers add trainee accounts; there is no default password."
    )
    if not accounts.needs_first_run():
        st.info("This installation is already set up. Reload the page to sign in.")
        return
    with st.form("setup_form"):
        username = st.text_input(
            "Username",
            max_chars=32,
            help="3 to 32 letters, digits, dots, hyphens or underscores",
            autocomplete="username",
        )
        display_name = st.text_input("Your name (shown in the app)", max_chars=80, autocomplete="name")
        password = st.text_input(
            "Password",
            type="password",
            max_chars=accounts.PASSWORD_MAX,
            help=f"At least {accounts.PASSWORD_MIN} characters; a short phrase works well.",
            autocomplete="new-password",
        )
        confirm = st.text_input(
            "Repeat the password",
            type="password",
            max_chars=accounts.PASSWORD_MAX,
            autocomplete="new-password",
        )
        submitted = st.form_submit_button("Create the trainer account", type="primary")
    if not submitted:
        return
    if password != confirm:
        st.error("The two passwords differ; type them again.")
        return
    try:
        user = accounts.create_first_trainer(username, password, display_name)
    except accounts.AccountError as exc:
        st.error(str(exc))
        return
    auth.sign_in(user)
    st.rerun()


if __name__ == "__main__":
    run_page(render)
