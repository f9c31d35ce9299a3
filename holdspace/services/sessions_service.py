"""Practice sessions that outlive the browser tab: start, play (every record committed before anyone sees
it), pause, resume from any device, end now, list with scores, notes, transcripts.

A session in play is a `LiveSession`: the engine's `GroupSession` in memory plus the database row. The
database is the truth; the engine is rebuilt from it on resume by *replaying* the stored facilitator
replies through a fresh engine with the same seed, feeding it the stored moves, scores and member lines,
so the rebuilt group state is exactly the one the trainee left, whatever model wrote the lines. A round
interrupted half-way (a crash, a closed tab) is completed on resume and its new lines saved.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from holdspace.content import Library, Persona, Scenario, get_library
from holdspace.engine.moves import MoveDetector, RuleMoveDetector
from holdspace.engine.rendering import AuthoredRenderer, LineRenderer
from holdspace.engine.session import GroupSession, RoundEvent, Situation, TurnScore, TurnScorer
from holdspace.engine.types import LineRequest, Move, RenderedLine, Utterance
from holdspace.services import practice
from holdspace.services.accounts import UserInfo
from holdspace.settings import get_settings
from holdspace.storage import Note, PracticeSession, Turn, User, session_scope, utcnow

log = logging.getLogger(__name__)

FINISHED = frozenset({"completed", "ended_early", "crisis"})
NOTE_MAX = 2000
REPLY_MAX = 2000
_CORE_KEYS = ("turn", "speaker", "role", "text", "moves", "scores", "state")


class SessionError(ValueError):
    """A request the sessions service refuses; the message is written for the trainee."""


# ------------------------------------------------------------------------------------------ plain data
@dataclass(frozen=True)
class SessionInfo:
    id: int
    user_id: int
    username: str
    scenario_id: str
    scenario_title: str
    seed: int
    backend: str
    status: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    turns_taken: int
    overall: float | None
    scores: dict[str, float | None]
    end_message: str

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True)
class NoteInfo:
    id: int
    turn_id: int
    user_id: int
    text: str
    created_at: datetime


@dataclass
class TranscriptEntry:
    turn_id: int
    idx: int
    record: dict[str, Any]
    notes: list[NoteInfo] = field(default_factory=list)


@dataclass
class Transcript:
    info: SessionInfo
    entries: list[TranscriptEntry]
    summary: dict[str, Any]

    @property
    def records(self) -> list[dict[str, Any]]:
        return [e.record for e in self.entries]


def _info(row: PracticeSession, username: str = "") -> SessionInfo:
    scores = dict((row.summary or {}).get("scores") or {})
    return SessionInfo(
        id=row.id,
        user_id=row.user_id,
        username=username,
        scenario_id=row.scenario_id,
        scenario_title=row.scenario_title or row.scenario_id,
        seed=row.seed,
        backend=row.backend,
        status=row.status,
        started_at=row.started_at,
        updated_at=row.updated_at,
        ended_at=row.ended_at,
        turns_taken=row.turns_taken,
        overall=row.overall,
        scores=scores,
        end_message=row.end_message,
    )


def record_to_turn(session_id: int, idx: int, record: dict[str, Any]) -> Turn:
    extra = {k: v for k, v in record.items() if k not in _CORE_KEYS}
    return Turn(
        session_id=session_id,
        idx=idx,
        turn=int(record.get("turn", 0)),
        speaker=str(record.get("speaker", "")),
        role=str(record.get("role", "system")),
        text=str(record.get("text", "")),
        moves=record.get("moves"),
        scores=record.get("scores"),
        state=record.get("state"),
        extra=extra or None,
    )


def turn_to_record(turn: Turn) -> dict[str, Any]:
    """The transcript record as the engine wrote it (same keys, same order)."""
    record: dict[str, Any] = {
        "turn": turn.turn,
        "speaker": turn.speaker,
        "role": turn.role,
        "text": turn.text,
    }
    if turn.moves is not None:
        record["moves"] = turn.moves
    if turn.scores is not None:
        record["scores"] = turn.scores
    record.update(turn.extra or {})
    if turn.state is not None:
        record["state"] = turn.state
    return record


def _running_overall(records: Sequence[dict[str, Any]]) -> float | None:
    values = [r["overall"] for r in records if r.get("role") == "facilitator" and r.get("overall") is not None]
    return round(sum(values) / len(values), 2) if values else None


# ------------------------------------------------------------------------------------------ safe parts
class _SafeScorer:
    """A scorer failure (e.g. a judge model down) costs the reply its scores, never the session."""

    def __init__(self, inner: TurnScorer, notices: list[str]):
        self.inner = inner
        self.notices = notices

    def score_turn(self, reply: str, moves: list[Move], context: list[Utterance], situation: Situation) -> TurnScore:
        try:
            return self.inner.score_turn(reply, moves, context, situation)
        except Exception as exc:  # noqa: BLE001 - any scorer failure degrades the same way
            log.warning("scorer failed: %r", exc)
            self.notices.append(f"This reply could not be scored ({type(exc).__name__}).")
            return TurnScore(scores={}, overall=None, feedback="Scoring was unavailable for this reply.")


class _SafeDetector:
    def __init__(self, inner: MoveDetector):
        self.inner = inner
        self.rules = RuleMoveDetector()

    def detect(self, reply: str, context: Sequence[Utterance] = (), members: Sequence[str] = ()) -> list[Move]:
        try:
            return self.inner.detect(reply, context, members)
        except Exception as exc:  # noqa: BLE001
            log.warning("move detector failed, using the rules: %r", exc)
            return self.rules.detect(reply, context, members)


class _Replay:
    """Feeds an engine the stored moves, scores and member lines while it re-plays a session."""

    def __init__(self, records: Sequence[dict[str, Any]], engine: GroupSession):
        self.turn = 0
        self.real_detector = engine.detector
        self.real_renderer = engine.renderer
        self.real_scorer = engine.scorer
        self.replies: dict[int, dict[str, Any]] = {}
        self.lines: dict[tuple[int, str], deque[str]] = defaultdict(deque)
        for record in records:
            if record.get("role") == "facilitator":
                self.replies[int(record["turn"])] = record
            elif record.get("role") == "member" and int(record.get("turn", 0)) > 0:
                self.lines[(int(record["turn"]), record["speaker"])].append(record["text"])

    # MoveDetector
    def detect(self, reply: str, context: Sequence[Utterance] = (), members: Sequence[str] = ()) -> list[Move]:
        stored = self.replies.get(self.turn)
        if stored is not None and stored.get("text", "").strip() == reply and stored.get("moves") is not None:
            return [
                Move(m["label"], float(m.get("confidence", 1.0)), m.get("evidence", ""), m.get("depth"))
                for m in stored["moves"]
            ]
        return self.real_detector.detect(reply, context, members)

    # TurnScorer
    def score_turn(self, reply: str, moves: list[Move], context: list[Utterance], situation: Situation) -> TurnScore:
        stored = self.replies.get(self.turn)
        if stored is not None and "scores" in stored:
            return TurnScore(
                scores=dict(stored.get("scores") or {}),
                overall=stored.get("overall"),
                feedback=stored.get("feedback", ""),
                alternative=stored.get("alternative"),
                citations=list(stored.get("citations") or []),
            )
        if self.real_scorer is not None:
            return self.real_scorer.score_turn(reply, moves, context, situation)
        return TurnScore(scores={}, overall=None)

    # LineRenderer
    def render(self, request: LineRequest) -> RenderedLine:
        queue = self.lines.get((self.turn, request.speaker))
        if queue:
            return RenderedLine(queue.popleft(), "stored")
        return self.real_renderer.render(request)

    def stream(self, request: LineRequest) -> Iterator[str]:
        yield self.render(request).text


# ------------------------------------------------------------------------------------------ engines
def _library() -> Library:
    return get_library()


def build_engine(scenario_id: str, seed: int, backend: str) -> tuple[GroupSession, list[str]]:
    """The engine for a session, degrading rather than failing: a persona model that cannot start leaves
    the group on its authored lines, a scorer that cannot load leaves replies unscored (with a notice)."""
    notices: list[str] = []
    library = _library()
    try:
        scenario = library.scenario(scenario_id)
    except KeyError:
        raise SessionError(f"The scenario {scenario_id!r} is not in the library any more.") from None
    personas = library.personas_for(scenario)
    try:
        renderer: LineRenderer = practice.make_renderer(backend)
    except Exception as exc:  # noqa: BLE001 - an unavailable model must not stop practice
        log.warning("persona backend %s unavailable: %r", backend, exc)
        renderer = AuthoredRenderer()
        notices.append(f"The persona model is unavailable ({type(exc).__name__}); the group speaks its authored lines.")
    try:
        detector: MoveDetector = practice.default_detector()
    except Exception as exc:  # noqa: BLE001
        log.warning("move detector unavailable: %r", exc)
        detector = RuleMoveDetector()
    scorer: TurnScorer | None
    try:
        scorer = practice.default_scorer()
    except Exception as exc:  # noqa: BLE001
        log.warning("scorer unavailable: %r", exc)
        scorer = None
        notices.append(f"Scoring is unavailable ({type(exc).__name__}); replies are saved unscored.")
    engine = GroupSession(
        scenario,
        personas,
        seed=seed,
        detector=_SafeDetector(detector),
        renderer=renderer,
        scorer=_SafeScorer(scorer, notices) if scorer is not None else None,
    )
    return engine, notices


# ------------------------------------------------------------------------------------------ live session
class LiveSession:
    """A session in play. `send` yields the engine's round events; every event that carries a record is
    yielded only after that record is committed."""

    def __init__(
        self,
        session_id: int,
        user_id: int,
        engine: GroupSession,
        persisted: int,
        status: str,
        notices: list[str] | None = None,
    ):
        self.id = session_id
        self.user_id = user_id
        self.engine = engine
        self.persisted = persisted
        self.status = status
        self.notices: list[str] = notices if notices is not None else []
        #: set when a round failed half-way; the caller should drop this object and resume from storage
        self.broken = False

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.engine.records

    @property
    def scenario(self) -> Scenario:
        return self.engine.scenario

    @property
    def personas(self) -> dict[str, Persona]:
        return self.engine.personas

    @property
    def ended(self) -> bool:
        return self.engine.ended or self.status in FINISHED

    def send(self, reply: str) -> Iterator[RoundEvent]:
        reply = (reply or "").strip()
        if self.ended:
            raise SessionError("This session has ended; open its report or start a new one.")
        if not reply:
            raise SessionError("Write a reply to the group first.")
        if len(reply) > REPLY_MAX:
            raise SessionError(f"Keep a reply under {REPLY_MAX} characters.")
        if self.broken:
            raise SessionError("This session needs to be reloaded; open it again from Home.")
        if self.status != "in_progress":
            self._set_status("in_progress")
        seen_notices = len(self.notices)
        try:
            for event in self.engine.stream_turn(reply):
                if event.record is not None:
                    self._persist()
                yield event
                while len(self.notices) > seen_notices:  # e.g. a scorer failure inside the round
                    yield RoundEvent("notice", None, self.notices[seen_notices])
                    seen_notices += 1
        except GeneratorExit:  # the UI stopped listening (a rerun); what was produced is saved
            self._persist()
            self.broken = True
            raise
        except Exception:
            self.broken = True
            self._persist()
            raise
        self._persist()

    def _persist(self) -> None:
        """Commit every record not yet stored, and the session row with it."""
        records = self.engine.records
        pending = records[self.persisted :]
        if not pending and not self.engine.ended:
            return
        try:
            with session_scope() as db:
                row = db.get(PracticeSession, self.id)
                if row is None:
                    raise SessionError("This session was deleted.")
                for offset, record in enumerate(pending):
                    db.add(record_to_turn(self.id, self.persisted + offset, record))
                row.turns_taken = self.engine.turn
                row.updated_at = utcnow()
                row.overall = _running_overall(records)
                if self.engine.ended and row.status not in FINISHED:
                    self._finish_row(row)
                status = row.status
        except IntegrityError:
            self.broken = True
            raise SessionError(
                "This session was continued in another window; open it again to see the latest turns."
            ) from None
        self.status = status
        self.persisted = len(records)

    def _finish_row(self, row: PracticeSession) -> None:
        summary = self.engine.summary()
        outcome = self.engine.outcome if self.engine.outcome in FINISHED else "completed"
        row.status = outcome
        row.end_message = self.engine.end_message
        row.ended_at = utcnow()
        row.summary = summary
        row.overall = summary.get("overall")

    def _set_status(self, status: str) -> None:
        with session_scope() as db:
            row = db.get(PracticeSession, self.id)
            if row is None:
                raise SessionError("This session was deleted.")
            row.status = status
            row.updated_at = utcnow()
        self.status = status

    def pause(self) -> None:
        if self.ended:
            return
        self._persist()
        self._set_status("paused")

    def end_now(self) -> dict[str, Any]:
        """End at the trainee's request; returns the summary record."""
        if not self.engine.ended:
            self.engine.end("ended_early", "The facilitator ended the session.")
        self._persist()
        return self.engine.summary()

    def situation(self) -> Situation:
        return self.engine.situation()


# ------------------------------------------------------------------------------------------ operations
def _owned_row(db: Session, session_id: int, user_id: int) -> PracticeSession:
    row = db.get(PracticeSession, session_id)
    if row is None or row.user_id != user_id:
        raise SessionError("No such session in your history.")
    return row


def start_session(
    user_id: int,
    scenario_id: str,
    *,
    seed: int | None = None,
    backend: str | None = None,
    assignment_id: int | None = None,
) -> LiveSession:
    """A new session: the engine is built first (so a bad scenario fails before anything is stored), then
    the row and the opening lines are committed."""
    backend = backend or get_settings().persona_backend
    seed = secrets.randbelow(2**31 - 1) if seed is None else seed
    engine, notices = build_engine(scenario_id, seed, backend)
    with session_scope() as db:
        if db.get(User, user_id) is None:
            raise SessionError("No such account.")
        row = PracticeSession(
            user_id=user_id,
            scenario_id=scenario_id,
            scenario_title=engine.scenario.title,
            seed=seed,
            backend=backend,
            status="in_progress",
            assignment_id=assignment_id,
        )
        db.add(row)
        db.flush()
        for idx, record in enumerate(engine.records):
            db.add(record_to_turn(row.id, idx, record))
        session_id = row.id
    return LiveSession(session_id, user_id, engine, len(engine.records), "in_progress", notices)


def resume_session(session_id: int, user_id: int) -> LiveSession:
    """Rebuild a paused (or interrupted) session from storage, on any device."""
    with session_scope() as db:
        row = _owned_row(db, session_id, user_id)
        if row.status in FINISHED:
            raise SessionError("This session has ended; its report is in your history.")
        records = [
            turn_to_record(t) for t in db.scalars(select(Turn).where(Turn.session_id == session_id).order_by(Turn.idx))
        ]
        scenario_id, seed, backend, status = row.scenario_id, row.seed, row.backend, row.status
    engine, notices = build_engine(scenario_id, seed, backend)
    try:
        new_records = _replay(engine, records)
    except SessionError:
        raise
    except Exception as exc:
        log.exception("replay of session %s failed", session_id)
        raise SessionError(
            f"This session cannot be resumed: the scenario has changed since it was played "
            f"({type(exc).__name__}). End it to keep its transcript."
        ) from None
    live = LiveSession(session_id, user_id, engine, len(records), status, notices)
    engine.records[:] = records + new_records
    live._persist()
    return live


def _replay(engine: GroupSession, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Play the stored replies again; returns records the engine produced beyond the stored ones (the rest
    of a round that was interrupted)."""
    replay = _Replay(records, engine)
    engine.detector, engine.renderer = replay, replay
    if engine.scorer is not None or any("scores" in r for r in records):
        engine.scorer = replay
    diverged = False
    try:
        opening = len(engine.records)
        if [r["speaker"] for r in engine.records] != [r["speaker"] for r in records[:opening]]:
            diverged = True
        for record in records:
            if record.get("role") != "facilitator" or engine.ended:
                continue
            replay.turn = int(record["turn"])
            for _ in engine.stream_turn(record["text"]):
                pass
        produced = engine.records
        common = min(len(produced), len(records))
        if [(r["speaker"], r["text"]) for r in produced[:common]] != [
            (r["speaker"], r["text"]) for r in records[:common]
        ]:
            diverged = True
    finally:
        engine.detector, engine.renderer = replay.real_detector, replay.real_renderer
        engine.scorer = replay.real_scorer
    if diverged:
        log.warning("replay diverged from the stored transcript (content changed?); keeping the stored one")
        return []
    return produced[len(records) :]


def pause_session(session_id: int, user_id: int) -> None:
    with session_scope() as db:
        row = _owned_row(db, session_id, user_id)
        if row.status not in FINISHED:
            row.status = "paused"
            row.updated_at = utcnow()


def end_session(session_id: int, user_id: int, live: LiveSession | None = None) -> dict[str, Any]:
    """End now. Uses the live engine when the caller has one, else rebuilds it from storage."""
    if live is None or live.id != session_id or live.broken:
        with session_scope() as db:
            row = _owned_row(db, session_id, user_id)
            if row.status in FINISHED:
                return dict(row.summary or {})
        live = resume_session(session_id, user_id)
    return live.end_now()


def get_session(session_id: int, viewer: UserInfo) -> SessionInfo:
    with session_scope() as db:
        row = db.get(PracticeSession, session_id)
        if row is None or (row.user_id != viewer.id and not viewer.is_trainer):
            raise SessionError("No such session.")
        return _info(row, row.user.username)


def list_sessions(user_id: int) -> list[SessionInfo]:
    """A user's sessions, oldest first (the order of a chart of scores over time)."""
    with session_scope() as db:
        rows = db.scalars(
            select(PracticeSession)
            .where(PracticeSession.user_id == user_id)
            .order_by(PracticeSession.started_at, PracticeSession.id)
        ).all()
        return [_info(r, r.user.username) for r in rows]


def latest_session(user_id: int, unfinished: bool = False) -> SessionInfo | None:
    sessions = list_sessions(user_id)
    if unfinished:
        sessions = [s for s in sessions if not s.finished]
    return max(sessions, key=lambda s: (s.updated_at, s.id)) if sessions else None


def session_counts() -> dict[int, tuple[int, int, float | None]]:
    """user id -> (sessions, finished sessions, mean overall of finished ones), for the trainer page."""
    out: dict[int, tuple[int, int, float | None]] = {}
    with session_scope() as db:
        for user_id, total in db.execute(
            select(PracticeSession.user_id, func.count()).group_by(PracticeSession.user_id)
        ):
            out[user_id] = (total, 0, None)
        for user_id, done, mean in db.execute(
            select(PracticeSession.user_id, func.count(), func.avg(PracticeSession.overall))
            .where(PracticeSession.status.in_(FINISHED))
            .group_by(PracticeSession.user_id)
        ):
            total = out.get(user_id, (0, 0, None))[0]
            out[user_id] = (total, done, round(float(mean), 2) if mean is not None else None)
    return out


def get_transcript(session_id: int, viewer: UserInfo) -> Transcript:
    """The stored transcript with notes; the owner and trainers may read it."""
    with session_scope() as db:
        row = db.get(PracticeSession, session_id)
        if row is None or (row.user_id != viewer.id and not viewer.is_trainer):
            raise SessionError("No such session.")
        turns = db.scalars(select(Turn).where(Turn.session_id == session_id).order_by(Turn.idx)).all()
        notes: dict[int, list[NoteInfo]] = defaultdict(list)
        if turns:
            for note in db.scalars(
                select(Note).where(Note.turn_id.in_([t.id for t in turns])).order_by(Note.created_at, Note.id)
            ):
                notes[note.turn_id].append(NoteInfo(note.id, note.turn_id, note.user_id, note.text, note.created_at))
        entries = [TranscriptEntry(t.id, t.idx, turn_to_record(t), notes.get(t.id, [])) for t in turns]
        info = _info(row, row.user.username)
        summary = dict(row.summary or {})
    if not summary:
        summary = provisional_summary(info, [e.record for e in entries])
    return Transcript(info, entries, summary)


def provisional_summary(info: SessionInfo, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """For a session not finished yet: per-dimension means of the scores so far (the engine writes the full
    summary when a session ends)."""
    sums: dict[str, list[float]] = defaultdict(list)
    for record in records:
        if record.get("role") == "facilitator":
            for dim, value in (record.get("scores") or {}).items():
                if value is not None:
                    sums[dim].append(float(value))
    scores = {dim: round(sum(v) / len(v), 2) for dim, v in sums.items()}
    return {
        "type": "summary",
        "scenario": info.scenario_id,
        "outcome": {},
        "scores": scores,
        "overall": _running_overall(records),
        "provisional": True,
    }


def add_note(turn_id: int, user_id: int, text: str) -> NoteInfo:
    """A note on one turn of the user's own transcript."""
    text = (text or "").strip()
    if not text:
        raise SessionError("Write the note first.")
    if len(text) > NOTE_MAX:
        raise SessionError(f"Keep a note under {NOTE_MAX} characters.")
    with session_scope() as db:
        turn = db.get(Turn, turn_id)
        if turn is None or turn.session.user_id != user_id:
            raise SessionError("You can add notes to your own transcripts only.")
        note = Note(turn_id=turn_id, user_id=user_id, text=text)
        db.add(note)
        db.flush()
        return NoteInfo(note.id, note.turn_id, note.user_id, note.text, note.created_at)


def delete_note(note_id: int, user_id: int) -> None:
    with session_scope() as db:
        note = db.get(Note, note_id)
        if note is None or note.user_id != user_id:
            raise SessionError("No such note.")
        db.delete(note)
