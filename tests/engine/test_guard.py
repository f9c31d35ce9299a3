"""The guard: every rejection reason, and ordinary member talk that must pass."""

from __future__ import annotations

import pytest

from holdspace.content.models import Persona
from holdspace.engine.guard import (
    REASONS,
    ROLE_SWAPS,
    check_line,
    clean_line,
    jaccard,
    may_continue,
    sentences,
)
from holdspace.engine.types import LineRequest, Utterance

PERSONA = Persona(
    id="dana-test",
    name="Dana Whitfield",
    pronouns="she/her",
    summary="A night-shift clerk who rarely speaks in the group.",
    background="Dana works nights in a hospital billing office and has lived with anxiety since her teens.",
    voice="Soft and brief; says 'I guess' and trails off.",
    lines={
        "answer": ["I guess it's been a long week.", "Tired, mostly. Nights are catching up with me."],
        "deflect": ["I'm fine. Pass for now."],
        "support": ["I'm with you, {target}."],
        "escalate": ["{target}, you keep talking over me."],
    },
)


def request(intent: str = "answer", **kw: object) -> LineRequest:
    base: dict[str, object] = dict(
        speaker="Dana",
        persona=PERSONA,
        intent=intent,
        others=("Marcus", "Sam"),
        recent=(Utterance("facilitator", "facilitator", "What has this week been like for you?"),),
        facilitator_reply="What has this week been like for you?",
        target="Marcus" if intent in {"support", "escalate"} else None,
    )
    base.update(kw)
    return LineRequest(**base)  # type: ignore[arg-type]


GOOD = [
    ("answer", "I guess it's been a long week. Work mostly, and not much sleep."),
    ("answer", "Honestly, I had a panic attack on Tuesday. Nobody at work knew."),
    ("answer", "Um. Okay, I guess. Tired."),
    ("answer", "You should have seen my face when the boss called. I just froze."),
    ("answer", "I remember that night. I couldn't stop shaking."),
    ("answer", "You have to understand, I was scared the whole time."),
    ("answer", "It's important to me that I keep coming here."),
    ("deflect", "I'm fine. Let's move on."),
    ("deflect", "Not much to say. Someone else can go."),
    ("support", "Marcus, that sounds so hard. Thank you for telling us."),
    ("support", "Marcus, you should be proud of that. I couldn't have done it."),
    ("escalate", "Marcus, you need to stop talking over me."),
    ("escalate", "Seriously, Marcus? Not everything is about you."),
    ("answer", "Does anyone else feel like that? Because I do, all the time."),
]


@pytest.mark.parametrize(("intent", "text"), GOOD)
def test_in_character_lines_pass(intent: str, text: str) -> None:
    verdict = check_line(text, request(intent))
    assert verdict.ok, verdict


BAD = [
    ("empty", "answer", ""),
    ("empty", "answer", "..."),
    ("too_short", "answer", "Yes."),
    ("unfinished", "answer", "I guess it has been a long week and I just"),
    (
        "too_long",
        "answer",
        "I was tired all week and could not sleep much at all, because the night shifts kept moving around "
        "and my partner kept asking what was wrong, and I kept saying nothing, which was not true at all, "
        "and then on Friday I just sat in the car for an hour.",
    ),
    (
        "too_long",
        "answer",
        "I was tired all week. Work was bad again. My cat got sick too. Then the bus broke down on me.",
    ),
    ("facilitator_voice", "answer", "Facilitator: what has everyone been up to?"),
    ("facilitator_voice", "answer", "As your facilitator, I want everyone to feel heard tonight."),
    ("facilitator_voice", "answer", "Let's go around the circle and check in."),
    ("facilitator_voice", "answer", "Thank you for sharing, Marcus. That took courage."),
    ("facilitator_voice", "answer", "Does anyone else want to share how their week went?"),
    ("facilitator_voice", "answer", "Welcome, everyone, I'm glad you're here tonight."),
    ("facilitator_voice", "answer", "Remember, this group is a safe space for all of us."),
    ("facilitator_voice", "answer", "I'm tired. Let's move on to the next topic."),
    ("facilitator_voice", "answer", "What brings you here today?"),
    ("speaks_for_other", "answer", "I'm okay. Marcus: I'm not, though, not at all."),
    ("speaks_for_other", "answer", "As Marcus, I think the week was fine."),
    ("wrong_speaker", "answer", "Hi, I'm Sam and I've been sober for a year."),
    ("wrong_speaker", "answer", "Dana looks down at her hands and says she's fine."),
    ("counsels", "answer", "You should try journaling every night before bed."),
    ("counsels", "answer", "It's important to take care of yourself this week."),
    ("counsels", "answer", "I'm tired. Remember to breathe when it gets hard."),
    ("counsels", "answer", "I suggest you talk to a therapist about that."),
    ("counsels", "support", "Marcus, your feelings are valid and healing is a journey."),
    ("counsels", "answer", "I know that feeling. Here are some tips that helped me."),
    ("repeats", "answer", "I guess it's been a long week, honestly."),
    ("repeats", "answer", "What has this week been like for you?"),
    ("repeats", "answer", "I'm so tired of it all. I'm so tired of it all."),
    ("meta", "answer", "As an AI, I don't have weeks, but I can help."),
    ("meta", "answer", "I'm an assistant, so I can't really say how I feel."),
    ("meta", "answer", "I'm not sure how to end this sentence, to be honest."),
    ("markup", "answer", "*sighs* I guess it's been a long week."),
    ("markup", "answer", "I guess (pauses) it's been a long week for me."),
    ("markup", "answer", "- I was tired all week and then some."),
    ("narration", "answer", "She looks at the floor and her hands shake."),
]


@pytest.mark.parametrize(("reason", "intent", "text"), BAD)
def test_rejections_name_their_reason(reason: str, intent: str, text: str) -> None:
    req = request(intent, said_before=("I guess it's been a long week.",))
    verdict = check_line(text, req)
    assert not verdict.ok
    assert verdict.reason == reason, verdict


def test_every_reason_is_covered_by_a_case() -> None:
    assert {reason for reason, _, _ in BAD} == set(REASONS)


def test_role_swaps_are_the_out_of_role_reasons() -> None:
    assert ROLE_SWAPS == {"facilitator_voice", "speaks_for_other", "wrong_speaker", "counsels"}
    assert check_line("As your facilitator, I want to check in.", request()).role_swap
    assert not check_line("*sighs* I guess.", request()).role_swap


def test_turn_passing_is_allowed_only_when_deflecting() -> None:
    assert check_line("I'm good. Let's hear from somebody else.", request("deflect")).ok
    assert check_line("I'm good. Let's hear from somebody else.", request("answer")).reason == "facilitator_voice"


def test_thanks_for_sharing_is_a_facilitator_move_unless_supporting() -> None:
    text = "Marcus, thank you for sharing that. I felt it too."
    assert check_line(text, request("support")).ok
    assert check_line(text, request("answer")).reason == "facilitator_voice"


def test_clean_line_tidies_model_output() -> None:
    assert clean_line('Dana: "I guess so."', "Dana") == "I guess so."
    assert clean_line("I guess so.\nFacilitator: next", "Dana") == "I guess so."
    assert clean_line("  I was tired.   Work was bad and then I", "Dana") == "I was tired."
    assert clean_line("I’m fine…", "Dana") == "I'm fine..."


def test_partial_lines_may_continue_only_when_short_or_unfinished() -> None:
    assert may_continue(check_line("Yeah.", request(), partial=True))
    assert may_continue(check_line("I guess I", request(), partial=True))
    assert not may_continue(check_line("As your facilitator, I", request(), partial=True))


def test_helpers() -> None:
    assert sentences("Um. Okay, I guess. Tired...") == ["Um.", "Okay, I guess.", "Tired..."]
    assert jaccard("I am tired", "tired I am") == 1.0
    assert jaccard("", "x") == 0.0
