"""Scenario sets and assignments through the service: sets validated against the library, idempotent
assignment, progress from the trainee's sessions, overdue; and the intent stored with each member line,
which the transcript reads to show a member cutting in."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from holdspace.services import accounts, assignments, sessions_service
from holdspace.services.assignments import AssignmentError
from holdspace.services.reports import interrupt_cue
from holdspace.storage import Assignment, PracticeSession, session_scope, utcnow

QUIET = "fixture-quiet-evening"  # 3 replies to its end
RELAPSE = "fixture-relapse-circle"
REPLIES = [
    "Welcome, everyone. What would you like to talk about tonight?",
    "Dana, how has your week been?",
    "Priya, what would help you most tonight?",
]


@pytest.fixture
def people(any_db: str) -> tuple[accounts.UserInfo, accounts.UserInfo]:
    trainer = accounts.create_first_trainer("terry", "a quiet room at dusk")
    trainee = accounts.add_user("tina", "another quiet room", display_name="Tina")
    return trainer, trainee


def play(live: sessions_service.LiveSession, replies: list[str]) -> None:
    for reply in replies:
        for _ in live.send(reply):
            pass


def completed_session(user_id: int, scenario_id: str = QUIET, **kwargs) -> int:
    live = sessions_service.start_session(user_id, scenario_id, seed=3, **kwargs)
    play(live, REPLIES)
    with session_scope() as db:
        assert db.get(PracticeSession, live.id).status == "completed"
    return live.id


# ------------------------------------------------------------------------------------------ sets
def test_a_set_keeps_its_scenarios_in_order(people) -> None:
    trainer, _ = people
    made = assignments.create_set("  Week 1:   first evenings ", [RELAPSE, QUIET], "Openings.", created_by=trainer.id)
    assert made.name == "Week 1: first evenings" and made.scenario_ids == (RELAPSE, QUIET)
    assignments.create_set("A quiet start", [QUIET])
    assert [s.name for s in assignments.list_sets()] == ["A quiet start", "Week 1: first evenings"]
    assert assignments.find_set("Week 1: first evenings").scenario_ids == (RELAPSE, QUIET)
    assert assignments.get_set(made.id).description == "Openings."


def test_an_unknown_scenario_is_named(people) -> None:
    with pytest.raises(ValueError, match="Unknown scenario 'no-such-scenario'"):
        assignments.create_set("Week 1", [QUIET, "no-such-scenario"])
    assert assignments.list_sets() == []  # nothing half-made


@pytest.mark.parametrize(
    ("name", "ids", "message"),
    [
        ("", [QUIET], "Give the set a name"),
        ("x" * 121, [QUIET], "at most 120"),
        ("Week 1", [], "at least one scenario"),
        ("Week 1", [QUIET, QUIET], "listed twice"),
    ],
)
def test_sets_are_validated(people, name: str, ids: list[str], message: str) -> None:
    with pytest.raises(AssignmentError, match=message):
        assignments.create_set(name, ids)


def test_set_names_are_unique(people) -> None:
    assignments.create_set("Week 1", [QUIET])
    with pytest.raises(AssignmentError, match="already exists"):
        assignments.create_set("Week 1", [RELAPSE])


# ------------------------------------------------------------------------------------------ assignments
def test_assigning_twice_updates_the_due_date(people) -> None:
    trainer, trainee = people
    week = assignments.create_set("Week 1", [QUIET, RELAPSE])
    first = assignments.assign_set(week.id, trainee.id, date(2030, 1, 10), assigned_by=trainer.id)
    again = assignments.assign_set(week.id, trainee.id, date(2030, 2, 1))
    assert again.id == first.id and again.due_date == date(2030, 2, 1)
    assert again.assigned_at == first.assigned_at  # progress is counted from the first assignment
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(Assignment)) == 1
    assert assignments.assign_set(week.id, trainee.id).due_date is None  # no date given: cleared
    assert [a.set_name for a in assignments.assignments_for(trainee.id)] == ["Week 1"]


def test_only_trainees_get_assignments(people) -> None:
    trainer, trainee = people
    week = assignments.create_set("Week 1", [QUIET])
    with pytest.raises(AssignmentError, match="trainer account"):
        assignments.assign_set(week.id, trainer.id)
    with pytest.raises(AssignmentError, match="No such trainee"):
        assignments.assign_set(week.id, 9999)
    with pytest.raises(AssignmentError, match="No such scenario set"):
        assignments.assign_set(9999, trainee.id)


def test_unassign(people) -> None:
    _, trainee = people
    week = assignments.create_set("Week 1", [QUIET])
    assignments.assign_set(week.id, trainee.id)
    assert assignments.unassign(week.id, trainee.id) is True
    assert assignments.unassign(week.id, trainee.id) is False
    assert assignments.assignments_for(trainee.id) == []


def test_progress_follows_the_trainees_sessions(people) -> None:
    _, trainee = people
    before = completed_session(trainee.id)  # finished before the set was assigned: does not count
    week = assignments.create_set("Week 1", [QUIET, RELAPSE])
    assignments.assign_set(week.id, trainee.id)
    (assignment,) = assignments.assignments_for(trainee.id)
    assert [i.state for i in assignment.items] == ["not_started", "not_started"]
    assert [i.title for i in assignment.items] == ["A quiet first evening", "A relapse in the circle"]
    assert before not in {i.session_id for i in assignment.items}

    early = sessions_service.start_session(trainee.id, QUIET, seed=1)
    play(early, REPLIES[:1])
    early.end_now()  # ended early: an attempt, not a completion
    (assignment,) = assignments.assignments_for(trainee.id)
    assert assignment.items[0].state == "not_started" and assignment.items[0].attempts == 1

    open_ = sessions_service.start_session(trainee.id, RELAPSE, seed=1, assignment_id=assignment.id)
    open_.pause()
    (assignment,) = assignments.assignments_for(trainee.id)
    relapse = assignment.items[1]
    assert relapse.state == "in_progress" and relapse.session_id == open_.id and relapse.label == "in progress"

    done = completed_session(trainee.id)
    (assignment,) = assignments.assignments_for(trainee.id)
    assert assignment.items[0].state == "completed" and assignment.items[0].session_id == done
    assert (assignment.done, assignment.total, assignment.complete) == (1, 2, False)
    with session_scope() as db:
        assert db.get(PracticeSession, open_.id).assignment_id == assignment.id


def test_overdue_until_every_scenario_is_completed(people) -> None:
    _, trainee = people
    today = utcnow().date()
    week = assignments.create_set("Week 1", [QUIET])
    later = assignments.create_set("Week 2", [QUIET, RELAPSE])
    assignments.assign_set(later.id, trainee.id)
    assignments.assign_set(week.id, trainee.id, today - timedelta(days=1))
    mine = assignments.assignments_for(trainee.id)
    assert [(a.set_name, a.overdue, a.status) for a in mine] == [("Week 1", True, "overdue"), ("Week 2", False, "open")]
    assert not assignments.assignments_for(trainee.id, today=today - timedelta(days=1))[0].overdue  # due today
    completed_session(trainee.id)
    week1 = assignments.assignments_for(trainee.id)[0]
    assert week1.complete and not week1.overdue and week1.status == "complete"
    everyone = assignments.all_assignments()
    assert [(a.trainee_username, a.set_name) for a in everyone] == [("tina", "Week 1"), ("tina", "Week 2")]


# ------------------------------------------------------------------------------------------ interrupting lines
def test_member_lines_are_stored_with_their_intent(people) -> None:
    _, trainee = people
    live = sessions_service.start_session(trainee.id, RELAPSE, seed=0)
    play(live, REPLIES[:2])
    records = sessions_service.get_transcript(live.id, trainee).records
    lines = [r for r in records if r["role"] == "member" and r["turn"] > 0]
    assert lines and all(r.get("intent") for r in lines)
    # Marcus is the fixture's dominant member: he cuts in on the first round, and again after Priya's
    # scripted disclosure in the second.
    assert [(r["turn"], r["speaker"]) for r in lines if r["intent"] == "interrupt"] == [(1, "Marcus"), (2, "Marcus")]
    assert {r["intent"] for r in lines if r["speaker"] == "Priya" and r["turn"] == 2} == {"disclose"}
    # resumed from storage, the intents are still there
    live.pause()
    resumed = sessions_service.resume_session(live.id, trainee.id)
    assert [r.get("intent") for r in resumed.records] == [r.get("intent") for r in records]


def test_the_cue_says_who_is_talked_over() -> None:
    records = [
        {"turn": 2, "speaker": "facilitator", "role": "facilitator", "text": "Dana?"},
        {"turn": 2, "speaker": "Dana", "role": "member", "text": "I sort of wanted...", "intent": "answer"},
        {"turn": 2, "speaker": "Marcus", "role": "member", "text": "Hold on, Dana.", "intent": "interrupt"},
        {"turn": 3, "speaker": "facilitator", "role": "facilitator", "text": "Marcus, let me pause you."},
        {"turn": 3, "speaker": "Marcus", "role": "member", "text": "Sorry, one more thing.", "intent": "interrupt"},
        {"turn": 3, "speaker": "Dana", "role": "member", "text": "Okay.", "intent": "answer"},
        {"turn": 3, "speaker": "Owen", "role": "member", "text": "Old line, no intent stored."},
    ]
    assert [interrupt_cue(records, i, crosstalk=True) for i in range(len(records))] == [
        None,
        None,
        "talks over Dana",
        None,
        "cuts in",  # right after the facilitator: nobody to talk over
        None,
        None,
    ]
    assert interrupt_cue(records, 2, crosstalk=False) == "cuts in"  # without crosstalk nobody is talked over
