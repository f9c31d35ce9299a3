"""Practice sessions through the service: every record committed before it is shown, resume reproduces
the transcript, pause and end, notes, history with scores, and exports in three formats."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from holdspace.engine.session import TurnScore
from holdspace.services import accounts, exports, practice, reports, sessions_service
from holdspace.services.sessions_service import SessionError
from holdspace.storage import PracticeSession, Turn, session_scope

SCENARIO = "fixture-relapse-circle"
REPLIES = [
    "Welcome, everyone. What would you like to talk about tonight?",
    "Marcus, thanks, let me pause you there. Dana, how has your week been?",
    "Priya, thank you for telling us. That took courage. How are you doing right now?",
    "Let's hear from someone who hasn't spoken yet.",
]


class FakeScorer:
    """Scores every reply the same way, so scores and citations flow through storage and reports."""

    def score_turn(self, reply, moves, context, situation) -> TurnScore:
        empathy = 5 if "thank" in reply.lower() else 3
        return TurnScore(
            scores={"empathy": empathy, "questioning": 4, "crisis": None},
            overall=(empathy + 4) / 2,
            feedback="You asked an open question; Dana stayed quiet.",
            alternative="Dana, I'd love to hear from you if you're up for it.",
            citations=[
                {
                    "source": "encouraging-quiet-members",
                    "section": "Inviting without pressure",
                    "title": "Encouraging quiet members",
                    "excerpt": "Invite by name, and make passing easy.",
                }
            ],
        )


@pytest.fixture
def scored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(practice, "default_scorer", lambda: FakeScorer())


@pytest.fixture
def trainee(any_db: str) -> accounts.UserInfo:
    accounts.create_first_trainer("terry", "a quiet room at dusk")
    return accounts.add_user("tina", "another quiet room", display_name="Tina")


def stored_turns(session_id: int) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Turn).where(Turn.session_id == session_id))


def play(live: sessions_service.LiveSession, replies: list[str]) -> None:
    for reply in replies:
        for _ in live.send(reply):
            pass


def test_every_record_is_committed_before_it_is_shown(trainee, scored) -> None:
    live = sessions_service.start_session(trainee.id, SCENARIO, seed=3)
    assert stored_turns(live.id) == len(live.records) == 1  # the opening line
    kinds = set()
    for event in live.send(REPLIES[0]):
        kinds.add(event.kind)
        if event.record is not None:
            # A fresh connection sees the record the UI is about to show.
            index = live.records.index(event.record)
            with session_scope() as s:
                row = s.scalar(select(Turn).where(Turn.session_id == live.id, Turn.idx == index))
            assert row is not None and row.text == event.record["text"] and row.speaker == event.record["speaker"]
    assert {"facilitator", "typing", "line"} <= kinds
    transcript = sessions_service.get_transcript(live.id, trainee)
    assert transcript.records == live.records
    assert transcript.records[1]["scores"]["empathy"] == 3
    assert transcript.records[1]["citations"][0]["source"] == "encouraging-quiet-members"


def test_resume_reproduces_the_same_transcript(trainee, scored) -> None:
    straight = sessions_service.start_session(trainee.id, SCENARIO, seed=11)
    play(straight, REPLIES)
    paused = sessions_service.start_session(trainee.id, SCENARIO, seed=11)
    play(paused, REPLIES[:2])
    paused.pause()
    assert sessions_service.get_session(paused.id, trainee).status == "paused"
    resumed = sessions_service.resume_session(paused.id, trainee.id)  # a new device: nothing in memory
    assert resumed.records == paused.records
    assert resumed.engine.state.snapshot() == paused.engine.state.snapshot()
    play(resumed, REPLIES[2:])
    a = sessions_service.get_transcript(straight.id, trainee).records
    b = sessions_service.get_transcript(paused.id, trainee).records
    assert a == b
    assert sessions_service.get_session(paused.id, trainee).status == "completed"
    assert sessions_service.get_transcript(paused.id, trainee).summary == straight.engine.summary()


def test_an_interrupted_round_is_completed_on_resume(trainee) -> None:
    reference = sessions_service.start_session(trainee.id, SCENARIO, seed=5)
    play(reference, REPLIES[:2])
    live = sessions_service.start_session(trainee.id, SCENARIO, seed=5)
    play(live, REPLIES[:1])
    events = live.send(REPLIES[1])
    next(events)  # the reply is saved and shown ...
    next(events)  # ... a member starts typing, then the tab closes
    events.close()
    assert live.broken
    saved = stored_turns(live.id)
    resumed = sessions_service.resume_session(live.id, trainee.id)
    assert stored_turns(live.id) > saved
    assert sessions_service.get_transcript(live.id, trainee).records == reference.records
    assert resumed.records == reference.records


def test_end_now_and_history_with_scores(trainee, scored) -> None:
    first = sessions_service.start_session(trainee.id, SCENARIO, seed=1)
    play(first, REPLIES[:2])
    summary = sessions_service.end_session(first.id, trainee.id)  # no live engine: rebuilt from storage
    assert summary["type"] == "summary" and summary["scores"]["empathy"] == 4.0
    info = sessions_service.get_session(first.id, trainee)
    assert info.status == "ended_early" and info.finished and info.overall == 4.0
    second = sessions_service.start_session(trainee.id, SCENARIO, seed=2)
    play(second, REPLIES)
    history = sessions_service.list_sessions(trainee.id)
    assert [s.id for s in history] == [first.id, second.id]
    assert history[1].status == "completed" and history[1].overall is not None
    with pytest.raises(SessionError, match="ended"):
        sessions_service.resume_session(first.id, trainee.id)


def test_sessions_belong_to_their_trainee(trainee) -> None:
    other = accounts.add_user("olive", "yet another quiet room")
    live = sessions_service.start_session(trainee.id, SCENARIO, seed=1)
    with pytest.raises(SessionError):
        sessions_service.resume_session(live.id, other.id)
    with pytest.raises(SessionError):
        sessions_service.get_transcript(live.id, other)
    trainer = accounts.authenticate("terry", "a quiet room at dusk")
    assert sessions_service.get_transcript(live.id, trainer).info.id == live.id  # trainers may read


def test_notes_on_any_turn(trainee) -> None:
    live = sessions_service.start_session(trainee.id, SCENARIO, seed=1)
    play(live, REPLIES[:1])
    transcript = sessions_service.get_transcript(live.id, trainee)
    member_turn = next(e for e in transcript.entries if e.record["role"] == "member" and e.idx > 0)
    note = sessions_service.add_note(member_turn.turn_id, trainee.id, "  Marcus took the floor again.  ")
    assert note.text == "Marcus took the floor again."
    with pytest.raises(SessionError):
        sessions_service.add_note(member_turn.turn_id, trainee.id, "   ")
    other = accounts.add_user("olive", "yet another quiet room")
    with pytest.raises(SessionError):
        sessions_service.add_note(member_turn.turn_id, other.id, "not mine")
    again = sessions_service.get_transcript(live.id, trainee)
    assert [n.text for e in again.entries for n in e.notes] == ["Marcus took the floor again."]


def test_a_failing_model_leaves_a_notice_not_an_error(trainee, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def render(self, request):
            raise ConnectionError("model server down")

        def stream(self, request):
            raise ConnectionError("model server down")

    class BrokenScorer:
        def score_turn(self, *args):
            raise TimeoutError("judge timed out")

    monkeypatch.setattr(practice, "make_renderer", lambda backend=None: Broken())
    monkeypatch.setattr(practice, "default_scorer", lambda: BrokenScorer())
    live = sessions_service.start_session(trainee.id, SCENARIO, seed=1, backend="embedded")
    events = list(live.send(REPLIES[0]))
    notices = [e.text for e in events if e.kind == "notice"]
    assert any("authored lines" in n for n in notices) and any("could not be scored" in n for n in notices)
    assert [e for e in events if e.kind == "line"]


def test_an_unavailable_backend_falls_back_to_authored_lines(trainee, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(backend=None):
        raise RuntimeError("no weights")

    monkeypatch.setattr(practice, "make_renderer", unavailable)
    live = sessions_service.start_session(trainee.id, SCENARIO, seed=1, backend="embedded")
    assert any("authored lines" in n for n in live.notices)
    assert [e for e in live.send(REPLIES[0]) if e.kind == "line"]
    with session_scope() as s:
        assert s.get(PracticeSession, live.id).backend == "embedded"


def test_exports_in_three_formats(trainee, scored) -> None:
    live = sessions_service.start_session(trainee.id, SCENARIO, seed=4)
    unicode_reply = "Zoë, naïve café talk aside — what's on your mind? *Not* <b>bold</b> [x](y)"
    play(live, [REPLIES[0], unicode_reply])
    live.end_now()
    first_reply = sessions_service.get_transcript(live.id, trainee).entries[1]
    sessions_service.add_note(first_reply.turn_id, trainee.id, "Next time, name Dana.")
    report = reports.build_report(live.id, trainee)
    assert report.dimension_scores == {"empathy": 3.0, "questioning": 4.0}
    assert [o.id for o in report.objectives] == ["respond-to-relapse", "share-the-floor"]

    markdown = exports.to_markdown(report)
    assert "# A relapse in the circle" in markdown
    assert "Zoë, naïve café talk aside — what's on your mind? \\*Not\\* \\<b\\>bold\\</b\\> \\[x\\]\\(y\\)" in markdown
    assert "Next time, name Dana" in markdown and "Encouraging quiet members" in markdown

    document = json.loads(exports.to_json(report))
    assert document["session"]["scenario"] == SCENARIO
    assert document["transcript"][-1]["type"] == "summary"
    assert document["transcript"][3]["text"] == report.transcript.records[3]["text"]
    assert document["notes"][0]["text"] == "Next time, name Dana."

    pdf = exports.to_pdf(report)
    assert pdf.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    assert "A relapse in the circle" in flat
    assert "Welcome, everyone." in flat and "Next time, name Dana." in flat
    if exports.dejavu_fonts() is not None:
        assert "Zoë, naïve café" in flat


def test_export_from_the_cli(trainee, scored, tmp_path) -> None:
    from typer.testing import CliRunner

    from holdspace.cli import app

    live = sessions_service.start_session(trainee.id, SCENARIO, seed=4)
    play(live, REPLIES[:1])
    out = tmp_path / "s.pdf"
    result = CliRunner().invoke(app, ["sessions", "export", str(live.id), "--format", "pdf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    result = CliRunner().invoke(app, ["sessions", "export", str(live.id), "--format", "json"])
    assert json.loads(result.stdout)["session"]["id"] == live.id
