"""Scenario sets and assignments: a trainer names an ordered selection of scenarios from the library,
assigns it to trainees with an optional due date, and follows each trainee's progress through it.

Progress is computed from the trainee's practice sessions, never stored separately, so it cannot drift:
for each scenario of the set,

- **completed**: a session of that scenario reached its own end (status `completed`, or `crisis`: the
  scenario's crisis ending is an ending the trainee played through, with a report to review) *on or after
  the moment the set was assigned*. Work finished before the assignment does not count; a session started
  earlier but finished afterwards does. Re-assigning a set (to change its due date) keeps the original
  assignment time, so progress is never reset.
- **in progress**: otherwise, a session of that scenario is still open (in progress or paused); the trainee
  continues that one.
- **not started**: otherwise. A session the trainee ended early does not complete a scenario (`attempts`
  counts those, so a page can say "tried, not finished").

An assignment is overdue when it has a due date, the date has passed (UTC) and not every scenario is
completed. Nothing here imports Streamlit: the web app and the command line share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from holdspace.content import get_library
from holdspace.storage import (
    Assignment,
    PracticeSession,
    ScenarioSet,
    ScenarioSetItem,
    User,
    session_scope,
    utcnow,
)

NAME_MAX = 120
DESCRIPTION_MAX = 2000
#: a session that ended on its own: the scenario was played through
COMPLETING = frozenset({"completed", "crisis"})
OPEN = frozenset({"in_progress", "paused"})
NOT_STARTED, IN_PROGRESS, COMPLETED = "not_started", "in_progress", "completed"
PROGRESS_LABELS = {NOT_STARTED: "not started", IN_PROGRESS: "in progress", COMPLETED: "completed"}


class AssignmentError(ValueError):
    """A request the assignments service refuses; the message is written for the person at the form."""


# ------------------------------------------------------------------------------------------ plain data
@dataclass(frozen=True)
class ScenarioSetInfo:
    id: int
    name: str
    description: str
    scenario_ids: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class ScenarioProgress:
    scenario_id: str
    title: str
    #: not_started | in_progress | completed
    state: str
    #: the open session to continue (in progress), or the completing session whose report to read
    session_id: int | None = None
    #: sessions of this scenario since the assignment that ended early
    attempts: int = 0
    #: False when the scenario has left the library since the set was made
    available: bool = True

    @property
    def label(self) -> str:
        return PROGRESS_LABELS[self.state]


@dataclass(frozen=True)
class AssignmentInfo:
    id: int
    set_id: int
    set_name: str
    set_description: str
    trainee_id: int
    trainee_username: str
    trainee_label: str
    due_date: date | None
    assigned_at: datetime
    items: tuple[ScenarioProgress, ...]
    overdue: bool

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.state == COMPLETED)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def complete(self) -> bool:
        return self.done == self.total

    @property
    def status(self) -> str:
        """One word for a table: complete, overdue, or open."""
        if self.complete:
            return "complete"
        return "overdue" if self.overdue else "open"


# ------------------------------------------------------------------------------------------ scenario sets
def _titles() -> dict[str, str]:
    return {sid: s.title for sid, s in get_library().scenarios.items()}


def check_scenarios(scenario_ids: Iterable[str]) -> list[str]:
    """The ids, stripped and in order, or AssignmentError naming the first unknown or repeated one."""
    known = _titles()
    out: list[str] = []
    for raw in scenario_ids:
        scenario_id = str(raw).strip()
        if scenario_id not in known:
            raise AssignmentError(
                f"Unknown scenario {scenario_id!r}: it is not in the scenario library "
                "(see `holdspace scenarios` for the ids)."
            )
        if scenario_id in out:
            raise AssignmentError(f"The scenario {scenario_id!r} is listed twice.")
        out.append(scenario_id)
    if not out:
        raise AssignmentError("Choose at least one scenario for the set.")
    return out


def _set_info(row: ScenarioSet) -> ScenarioSetInfo:
    return ScenarioSetInfo(
        id=row.id,
        name=row.name,
        description=row.description,
        scenario_ids=tuple(item.scenario_id for item in row.items),
        created_at=row.created_at,
    )


def create_set(
    name: str, scenario_ids: Sequence[str], description: str = "", created_by: int | None = None
) -> ScenarioSetInfo:
    """A new named set of library scenarios, in the order given."""
    name = " ".join((name or "").split())
    if not name:
        raise AssignmentError("Give the set a name.")
    if len(name) > NAME_MAX:
        raise AssignmentError(f"A set's name has at most {NAME_MAX} characters.")
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise AssignmentError(f"Keep the description under {DESCRIPTION_MAX} characters.")
    ids = check_scenarios(scenario_ids)
    taken = AssignmentError(f"A scenario set named {name!r} already exists; choose another name.")
    try:
        with session_scope() as db:
            if db.scalar(select(ScenarioSet.id).where(ScenarioSet.name == name)) is not None:
                raise taken
            row = ScenarioSet(name=name, description=description, created_by=created_by)
            db.add(row)
            db.flush()
            for position, scenario_id in enumerate(ids):
                db.add(ScenarioSetItem(set_id=row.id, scenario_id=scenario_id, position=position))
            db.flush()
            db.refresh(row)
            return _set_info(row)
    except IntegrityError:  # the same name created at the same moment elsewhere
        raise taken from None


def list_sets() -> list[ScenarioSetInfo]:
    with session_scope() as db:
        return [_set_info(row) for row in db.scalars(select(ScenarioSet).order_by(ScenarioSet.name))]


def get_set(set_id: int) -> ScenarioSetInfo:
    with session_scope() as db:
        row = db.get(ScenarioSet, set_id)
        if row is None:
            raise AssignmentError("No such scenario set.")
        return _set_info(row)


def find_set(name: str) -> ScenarioSetInfo:
    """The set with this name (surrounding and repeated spaces ignored)."""
    wanted = " ".join((name or "").split())
    with session_scope() as db:
        row = db.scalar(select(ScenarioSet).where(ScenarioSet.name == wanted))
        if row is None:
            raise AssignmentError(f"There is no scenario set named {wanted!r}.")
        return _set_info(row)


# ------------------------------------------------------------------------------------------ assignments
def _trainee(db: Session, trainee_id: int) -> User:
    user = db.get(User, trainee_id)
    if user is None or not user.active:
        raise AssignmentError("No such trainee account.")
    if user.role != "trainee":
        raise AssignmentError(f"{user.username} is a trainer account; assign sets to trainees.")
    return user


def assign_set(
    set_id: int, trainee_id: int, due_date: date | None = None, assigned_by: int | None = None
) -> AssignmentInfo:
    """Assign a set to a trainee. Idempotent: assigning the same set again only sets the due date (to the
    one given, so `None` clears it); the assignment keeps its original time, and with it the progress."""
    for attempt in range(2):
        try:
            with session_scope() as db:
                if db.get(ScenarioSet, set_id) is None:
                    raise AssignmentError("No such scenario set.")
                _trainee(db, trainee_id)
                row = db.scalar(
                    select(Assignment).where(Assignment.set_id == set_id, Assignment.trainee_id == trainee_id)
                )
                if row is None:
                    row = Assignment(set_id=set_id, trainee_id=trainee_id, assigned_by=assigned_by, due_date=due_date)
                    db.add(row)
                else:
                    row.due_date = due_date
                db.flush()
                assignment_id = row.id
            break
        except IntegrityError:  # assigned at the same moment elsewhere: the second try updates that row
            if attempt:
                raise
    return _infos(trainee_id=trainee_id, assignment_id=assignment_id)[0]


def unassign(set_id: int, trainee_id: int) -> bool:
    """Remove an assignment (the trainee's sessions stay). True when there was one."""
    with session_scope() as db:
        row = db.scalar(select(Assignment).where(Assignment.set_id == set_id, Assignment.trainee_id == trainee_id))
        if row is None:
            return False
        db.delete(row)
        return True


def assignments_for(trainee_id: int, today: date | None = None) -> list[AssignmentInfo]:
    """A trainee's assignments with progress: the ones due soonest first, undated ones last."""
    return _infos(trainee_id=trainee_id, today=today)


def all_assignments(today: date | None = None) -> list[AssignmentInfo]:
    """Every assignment with progress, by trainee, then due date (for the trainer's table)."""
    return _infos(today=today)


def get_assignment(assignment_id: int, trainee_id: int) -> AssignmentInfo:
    found = _infos(trainee_id=trainee_id, assignment_id=assignment_id)
    if not found:
        raise AssignmentError("No such assignment.")
    return found[0]


def _infos(
    trainee_id: int | None = None, assignment_id: int | None = None, today: date | None = None
) -> list[AssignmentInfo]:
    today = today or utcnow().date()
    titles = _titles()
    with session_scope() as db:
        query = select(Assignment, ScenarioSet, User).join(ScenarioSet, Assignment.set_id == ScenarioSet.id)
        query = query.join(User, Assignment.trainee_id == User.id)
        if trainee_id is not None:
            query = query.where(Assignment.trainee_id == trainee_id)
        if assignment_id is not None:
            query = query.where(Assignment.id == assignment_id)
        rows = db.execute(query).all()
        if not rows:
            return []
        sessions: dict[int, list[PracticeSession]] = {}
        for session in db.scalars(
            select(PracticeSession)
            .where(PracticeSession.user_id.in_({a.trainee_id for a, _, _ in rows}))
            .order_by(PracticeSession.started_at, PracticeSession.id)
        ):
            sessions.setdefault(session.user_id, []).append(session)
        out = []
        for assignment, scenario_set, user in rows:
            items = tuple(
                _progress(item.scenario_id, titles, assignment, sessions.get(user.id, []))
                for item in scenario_set.items
            )
            complete = all(item.state == COMPLETED for item in items)
            out.append(
                AssignmentInfo(
                    id=assignment.id,
                    set_id=scenario_set.id,
                    set_name=scenario_set.name,
                    set_description=scenario_set.description,
                    trainee_id=user.id,
                    trainee_username=user.username,
                    trainee_label=user.display_name or user.username,
                    due_date=assignment.due_date,
                    assigned_at=assignment.created_at,
                    items=items,
                    overdue=assignment.due_date is not None and today > assignment.due_date and not complete,
                )
            )
    out.sort(key=lambda a: (a.trainee_username, a.due_date is None, a.due_date or date.max, a.set_name))
    return out


def _progress(
    scenario_id: str, titles: dict[str, str], assignment: Assignment, sessions: list[PracticeSession]
) -> ScenarioProgress:
    mine = [s for s in sessions if s.scenario_id == scenario_id]
    title = titles.get(scenario_id) or next((s.scenario_title for s in mine if s.scenario_title), scenario_id)
    since = assignment.created_at
    counted = [s for s in mine if s.assignment_id == assignment.id or (s.ended_at is not None and s.ended_at >= since)]
    done = [s for s in counted if s.status in COMPLETING]
    attempts = sum(1 for s in counted if s.status not in COMPLETING and s.status not in OPEN)
    available = scenario_id in titles
    if done:
        return ScenarioProgress(scenario_id, title, COMPLETED, done[-1].id, attempts, available)
    open_ = [s for s in mine if s.status in OPEN]
    if open_:
        latest = max(open_, key=lambda s: (s.updated_at, s.id))
        return ScenarioProgress(scenario_id, title, IN_PROGRESS, latest.id, attempts, available)
    return ScenarioProgress(scenario_id, title, NOT_STARTED, None, attempts, available)
