"""The report's review: the scorer's `summarise_session` when it exists (whatever its item shape), else a
plainer review from the scores and the group's trajectory; and the coach's reading of the room."""

from __future__ import annotations

import pytest

import holdspace.scoring
from holdspace.services import accounts, coaching, reports, sessions_service

SCENARIO = "fixture-relapse-circle"
REPLIES = [
    "Welcome, everyone. What would you like to talk about tonight?",
    "Marcus, thanks, let me pause you there. Dana, how has your week been?",
]


@pytest.fixture
def finished(db: str) -> tuple[accounts.UserInfo, int]:
    user = accounts.add_user("tina", "another quiet room")
    live = sessions_service.start_session(user.id, SCENARIO, seed=7)
    for reply in REPLIES:
        for _ in live.send(reply):
            pass
    live.end_now()
    return user, live.id


def test_a_scorer_review_is_used_whatever_its_item_shape(finished, monkeypatch: pytest.MonkeyPatch) -> None:
    def summarise_session(records: list[dict]) -> dict:
        assert records[0]["speaker"] == "Marcus"
        return {
            "strengths": ["You opened warmly."],
            "growth_areas": [
                {
                    "description": "Invite Dana by name sooner.",
                    "turn": 2,
                    "citations": [
                        {"title": "Encouraging quiet members", "section": "By name", "excerpt": "Use names."}
                    ],
                }
            ],
            "key_moments": [{"turn": 2, "text": "Priya disclosed a relapse."}],
        }

    monkeypatch.setattr(holdspace.scoring, "summarise_session", summarise_session, raising=False)
    user, session_id = finished
    review = reports.build_report(session_id, user).review
    assert review.strengths == [reports.ReviewItem("You opened warmly.")]
    assert review.growth_areas[0].turn == 2 and review.growth_areas[0].citation["title"] == "Encouraging quiet members"
    assert reports.ReviewItem("Priya disclosed a relapse.", 2) in review.key_moments
    assert any("ended the session" in m.text for m in review.key_moments)  # the group's own moments too


def test_the_scorers_item_shapes_read_as_sentences() -> None:
    strength = reports._as_item(
        {"dimension": "empathy", "mean": 5.0, "note": "acknowledges feelings (mean 5.0)"}, "strengths"
    )
    assert strength.text.endswith("acknowledges feelings. 5.0 on average.")
    growth = reports._as_item(
        {
            "dimension": "participation",
            "mean": 2.5,
            "tip": "invite a quieter member by name",
            "citations": [{"title": "Quiet members"}],
        },
        "growth_areas",
    )
    assert growth.text.endswith("2.5 on average. Next time, invite a quieter member by name.")
    assert growth.citation == {"title": "Quiet members"}
    moment = reports._as_item(
        {
            "id": 3,
            "kind": "low",
            "overall": 2.0,
            "text": "Why did you do that?",
            "feedback": "A why-question can sound like blame.",
        },
        "key_moments",
    )
    assert moment == reports.ReviewItem(
        "A reply to revisit (2.0): “Why did you do that?” A why-question can sound like blame.", 3
    )


def test_a_failing_scorer_review_falls_back_to_the_plain_one(finished, monkeypatch: pytest.MonkeyPatch) -> None:
    def summarise_session(records: list[dict]) -> dict:
        raise ValueError("broken")

    monkeypatch.setattr(holdspace.scoring, "summarise_session", summarise_session, raising=False)
    user, session_id = finished
    report = reports.build_report(session_id, user)
    assert any("ended the session" in item.text for item in report.review.key_moments)
    assert [p["turn"] for p in report.trajectory] == [0, 1, 2]
    assert set(report.airtime) == {"Marcus", "Dana", "Priya"}


def test_the_plain_review_names_strengths_and_growth_areas() -> None:
    records = [
        {
            "turn": 1,
            "speaker": "facilitator",
            "role": "facilitator",
            "text": "a",
            "overall": 4.5,
            "scores": {"empathy": 5, "participation": 2},
            "feedback": "Dana stayed quiet.",
            "citations": [{"title": "Quiet members", "section": "Inviting", "excerpt": "Invite."}],
            "state": {"tension": 0.2, "engagement": 0.5, "safety": 0.7, "airtime": {}},
        },
    ]
    review = reports.plain_review(records, {"empathy": 5.0, "participation": 2.0})
    assert len(review.strengths) == 1 and "5.0" in review.strengths[0].text
    assert "Dana stayed quiet." in review.growth_areas[0].text
    assert review.growth_areas[0].citation["title"] == "Quiet members"


def test_the_coach_reads_the_room_and_cites_the_guide(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    user = accounts.add_user("tina", "another quiet room")
    live = sessions_service.start_session(user.id, SCENARIO, seed=7)
    for reply in REPLIES:
        for _ in live.send(reply):
            pass
    seen, terms = coaching.observations(live.engine)
    assert any("What Priya disclosed" in s for s in seen)  # the relapse at turn 2 is still unanswered
    queries = []

    class FakeRetriever:
        def cite(self, query: str, k: int = 2) -> list[dict]:
            queries.append(query)
            return [{"source": "challenge-relapse-or-death", "section": "s", "title": "t", "excerpt": "e"}]

    import holdspace.retrieval

    monkeypatch.setattr(holdspace.retrieval, "get_retriever", lambda: FakeRetriever())
    hint = coaching.coach_hint(live.engine)
    assert hint.citations[0]["source"] == "challenge-relapse-or-death" and hint.error is None
    assert "relapse" in queries[0]

    def broken():
        raise OSError("index missing")

    monkeypatch.setattr(holdspace.retrieval, "get_retriever", broken)
    hint = coaching.coach_hint(live.engine)
    assert hint.citations == [] and "could not be searched" in hint.error and hint.observations
