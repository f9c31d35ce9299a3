"""Assignments on the trainer page and on Home, and the cue on a member's line that cuts in (practice room
and report), through the real app.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from holdspace.content import get_library
from holdspace.services import assignments, exports, sessions_service
from holdspace.services.reports import build_report
from holdspace.storage import PracticeSession, session_scope, utcnow

PAGES = "holdspace/ui/pages"
RELAPSE = "fixture-relapse-circle"
QUIET = "fixture-quiet-evening"
REPLIES = [
    "Welcome, everyone. What would you like to talk about tonight?",
    "Dana, how has your week been?",
    "Priya, what would help you most tonight?",
]


def button(at: AppTest, label: str, index: int = 0):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[index]


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def by_label(widgets, label: str):
    found = [w for w in widgets if w.label == label]
    assert found, f"no widget {label!r}: {[w.label for w in widgets]}"
    return found[0]


# ------------------------------------------------------------------------------------------ trainer
def test_trainer_builds_a_set_assigns_it_and_sees_progress(signed_in: Callable[..., AppTest], users) -> None:
    _, trainee = users
    at = signed_in("trainer", page="trainer")
    clean(at)
    assert [t.label for t in at.tabs] == ["Trainees", "Scenario sets", "Assignments"]
    assert any("Create a scenario set (on the Scenario sets tab)" in c for c in captions(at))

    by_label(at.text_input, "Set name").input("Week 1: first evenings")
    picker = by_label(at.multiselect, "Scenarios, in the order to practise them")
    assert picker.options == ["A quiet first evening", "A relapse in the circle"]  # titles, not ids
    picker.select(RELAPSE).select(QUIET)
    button(at, "Create the set").click().run()
    clean(at)
    assert any("Created the set “Week 1: first evenings” with 2 scenarios" in s.value for s in at.success)
    assert "1\\. A relapse in the circle" in markdown(at) and "2\\. A quiet first evening" in markdown(at)
    (made,) = assignments.list_sets()
    assert made.scenario_ids == (RELAPSE, QUIET)

    due = utcnow().date() + timedelta(days=7)
    by_label(at.multiselect, "Trainees").select(trainee.id)
    by_label(at.date_input, "Due date (optional)").set_value(due)
    button(at, "Assign").click().run()
    clean(at)
    assert any(f"Assigned “Week 1: first evenings” to Tina Trainee (tina), due {due}" in s.value for s in at.success)
    (assignment,) = assignments.assignments_for(trainee.id)
    assert assignment.due_date == due

    table = at.dataframe[0].value
    assert table.to_dict("records") == [
        {
            "Trainee": "Tina Trainee (tina)",
            "Set": "Week 1: first evenings",
            "Due": due.isoformat(),
            "Status": "open",
            "Done": "0 of 2",
            "Progress": 0.0,
            "Scenarios": "A relapse in the circle: not started; A quiet first evening: not started",
        }
    ]
    # the same name again is refused with the reason
    by_label(at.text_input, "Set name").input("Week 1: first evenings")
    by_label(at.multiselect, "Scenarios, in the order to practise them").select(QUIET)
    button(at, "Create the set").click().run()
    assert "already exists" in at.error[0].value


def test_trainer_removes_an_assignment(signed_in: Callable[..., AppTest], users) -> None:
    _, trainee = users
    week = assignments.create_set("Week 1", [QUIET])
    assignments.assign_set(week.id, trainee.id)
    at = signed_in("trainer", page="trainer")
    button(at, "Remove the assignment").click().run()
    clean(at)
    assert assignments.assignments_for(trainee.id) == []
    assert any("Nothing assigned yet" in c for c in captions(at))


# ------------------------------------------------------------------------------------------ home
def test_home_without_assignments_says_so(signed_in: Callable[..., AppTest]) -> None:
    at = signed_in("trainee")
    clean(at)
    assert [s.value for s in at.subheader][:1] == ["Your assignments"]
    assert any(c.startswith("Nothing assigned to you yet") for c in captions(at))


def test_home_shows_an_assignment_and_starts_it_through_the_briefing(signed_in: Callable[..., AppTest], users) -> None:
    trainer, trainee = users
    week = assignments.create_set("Week 1", [RELAPSE, QUIET], "Openings and a hard moment.")
    yesterday = utcnow().date() - timedelta(days=1)
    assignment = assignments.assign_set(week.id, trainee.id, yesterday, assigned_by=trainer.id)
    at = signed_in("trainee")
    clean(at)
    text = markdown(at)
    assert f"**Week 1** · 0 of 2 done · due {yesterday.isoformat()} · ⚠️ **overdue**" in text
    assert "○ A relapse in the circle — not started" in text and "○ A quiet first evening — not started" in text
    assert "Openings and a hard moment\\." in captions(at)
    assert [b.label for b in at.button][:2] == ["Start", "Start"]

    button(at, "Start").click().run()  # the relapse scenario: its briefing and content note, as in the library
    clean(at)
    start = at.button(key=f"start_a{assignment.id}_{RELAPSE}")
    assert start.disabled  # the content note must be read first
    at.checkbox(key=f"consent_a{assignment.id}_{RELAPSE}").check().run()
    at.button(key=f"start_a{assignment.id}_{RELAPSE}").click().run()
    clean(at)
    assert at.title[0].value == "A relapse in the circle"
    session_id = int(at.query_params["s"][0] if isinstance(at.query_params["s"], list) else at.query_params["s"])
    with session_scope() as db:
        assert db.get(PracticeSession, session_id).assignment_id == assignment.id

    at.switch_page(f"{PAGES}/home.py").run()
    clean(at)
    assert "▶️ A relapse in the circle — in progress" in markdown(at)
    button(at, "Continue").click().run()
    clean(at)
    assert at.title[0].value == "A relapse in the circle"


def test_a_completed_assignment_links_the_report(signed_in: Callable[..., AppTest], users) -> None:
    _, trainee = users
    week = assignments.create_set("Week 1", [QUIET])
    assignments.assign_set(week.id, trainee.id, date(2000, 1, 1))
    live = sessions_service.start_session(trainee.id, QUIET, seed=3)
    for reply in REPLIES:
        for _ in live.send(reply):
            pass
    at = signed_in("trainee")
    clean(at)
    text = markdown(at)
    assert "1 of 1 done · due 2000-01-01 · ✅ **complete**" in text and "overdue" not in text
    button(at, "Report").click().run()
    clean(at)
    assert at.title[0].value == "Report: A quiet first evening"


# ------------------------------------------------------------------------------------------ crosstalk cue
@pytest.fixture
def crosstalk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture's relapse circle with crosstalk on (Marcus, its dominant member, talks over others)."""
    library = get_library()
    monkeypatch.setitem(library.scenarios, RELAPSE, library.scenarios[RELAPSE].model_copy(update={"crosstalk": True}))


def _marcus_cues(at: AppTest) -> list[list[str]]:
    return [[c.value for c in m.caption] for m in at.chat_message if m.name == "Marcus"]


def test_the_practice_room_marks_a_member_cutting_in(signed_in: Callable[..., AppTest], users, crosstalk) -> None:
    _, trainee = users
    live = sessions_service.start_session(trainee.id, RELAPSE, seed=0)
    for _ in live.send(REPLIES[0]):  # Marcus cuts in first (seed 0)
        pass
    live.pause()
    at = signed_in("trainee", page="practice", s=str(live.id))  # rebuilt from storage
    clean(at)
    assert _marcus_cues(at) == [[], ["*cuts in*"]]  # the opening line, then round 1
    at.chat_input[0].set_value(REPLIES[1]).run()  # round 2: Priya's scripted disclosure, then Marcus
    clean(at)
    assert _marcus_cues(at)[-1] == ["*talks over Priya*"]
    names = [m.name for m in at.chat_message]
    last_marcus = len(names) - 1 - names[::-1].index("Marcus")
    assert names[last_marcus - 1] == "Priya"


def test_the_report_transcript_marks_a_member_cutting_in(signed_in: Callable[..., AppTest], users, crosstalk) -> None:
    _, trainee = users
    live = sessions_service.start_session(trainee.id, RELAPSE, seed=0)
    for reply in REPLIES[:2]:
        for _ in live.send(reply):
            pass
    live.end_now()
    at = signed_in("trainee", page="report", s=str(live.id))
    clean(at)
    assert _marcus_cues(at) == [[], ["*cuts in*"], ["*talks over Priya*"]]
    markdown_export = exports.to_markdown(build_report(live.id, trainee))
    assert "**Turn 2 · Marcus \\(talks over Priya\\)**" in markdown_export
    assert "**Turn 1 · Marcus \\(cuts in\\)**" in markdown_export
