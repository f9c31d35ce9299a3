"""Each page through streamlit.testing's AppTest, driven through the real app.py (navigation included)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from holdspace.engine.session import TurnScore
from holdspace.services import accounts, practice, sessions_service

PAGES = "holdspace/ui/pages"
SCENARIO = "fixture-relapse-circle"
GOOD = "a quiet room at dusk"
REPLY = "Welcome, everyone. What would you like to talk about tonight?"


def button(at: AppTest, label: str, index: int = -1):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[index]


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def param(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


class FakeScorer:
    def score_turn(self, reply, moves, context, situation) -> TurnScore:
        return TurnScore(
            scores={"empathy": 4, "participation": 2},
            overall=3.0,
            feedback="You asked two closed questions in a row; Dana went quiet.",
            alternative="Dana, what has this week been like for you?",
            citations=[
                {
                    "source": "encouraging-quiet-members",
                    "section": "Inviting without pressure",
                    "title": "Encouraging quiet members",
                    "excerpt": "Invite by name; make passing easy.",
                }
            ],
        )


# ------------------------------------------------------------------------------------------ first run
def test_first_run_creates_the_first_trainer_and_signs_in(app: AppTest) -> None:
    app.run()
    clean(app)
    assert app.title[0].value == "Welcome to holdspace"
    labels = [t.label for t in app.text_input]
    assert labels == ["Username", "Your name (shown in the app)", "Password", "Repeat the password"]
    app.text_input[0].input("Terry")
    app.text_input[1].input("Terry Trainer")
    app.text_input[2].input(GOOD)
    app.text_input[3].input(GOOD)
    button(app, "Create the trainer account").click().run()
    clean(app)
    assert app.title[0].value == "Practice library"
    assert app.session_state["user"].role == "trainer"
    assert accounts.user_for_token(param(app, "t")).username == "terry"
    assert not accounts.needs_first_run()


def test_first_run_explains_a_rejected_password(app: AppTest) -> None:
    app.run()
    app.text_input[0].input("terry")
    app.text_input[2].input("short")
    app.text_input[3].input("short")
    button(app, "Create the trainer account").click().run()
    assert "at least 10" in app.error[0].value
    app.text_input[2].input(GOOD)
    app.text_input[3].input(GOOD + "!")
    button(app, "Create the trainer account").click().run()
    assert "differ" in app.error[0].value
    assert accounts.needs_first_run()


# ------------------------------------------------------------------------------------------ sign-in
def test_sign_in_page(users, app: AppTest) -> None:
    app.run()
    assert app.title[0].value == "Sign in to holdspace"
    app.text_input[0].input("tina")
    app.text_input[1].input("wrong password here")
    button(app, "Sign in").click().run()
    assert "do not match" in app.error[0].value
    app.text_input[1].input("another quiet room")
    button(app, "Sign in").click().run()
    clean(app)
    assert app.title[0].value == "Practice library"
    assert app.session_state["user"].username == "tina"


def test_a_token_in_the_url_survives_a_reload_and_sign_out_revokes_it(users, app: AppTest) -> None:
    token = accounts.issue_token(users[1].id)
    app.query_params["t"] = token
    app.run()
    assert app.title[0].value == "Practice library"
    button(app, "Sign out").click().run()
    assert app.title[0].value == "Sign in to holdspace"
    assert accounts.user_for_token(token) is None
    fresh = AppTest.from_file(app._script_path, default_timeout=60)
    fresh.query_params["t"] = token
    fresh.run()
    assert fresh.title[0].value == "Sign in to holdspace"


def test_navigation_shows_each_role_its_pages(signed_in: Callable[..., AppTest]) -> None:
    at = signed_in("trainee")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"{PAGES}/trainer.py")
    at = signed_in("trainer", page="trainer")
    clean(at)
    assert at.title[0].value == "Trainees"


# ------------------------------------------------------------------------------------------ home
def test_home_filters_the_library_and_shows_briefings(signed_in: Callable[..., AppTest]) -> None:
    at = signed_in("trainee")
    clean(at)
    assert [s.value for s in at.subheader][:1] == ["Your assignments"]
    assert [m.label for m in at.multiselect] == ["Group type", "Challenge", "Stage", "Difficulty"]
    assert "A relapse in the circle" in [s.value for s in at.subheader]
    text = markdown(at)
    assert "**Marcus** — A long\\-time member" in text and "Acknowledge Priya" in text
    at.multiselect[3].select("beginner").run()
    titles = [s.value for s in at.subheader]
    assert "A quiet first evening" in titles and "A relapse in the circle" not in titles
    assert at.caption[-1].value.startswith("1 of 2") or any("1 of 2" in c.value for c in at.caption)


def test_heavy_scenarios_need_the_content_note_read(signed_in: Callable[..., AppTest]) -> None:
    at = signed_in("trainee")
    assert any("Content note" in w.value for w in at.warning)
    start = [b for b in at.button if b.label == "Start this scenario"]
    assert [b.disabled for b in start] == [False, True]  # beginner scenario has no note; the relapse one has
    at.checkbox[0].check().run()
    assert not button(at, "Start this scenario").disabled
    button(at, "Start this scenario").click().run()
    clean(at)
    assert at.title[0].value == "A relapse in the circle"
    assert at.query_params["s"]


# ------------------------------------------------------------------------------------------ practice
def _start(signed_in: Callable[..., AppTest]) -> AppTest:
    at = signed_in("trainee")
    at.checkbox[0].check().run()
    button(at, "Start this scenario").click().run()
    return at


def test_the_practice_room_plays_a_round(signed_in: Callable[..., AppTest]) -> None:
    at = _start(signed_in)
    assert [m.name for m in at.chat_message] == ["Marcus"]
    at.chat_input[0].set_value(REPLY).run()
    clean(at)
    names = [m.name for m in at.chat_message]
    assert names[:2] == ["Marcus", "You"] and len(names) >= 3
    assert set(names[2:]) <= {"Marcus", "Dana", "Priya"}
    assert REPLY in texts(at)
    assert any("Turn 1 of 4" in c.value for c in at.caption)
    session_id = int(param(at, "s"))
    records = sessions_service.get_transcript(session_id, at.session_state["user"]).records
    assert [r["text"] for r in records] == [t for t in texts(at) if t in {r["text"] for r in records}]


def test_trainee_text_is_shown_as_text_never_markup(signed_in: Callable[..., AppTest]) -> None:
    at = _start(signed_in)
    risky = "**Bold?** <script>alert(1)</script> [link](http://example.com) :red[red] $x^2$"
    at.chat_input[0].set_value(risky).run()
    clean(at)
    assert risky in texts(at)
    assert not any("<script>" in m.value for m in at.markdown)


def test_coach_and_dynamics_panels(signed_in: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeRetriever:
        def cite(self, query: str, k: int = 2) -> list[dict]:
            return [
                {
                    "source": "dominating-members",
                    "section": "Interrupting a monologue kindly",
                    "title": "When one member dominates",
                    "excerpt": "Thank them, name the time, open the floor.",
                }
            ]

    import holdspace.retrieval

    monkeypatch.setattr(holdspace.retrieval, "get_retriever", lambda: FakeRetriever())
    at = _start(signed_in)
    at.chat_input[0].set_value(REPLY).run()
    at.toggle[0].set_value(True).run()
    at.toggle[1].set_value(True).run()
    button(at, "Give me a hint").click().run()
    clean(at)
    text = markdown(at)
    assert "What the room looks like" in text and "When one member dominates" in text
    assert any("Thank them, name the time" in c.value for c in at.caption)
    assert [p.value for p in at.get("progress")]  # tension, engagement, safety
    assert "Who has spoken how much" in text


def test_pause_and_resume_from_another_device(signed_in: Callable[..., AppTest], users) -> None:
    at = _start(signed_in)
    at.chat_input[0].set_value(REPLY).run()
    shown = texts(at)
    session_id = int(param(at, "s"))
    button(at, "Pause").click().run()
    clean(at)
    assert at.title[0].value == "Practice library"
    assert any("Paused" in i.value for i in at.info)
    assert sessions_service.get_session(session_id, users[1]).status == "paused"
    other = AppTest.from_file(at._script_path, default_timeout=60)  # another device, signed in afresh
    other.query_params["t"] = accounts.issue_token(users[1].id)
    other.run()
    button(other, "Resume").click().run()
    clean(other)
    assert other.title[0].value == "A relapse in the circle"
    assert texts(other) == shown
    other.chat_input[0].set_value("Dana, how has your week been?").run()
    clean(other)
    assert "Dana, how has your week been?" in texts(other)


def test_end_now_opens_the_report(signed_in: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(practice, "default_scorer", lambda: FakeScorer())
    at = _start(signed_in)
    at.chat_input[0].set_value(REPLY).run()
    button(at, "End and see the report").click().run()
    clean(at)
    assert at.title[0].value == "Report: A relapse in the circle"
    text = markdown(at)
    assert "not met" in text  # objectives
    assert "Turn 1: moves, scores and coaching (overall 3.0)" in [e.label for e in at.expander]
    assert "**Feedback:** You asked two closed questions in a row; Dana went quiet\\." in text
    assert "**A better alternative:** Dana, what has this week been like for you?" in text
    assert any("Encouraging quiet members" in c.value for c in at.caption)
    assert len(at.get("download_button")) == 3


# ------------------------------------------------------------------------------------------ report
def _finished_session(user: accounts.UserInfo) -> int:
    live = sessions_service.start_session(user.id, SCENARIO, seed=2)
    for reply in (REPLY, "Priya, thank you for telling us. How are you doing right now?"):
        for _ in live.send(reply):
            pass
    live.end_now()
    return live.id


def test_report_adds_notes_and_offers_exports(signed_in: Callable[..., AppTest], users) -> None:
    session_id = _finished_session(users[1])
    at = signed_in("trainee", page="report", s=str(session_id))
    clean(at)
    assert at.title[0].value == "Report: A relapse in the circle"
    assert [h.value for h in at.header] == ["Transcript", "Add a note", "Export"]
    assert at.selectbox[0].label == "Turn to annotate"
    at.text_area[0].input("I could have named Dana here.")
    button(at, "Save the note").click().run()
    clean(at)
    assert "I could have named Dana here." in texts(at)
    assert any("Note saved" in s.value for s in at.success)
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["Markdown", "PDF", "JSON"]


def test_trainers_read_reports_but_do_not_annotate_them(signed_in: Callable[..., AppTest], users) -> None:
    session_id = _finished_session(users[1])
    at = signed_in("trainer", page="report", s=str(session_id))
    clean(at)
    assert "Add a note" not in [h.value for h in at.header]


# ------------------------------------------------------------------------------------------ history
def test_history_lists_sessions_and_reopens_them(
    signed_in: Callable[..., AppTest], users, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(practice, "default_scorer", lambda: FakeScorer())
    first = _finished_session(users[1])
    _finished_session(users[1])
    at = signed_in("trainee", page="history")
    clean(at)
    assert at.title[0].value == "History"
    assert "Scores over time" in [s.value for s in at.subheader]
    assert len([b for b in at.button if b.label == "Open"]) == 2
    button(at, "Open").click().run()  # the oldest is listed last
    clean(at)
    assert at.title[0].value == "Report: A relapse in the circle"
    assert param(at, "s") == str(first)


# ------------------------------------------------------------------------------------------ trainer
def test_trainer_adds_a_trainee(signed_in: Callable[..., AppTest]) -> None:
    at = signed_in("trainer", page="trainer")
    at.text_input[0].input("Sam")
    at.text_input[1].input("Sam Trainee")
    at.text_input[2].input("short")
    button(at, "Add the trainee").click().run()
    assert "at least 10" in at.error[0].value
    at.text_input[2].input("a long first password")
    button(at, "Add the trainee").click().run()
    clean(at)
    assert any("Added sam" in s.value for s in at.success)
    assert any("Sam Trainee (sam)" in e.label for e in at.expander)
    assert accounts.authenticate("sam", "a long first password").role == "trainee"


# ------------------------------------------------------------------------------------------ errors
def test_a_failing_service_shows_a_message_not_a_traceback(
    signed_in: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(user_id: int):
        raise RuntimeError("database went away")

    monkeypatch.setattr(sessions_service, "list_sessions", broken)
    at = signed_in("trainee", page="history")
    assert not at.exception
    assert "Something went wrong on this page (RuntimeError)" in at.error[0].value
    assert "database went away" not in at.error[0].value
