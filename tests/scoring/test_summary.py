"""Session summaries: means, strengths, growth areas, key moments."""

from __future__ import annotations

from holdspace.scoring import summarise_session


def test_summary_shape() -> None:
    rows = [
        {
            "id": "1",
            "scores": {"empathy": 5, "questioning": 4},
            "overall": 4.5,
            "feedback": "good",
            "moves": [{"label": "reflection", "depth": "complex"}, {"label": "open_question"}],
        },
        {
            "id": "2",
            "scores": {"empathy": 1, "peer_stance": 1},
            "overall": 1.0,
            "feedback": "judged",
            "moves": [{"label": "judgment"}, {"label": "closed_question"}],
            "citations": [{"source": "s", "section": "x", "title": "t", "excerpt": "e"}],
        },
    ]
    s = summarise_session(rows)
    assert s["turns"] == 2
    assert s["dimension_means"]["empathy"] == 3.0
    assert s["dimension_means"]["safety"] is None
    assert any(g["dimension"] == "peer_stance" and g["citations"] for g in s["growth_areas"])
    assert s["key_moments"][0]["id"] == "2" and s["key_moments"][0]["kind"] == "low"
    assert s["profile"]["open_question_share"] == 0.5


def test_empty_session() -> None:
    s = summarise_session([])
    assert s["turns"] == 0 and s["overall"] is None and s["key_moments"] == []
