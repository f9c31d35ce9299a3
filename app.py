"""holdspace's web app: the entry point does sign-in and role-based navigation only; every page lives
in `holdspace/ui/pages/` and calls the services.

    streamlit run app.py        (or `make run`)
"""

from __future__ import annotations

import streamlit as st

from holdspace.services.accounts import needs_first_run
from holdspace.ui import auth
from holdspace.ui.common import page_path
from holdspace.ui.startup import database_ready, warm_up

st.set_page_config(page_title="holdspace", page_icon="🪑", layout="wide")
st.set_option("client.showErrorDetails", "none")  # errors are caught per page; never show a traceback
st.set_option("client.toolbarMode", "minimal")

if not database_ready():
    st.stop()
warm_up()

user = auth.restore()
if user is None:
    if needs_first_run():
        gate = st.Page(page_path("setup"), title="Set up holdspace", icon="🪑", url_path="setup", default=True)
    else:
        gate = st.Page(page_path("sign_in"), title="Sign in", icon="🔑", url_path="sign-in", default=True)
    st.navigation([gate], position="hidden").run()
else:
    pages = {
        "Practice": [
            st.Page(page_path("home"), title="Home", icon="🏠", url_path="home", default=True),
            st.Page(page_path("practice"), title="Practice room", icon="💬", url_path="practice"),
            st.Page(page_path("report"), title="Session report", icon="📋", url_path="report"),
            st.Page(page_path("history"), title="History", icon="🗂️", url_path="history"),
        ],
    }
    if user.is_trainer:
        pages["Trainer"] = [st.Page(page_path("trainer"), title="Trainees", icon="🧑‍🏫", url_path="trainees")]
    navigation = st.navigation(pages)
    auth.sidebar(user)
    navigation.run()
