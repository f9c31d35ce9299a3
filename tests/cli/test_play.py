"""`holdspace play` and `holdspace scenarios` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from holdspace.cli import app

runner = CliRunner()
CORE = ("dominating-member", "silent-group", "escalating-conflict", "relapse-disclosure")
REPLIES = [
    "Welcome, everyone. What would you like to talk about tonight?",
    "Thank you for sharing that. How did that feel?",
    "Let's hear from someone who hasn't spoken yet.",
    "It sounds like this week has been heavy.",
    "What helps when things get hard?",
    "Can you tell me more about that?",
]


def play(tmp_path: Path, scenario: str, seed: int, name: str) -> bytes:
    replies = tmp_path / "replies.txt"
    replies.write_text("\n".join(REPLIES) + "\n")
    out = tmp_path / name
    result = runner.invoke(app, ["play", scenario, "--replies", str(replies), "--model", "scripted",
                                 "--seed", str(seed), "--transcript", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_same_seed_same_transcript_byte_for_byte(tmp_path: Path) -> None:
    for scenario in CORE:
        assert play(tmp_path, scenario, 7, "a.jsonl") == play(tmp_path, scenario, 7, "b.jsonl")


def test_different_seeds_vary_the_transcript(tmp_path: Path) -> None:
    for scenario in CORE:
        outputs = {play(tmp_path, scenario, seed, f"{seed}.jsonl") for seed in range(4)}
        assert len(outputs) > 1, scenario


def test_transcript_records_follow_the_contract(tmp_path: Path) -> None:
    records = [json.loads(line) for line in play(tmp_path, "dominating-member", 1, "t.jsonl").splitlines()]
    *utterances, summary = records
    assert {r["role"] for r in utterances} <= {"facilitator", "member", "system"}
    for record in utterances:
        assert {"turn", "speaker", "role", "text", "state"} <= set(record)
        assert set(record["state"]) == {"tension", "engagement", "safety", "airtime"}
        if record["role"] == "facilitator":
            assert record["moves"] and {"label", "confidence", "evidence"} <= set(record["moves"][0])
    assert summary["type"] == "summary" and summary["scenario"] == "dominating-member"
    assert set(summary) == {"type", "scenario", "outcome", "scores", "overall"}
    assert set(summary["outcome"]) == {"participation_evenness", "facilitator_talk_ratio", "final_tension",
                                       "final_engagement", "final_safety", "objectives"}
    assert all(isinstance(v, bool) for v in summary["outcome"]["objectives"].values())
    member_names = {r["speaker"] for r in utterances if r["role"] == "member"}
    assert member_names <= set(utterances[-1]["state"]["airtime"])


def test_play_reports_an_unknown_scenario(tmp_path: Path) -> None:
    replies = tmp_path / "r.txt"
    replies.write_text("hello\n")
    result = runner.invoke(app, ["play", "no-such-thing", "--replies", str(replies)])
    assert result.exit_code == 1
    assert "unknown scenario 'no-such-thing'" in result.output


def test_play_interactive_reads_stdin(tmp_path: Path) -> None:
    result = runner.invoke(app, ["play", "silent-group", "--model", "scripted"],
                           input="Welcome everyone. What brought you here tonight?\n")
    assert result.exit_code == 0, result.output
    assert "you>" in result.output and "Session summary" in result.output


def test_scenarios_list_and_show_json() -> None:
    listing = json.loads(runner.invoke(app, ["scenarios", "--json"]).output)
    assert set(CORE) <= {card["id"] for card in listing}
    card = json.loads(runner.invoke(app, ["scenarios", "show", "relapse-disclosure", "--json"]).output)
    assert set(card) == {"id", "title", "group_type", "stage", "difficulty", "objectives", "members"}
    assert card["members"] and set(card["members"][0]) == {"name", "persona"}
    missing = runner.invoke(app, ["scenarios", "show", "nope", "--json"])
    assert missing.exit_code == 1
