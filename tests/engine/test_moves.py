"""The engine's rule detector and the name helpers the scorer shares with it."""

from __future__ import annotations

import re

from holdspace.engine import moves


def test_mentions_matches_whole_words_only() -> None:
    assert moves.mentions("Sam", "Thanks, Sam. Who's next?")
    assert moves.mentions("Sam", "thanks sam")  # case does not matter by default
    assert not moves.mentions("Sam", "the same again")  # a substring is not a mention
    assert not moves.mentions("Will", "I will be there", ignore_case=False)
    assert moves.mentions("Will", "Will, go on", ignore_case=False)
    assert not moves.mentions("", "anything")


def test_named_and_addressed_members() -> None:
    members = ["Ana", "Tom", "Sol"]
    reply = "Ana, what do you make of what Tom said?"
    assert moves.named_members(reply, members) == ["Ana", "Tom"]
    assert moves.addressed_members(reply, members) == ["Ana"]


def test_hit_agrees_with_search_and_is_memoised() -> None:
    pattern = re.compile(r"\bsponsor\b", re.I)
    before = moves.hit.cache_info().hits
    assert moves.hit(pattern, "Have you called your sponsor?")
    assert moves.hit(pattern, "Have you called your sponsor?")
    assert not moves.hit(pattern, "Have you called anyone?")
    assert moves.hit.cache_info().hits == before + 1


def test_rule_detector_reads_question_forms() -> None:
    detector = moves.RuleMoveDetector()
    labels = {m.label for m in detector.detect("What's been on your mind this week?")}
    assert "open_question" in labels
    labels = {m.label for m in detector.detect("Did the meeting help?")}
    assert "closed_question" in labels
    labels = {m.label for m in detector.detect("Have you thought about calling your sponsor?")}
    assert "advice" in labels and "closed_question" not in labels
