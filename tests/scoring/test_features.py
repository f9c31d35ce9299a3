"""Reply features read against the conversation: who a reply gathers, who it turns to, what it answers."""

from __future__ import annotations

import json

import numpy as np

from holdspace.scoring import data, features
from holdspace.scoring import text as T

GROUP = T.to_utterances(
    [
        {"speaker": "Ana", "text": "The move is stressing me out, boxes everywhere and no sleep."},
        {"speaker": "Sol", "text": "Honestly I had a decent week, the new job is going well."},
        {"speaker": "Tom", "text": "Still waiting on the scan results from the hospital."},
    ]
)
NAMES = T.member_names(GROUP)


def _context(reply: str, context=GROUP, names=NAMES) -> dict[str, float]:
    sentences = T.split_sentences(reply)
    names_used = [n for n in features.REPLY_FEATURES if not n.startswith("rule:")]
    start = names_used.index("names_mentioned")
    vector = features.context_vector(reply, sentences, context, names)
    return dict(zip(names_used[start:], vector.tolist(), strict=True))


def test_context_features_are_part_of_every_reply_vector() -> None:
    parsed = features.reply_features("So far we've heard from Ana and Sol.", GROUP, NAMES, one_to_one=False)
    assert parsed.reply_vector.shape == (len(features.REPLY_FEATURES) + features.NGRAM_BUCKETS,)


def test_a_summary_gathers_several_members_words() -> None:
    summary = _context("So far: Ana's stressed about the move, Sol's new job is going well, Tom's waiting on the scan.")
    single = _context("That sounds like a lot of waiting, Tom.")
    assert summary["names_two_plus"] == 1.0 and summary["echoed_two_plus_speakers"] == 1.0
    assert summary["gathering_cue"] == 1.0
    assert single["names_two_plus"] == 0.0 and single["echoed_two_plus_speakers"] == 0.0


def test_an_invite_turns_to_someone_other_than_the_last_speaker() -> None:
    to_other = _context("Ana, you've been quiet since the start. What's on your mind?")
    to_new = _context("Priya, you haven't said much tonight. Anything you want to add?")
    to_last = _context("What's the hardest part of the waiting?")
    assert to_other["names_other_than_last"] == 1.0
    assert to_new["vocative_new_name"] == 1.0 and to_new["floor_cue_question"] == 1.0
    assert to_last["names_other_than_last"] == 0.0 and to_last["vocative_new_name"] == 0.0
    # "So," and "Okay," start sentences; they are not names.
    assert _context("So, what happened next?")["vocative_new_name"] == 0.0


def test_an_answer_to_a_question_in_general_terms() -> None:
    asked = T.to_utterances([{"speaker": "client", "text": "Do the patches actually work?"}])
    answer = _context("They usually help a lot. Most people find the cravings ease within a week.", asked, [])
    question = _context("What have you heard about them?", asked, [])
    assert answer["last_asked"] == 1.0 and answer["answers_with_statements"] == 1.0
    assert answer["generic_any"] == 1.0
    assert question["answers_first"] == 0.0 and question["generic_any"] == 0.0


def test_annotations_load_per_annotator(tmp_path) -> None:
    (tmp_path / "author.jsonl").write_text(
        json.dumps({"id": "x-1", "moves": [{"label": "invite"}, {"label": "not_a_move"}]}) + "\nnot json\n",
        encoding="utf-8",
    )
    (tmp_path / "second.jsonl").write_text(json.dumps({"id": "x-1", "moves": []}) + "\n", encoding="utf-8")
    loaded = data.load_annotations(tmp_path)
    assert loaded == {"author": {"x-1": frozenset({"invite"})}, "second": {"x-1": frozenset()}}
    assert data.load_annotations(tmp_path / "missing") == {}


def test_shipped_annotations_cover_the_calibration_set() -> None:
    annotations = data.load_annotations()
    ids = {r.id for r in data.load_calibration()}
    assert ids <= set(annotations["author"]) and ids <= set(annotations["second"])
    # The calibration files hold the majority: where author and second agree, that is the label set (unless the
    # codebook's question-form rule was applied afterwards, which `codebook_rule.jsonl` records).
    records = {r.id: r for r in data.load_calibration()}
    ruled = annotations.get("codebook_rule", {})
    assert all(records[i].moves == moves for i, moves in ruled.items())
    agreed = [i for i in ids if annotations["author"][i] == annotations["second"][i] and i not in ruled]
    assert agreed and all(records[i].moves == annotations["author"][i] for i in agreed)
    assert np.mean([records[i].moves == annotations["author"][i] for i in ids]) < 1.0


def test_steering_brushing_off_and_naming_services() -> None:
    monologue = T.to_utterances(
        [{"speaker": "Gloria", "text": "And on day two the nurse said, and my sister said, and the bus was late, and—"}]
    )
    steer = _context("Gloria, let me pause you there so others get a turn. Let's come back to the group.", monologue)
    assert steer["last_turn_cut_off"] == 1.0 and steer["moving_on_cue"] == 1.0 and steer["last_turn_length"] > 0.1
    assert _context("haha we've all felt that one! anyway, next topic")["brush_off_cue"] == 1.0
    assert _context("That sounds hard. What helped last time?")["brush_off_cue"] == 0.0
    referral = _context("Your GP or the crisis line are there for this, and I can give you the number.")
    assert referral["service_any"] == 1.0 and referral["services_named"] == 1.0
    assert _context("What's been on your mind this week?")["service_any"] == 0.0
