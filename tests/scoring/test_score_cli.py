"""The `holdspace score` contract (DESIGN.md), through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from holdspace.cli import app
from holdspace.content.models import DIMENSIONS, MOVE_LABELS

runner = CliRunner()

RECORDS = [
    {
        "id": "g1",
        "context": [
            {"speaker": "Sam", "text": "I used again on Saturday. I haven't told anyone. I feel like such a failure."},
        ],
        "reply": "Thank you for telling us, Sam. It sounds like you've been carrying a lot of shame on your own "
        "since Saturday. What has this week been like?",
    },
    {
        "id": "o1",
        "context": [
            {"speaker": "client", "text": "My wife keeps saying I drink too much. I don't think it's that bad."},
            {"speaker": "helper", "text": "What does she notice?"},
            {"speaker": "client", "text": "That I'm grumpy in the mornings, I guess."},
        ],
        "reply": "You should just stop drinking on weeknights.",
    },
    {"id": 3, "context": [], "reply": "Welcome, everyone. Shall we start?"},
]


def _run(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_contract_fields_and_ranges(write_jsonl, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    code, _, err = _run(["score", str(write_jsonl(RECORDS)), "-o", str(out)])
    assert code == 0, err
    rows = _read(out)
    assert [r["id"] for r in rows] == ["g1", "o1", "3"]
    for row in rows:
        assert {"id", "moves", "scores", "overall", "feedback", "citations"} <= set(row)
        assert set(row["scores"]) == set(DIMENSIONS)
        present = [v for v in row["scores"].values() if v is not None]
        assert present and all(isinstance(v, int) and 1 <= v <= 5 for v in present)
        assert abs(row["overall"] - sum(present) / len(present)) < 0.01
        assert row["moves"]
        for move in row["moves"]:
            assert move["label"] in MOVE_LABELS
            assert 0.0 <= move["confidence"] <= 1.0
            assert isinstance(move["evidence"], str)
        assert isinstance(row["feedback"], str) and row["feedback"].strip()
        assert isinstance(row["citations"], list)
        for c in row["citations"]:
            assert {"source", "section", "title", "excerpt"} <= set(c)


def test_disclosure_reply_is_read_and_coached(write_jsonl, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    _run(["score", str(write_jsonl(RECORDS)), "-o", str(out)])
    g1, o1, _ = _read(out)
    labels = {m["label"] for m in g1["moves"]}
    assert {"reflection", "open_question"} <= labels
    assert g1["scores"]["empathy"] >= 4 and g1["scores"]["crisis"] is not None
    assert g1["citations"], "feedback should cite the guide"
    # helper/client synonyms: the client is the member, advice is read as advice and scored low
    assert "advice" in {m["label"] for m in o1["moves"]}
    assert o1["scores"]["peer_stance"] is not None and o1["scores"]["peer_stance"] <= 2
    assert o1["scores"]["participation"] is None  # one-to-one: no airtime to balance
    assert o1.get("alternative")


def test_stdout_when_no_output_file(write_jsonl) -> None:
    code, out, _ = _run(["score", str(write_jsonl(RECORDS[:1]))])
    assert code == 0
    assert json.loads(out.strip())["id"] == "g1"


def test_bad_lines_are_named_and_the_rest_scored(write_jsonl, tmp_path: Path) -> None:
    lines = [
        RECORDS[0],
        "{not json",
        {"id": "no-reply", "context": []},
        {"id": "bad-context", "context": "Sam said hi", "reply": "Hi"},
        {"id": "bad-turn", "context": [{"speaker": "Sam"}], "reply": "Hi"},
        {"reply": "no id"},
        RECORDS[2],
    ]
    out = tmp_path / "out.jsonl"
    code, _, err = _run(["score", str(write_jsonl(lines)), "-o", str(out)])
    assert code == 1
    assert "line 2" in err and "(json)" in err
    assert "line 3: reply: missing" in err
    assert "line 4: context" in err
    assert "line 5: context[0].text" in err
    assert "line 6: id" in err
    assert [r["id"] for r in _read(out)] == ["g1", "3"]


def test_same_input_same_bytes(write_jsonl, tmp_path: Path) -> None:
    path = write_jsonl(RECORDS)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert _run(["score", str(path), "-o", str(a)])[0] == 0
    assert _run(["score", str(path), "-o", str(b)])[0] == 0
    assert a.read_bytes() == b.read_bytes()


def test_llm_judge_unavailable_falls_back(write_jsonl, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    code, _, err = _run(["score", str(write_jsonl(RECORDS[:1])), "-o", str(out), "--judge", "llm"])
    assert code == 0
    assert "judge is unavailable" in err
    assert "LLM judge: 0 of 1 replies judged by the model" in err
    assert _read(out)[0]["scores"]["empathy"] is not None


def test_llm_judge_tally_and_the_embedded_models_caution(write_jsonl, tmp_path: Path, monkeypatch) -> None:
    import holdspace.models
    from holdspace.models.scripted import ScriptedChatModel
    from holdspace.settings import reset_settings_cache

    # the first reply follows a disclosure, so empathy is among the dimensions the judge is asked about
    verdict = {
        "dimensions": [{"dimension": "empathy", "applies": True, "score": 4, "reason": "Warm and specific to it."}],
        "feedback": "Naming the feeling first made the question land gently.",
    }
    answers = [json.dumps(verdict), "not json"]  # the second reply's verdict is unusable
    monkeypatch.setattr(holdspace.models, "get_chat_model", lambda role: ScriptedChatModel(answers))
    monkeypatch.setenv("HOLDSPACE_JUDGE_BACKEND", "embedded")
    reset_settings_cache()
    out = tmp_path / "out.jsonl"
    code, _, err = _run(["score", str(write_jsonl(RECORDS[:2])), "-o", str(out), "--judge", "llm"])
    assert code == 0
    assert "too small to judge" in err
    assert "LLM judge: 1 of 2 replies judged by the model" in err
    assert [r.get("judge") for r in _read(out)] == ["llm", None]


def test_rescoring_a_saved_transcript(write_jsonl, tmp_path: Path) -> None:
    state = {"tension": 0.2, "engagement": 0.5, "safety": 0.7, "airtime": {}}
    transcript = [
        {
            "turn": 0,
            "speaker": "Marcus",
            "role": "member",
            "text": "I'll start. So my week, right, first the car "
            "broke down, then my landlord, then the thing with my brother which is a long story and honestly I "
            "could talk about it for an hour because it started back in 2009 when he borrowed money and never "
            "paid it back and then my mum got involved and took his side like she always does and—",
            "state": state,
        },
        {
            "turn": 1,
            "speaker": "facilitator",
            "role": "facilitator",
            "text": "Marcus, let me pause you there so "
            "others get a turn. Dana, you've been quiet, what's been on your mind this week?",
            "moves": [],
            "state": state,
        },
        {"turn": 1, "speaker": "Dana", "role": "member", "text": "I don't know. Fine, I guess.", "state": state},
        {
            "turn": 2,
            "speaker": "facilitator",
            "role": "facilitator",
            "text": "Did you sleep? Are you eating?",
            "moves": [],
            "state": state,
        },
        {"type": "summary", "scenario": "x", "outcome": {}, "scores": {}, "overall": None},
    ]
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"
    code, _, err = _run(["score", str(write_jsonl(transcript, "t.jsonl")), "-o", str(out), "--summary", str(summary)])
    assert code == 0, err
    assert "transcript detected" in err
    rows = _read(out)
    assert [r["id"] for r in rows] == ["turn-1", "turn-2"]
    first = rows[0]
    assert {"redirect", "invite"} <= {m["label"] for m in first["moves"]}
    assert first["scores"]["participation"] is not None and first["scores"]["focus"] is not None
    assert "closed questions" in rows[1]["feedback"]
    report = json.loads(summary.read_text(encoding="utf-8"))
    assert report["turns"] == 2 and set(report["dimension_means"]) == set(DIMENSIONS)
