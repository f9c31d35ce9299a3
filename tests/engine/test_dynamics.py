"""A group that answers the facilitator: skilled and poor replies lead to different outcomes, in the
direction the guide predicts, for each of the four core scenarios. Skilled replies come in several
phrasings, so the engine has to read meaning rather than one wording."""

from __future__ import annotations

import functools
from statistics import mean

import pytest

from holdspace.content import get_library
from holdspace.engine.session import GroupSession
from holdspace.services.practice import default_detector

SEEDS = range(4)


@functools.cache
def shipped_detector():
    """The detector that ships (the scorer's trained one), not a test double."""
    return default_detector()


def cast(scenario_id: str) -> tuple[GroupSession, dict[str, list[str]]]:
    library = get_library()
    scenario = library.scenario(scenario_id)
    roles: dict[str, list[str]] = {}
    for m in scenario.members:
        roles.setdefault(m.role, []).append(m.name)
    return scenario, roles


def names(scenario_id: str) -> dict[str, str]:
    scenario, roles = cast(scenario_id)
    everyone = [m.name for m in scenario.members]
    quiet = [n for n in everyone if n not in roles.get("dominant", []) + roles.get("volatile", [])]
    out = {f"m{i}": n for i, n in enumerate(everyone)}
    out.update({f"q{i}": n for i, n in enumerate(quiet + quiet)})
    for role, members in roles.items():
        out[role] = members[0]
    return out


def play(scenario_id: str, replies: list[str], seed: int) -> GroupSession:
    library = get_library()
    scenario = library.scenario(scenario_id)
    session = GroupSession(scenario, library.personas_for(scenario), seed=seed, detector=shipped_detector())
    fill = names(scenario_id)
    for reply in replies:
        if session.ended:
            break
        session.play_turn(reply.format(**fill))
    return session


def outcome(scenario_id: str, replies: list[str], metric) -> float:
    return mean(metric(play(scenario_id, replies, seed)) for seed in SEEDS)


# ------------------------------------------------------------------------------ dominating member
DOMINANT_SKILLED = [
    [
        "{dominant}, thank you, let me pause you there so others get some time too. "
        "{q0}, what has your week been like?",
        "{q1}, I'd love to hear from you if you're up for it. What's been on your mind?",
        "I want to make sure everyone gets a chance tonight. Who else would like to share?",
        "{dominant}, I can tell this matters to you; let's hold that thought. {q2}, how are you doing?",
        "{q0}, what was that like for you?",
        "Let's hear from someone who hasn't spoken much yet.",
        "{q1}, can you tell us more about that?",
        "Thanks, everyone. What's one thing you're taking away tonight?",
    ],
    [
        "Let me jump in here, {dominant}. We agreed everyone gets airtime. {q1}, would you be willing to share?",
        "Thanks {q1}. Let's hear from someone who hasn't spoken yet.",
        "{dominant}, hold that thought and we'll come back to it. {q0}, you've been quiet, what's coming up for you?",
        "{q2}, how does what {q0} said land for you?",
        "I'm going to stop us there so other people get a turn. What do others think?",
        "{q0}, say more about that.",
        "Before we close, I'd like to hear from each of you who hasn't had much space.",
        "{q2}, what would help you this week?",
    ],
]
DOMINANT_POOR = [
    "Mm-hmm.",
    "Go on, {dominant}.",
    "Okay.",
    "Right, that's interesting.",
    "And then what happened, {dominant}?",
    "Sure.",
    "Wow. Keep going.",
    "Okay, thanks.",
]


def dominant_share(session: GroupSession) -> float:
    _, roles = cast(session.scenario.id)
    return session.state.airtime_share(roles["dominant"][0])


@pytest.mark.parametrize("script", DOMINANT_SKILLED, ids=["phrasing-a", "phrasing-b"])
def test_redirecting_the_dominant_member_balances_airtime(script: list[str]) -> None:
    skilled_share = outcome("dominating-member", script, dominant_share)
    poor_share = outcome("dominating-member", DOMINANT_POOR, dominant_share)
    assert skilled_share < poor_share - 0.15, (skilled_share, poor_share)
    skilled_even = outcome("dominating-member", script, lambda s: s.state.evenness())
    poor_even = outcome("dominating-member", DOMINANT_POOR, lambda s: s.state.evenness())
    assert skilled_even > poor_even + 0.1, (skilled_even, poor_even)


# ------------------------------------------------------------------------------ silent group
SILENT_SKILLED = [
    [
        "Welcome, everyone. Let's start with a light check-in: what's one small thing that went okay this week?",
        "When I first came to a group like this I didn't say a word for three meetings, so no pressure at all. "
        "What's it like being here tonight?",
        "{q0}, what brought you here, if you're comfortable sharing?",
        "How does that land with the rest of you?",
        "What would make this group feel worth coming back to?",
        "{q1}, I'd love to hear your thoughts whenever you're ready.",
        "What helps you get through a hard day?",
        "Can someone tell me more about what that's been like?",
    ],
    [
        "Thanks for coming tonight. To warm up, if you could be anywhere right now, where would it be?",
        "I'll go first: in my own recovery, the first groups felt awkward to me too. What's on your mind this week?",
        "Tell us a bit about what you hope to get from these meetings.",
        "{q1}, how has your week been?",
        "What do others make of that?",
        "I'm curious what support looks like for each of you.",
        "{q2}, what would you want the group to know about you?",
        "How are you all feeling about the group so far?",
    ],
]
SILENT_POOR = [
    "Did everyone have a good week?",
    "Is anyone going to share?",
    "Are you nervous?",
    "Do you have anything to say, {q0}?",
    "Was it hard to come here?",
    "Is this your first group?",
    "Do you want to go next?",
    "Are we done then?",
]


@pytest.mark.parametrize("script", SILENT_SKILLED, ids=["phrasing-a", "phrasing-b"])
def test_open_questions_and_self_disclosure_warm_a_silent_group(script: list[str]) -> None:
    start = get_library().scenario("silent-group").initial_state.engagement
    skilled = outcome("silent-group", script, lambda s: s.state.engagement)
    poor = outcome("silent-group", SILENT_POOR, lambda s: s.state.engagement)
    assert skilled > start + 0.15, (skilled, start)
    assert poor <= start + 0.05, (poor, start)
    skilled_words = outcome("silent-group", script, lambda s: s.state.member_words)
    poor_words = outcome("silent-group", SILENT_POOR, lambda s: s.state.member_words)
    assert skilled_words > poor_words


# ------------------------------------------------------------------------------ escalating conflict
CONFLICT_SKILLED = [
    [
        "Let's take a breath for a moment. I can hear how strongly you both feel about this.",
        "We agreed at the start to speak one at a time and to respect each other's paths.",
        "{volatile}, it sounds like you feel dismissed, and that really hurts.",
        "I'd like us to take a short pause and come back to this in a few minutes.",
        "What would help each of you feel heard right now?",
        "Both of you care a lot about recovery, even if your paths look different.",
        "Thank you both for staying in the room with this. That takes strength.",
        "What do others notice about what's happening in the group right now?",
    ],
    [
        "Hold on, let's slow this down. This clearly matters to both of you.",
        "Remember our agreement: no name-calling, and everyone's recovery is their own.",
        "{volatile}, you're frustrated, and it's okay to feel that. Let's lower our voices a little.",
        "Let's all take a five-minute break and breathe.",
        "I'm hearing two people who both want to be respected.",
        "How are you both feeling now?",
        "It took courage to stay with a hard conversation.",
        "What can we agree on as a group going forward?",
    ],
]
CONFLICT_POOR = [
    "{other} is right, {volatile}, you're out of line.",
    "Honestly, {volatile}, you're overreacting.",
    "I agree with {other}.",
    "That's ridiculous, {volatile}.",
    "Whatever. Let's just move on.",
    "You're being unreasonable, {volatile}.",
    "Seriously? Grow up.",
    "{other} has a point.",
]


def conflict_names() -> dict[str, str]:
    scenario, roles = cast("escalating-conflict")
    volatile = roles["volatile"][0]
    other = next(m.name for m in scenario.members if m.name != volatile and m.role != "quiet")
    return {"volatile": volatile, "other": other}


@pytest.mark.parametrize("script", CONFLICT_SKILLED, ids=["phrasing-a", "phrasing-b"])
def test_acknowledging_feelings_and_ground_rules_lower_tension(script: list[str]) -> None:
    fill = conflict_names()
    start = get_library().scenario("escalating-conflict").initial_state.tension
    skilled = outcome("escalating-conflict", [r.replace("{other}", fill["other"]) for r in script],
                      lambda s: s.state.tension)
    poor = outcome("escalating-conflict", [r.replace("{other}", fill["other"]) for r in CONFLICT_POOR],
                   lambda s: s.state.tension)
    assert skilled < start - 0.1, (skilled, start)
    assert poor > start + 0.1, (poor, start)


def test_taking_sides_can_end_the_group_in_crisis() -> None:
    fill = conflict_names()
    session = play("escalating-conflict", [r.replace("{other}", fill["other"]) for r in CONFLICT_POOR], 0)
    assert session.state.safety < get_library().scenario("escalating-conflict").initial_state.safety


# ------------------------------------------------------------------------------ relapse disclosure
BEFORE_DISCLOSURE = "Welcome back, everyone. How has the week been?"
RELAPSE_SKILLED = [
    [
        "Thank you for trusting us with that, {discloser}. That took real courage, and there's no judgment here. "
        "What would feel supportive right now?",
        "I'd also like to connect you with our clinical team after group, and I can share the crisis line too.",
    ],
    [
        "{discloser}, I hear how much shame you're carrying, and I'm really glad you told us. "
        "Would it help to talk with our counsellor after the meeting? I can set that up.",
        "What do others want {discloser} to know right now?",
    ],
    [
        "It sounds like this week has been really hard, and you still came back tonight. That says a lot. "
        "How can the group support you?",
        "There are people you can call any time, and I'll give you the number for the support line after group.",
    ],
]
RELAPSE_POOR = [
    "Okay. Let's move on. {m0}, how was your week?",
    "Anyway, back to our topic for tonight.",
    "Let's keep going.",
]


def play_relapse(after: list[str], seed: int) -> GroupSession:
    library = get_library()
    scenario = library.scenario("relapse-disclosure")
    session = GroupSession(scenario, library.personas_for(scenario), seed=seed, detector=shipped_detector())
    fill = names("relapse-disclosure")
    event = next(e for e in scenario.events if e.need is not None)
    while event.id not in session.state.fired_events and not session.ended:
        session.play_turn(BEFORE_DISCLOSURE)
    assert event.id in session.state.fired_events, "the disclosure beat was never delivered"
    assert any(r["speaker"] == event.speaker and r["text"] in [*event.lines] for r in session.records)
    for reply in after:
        if not session.ended:
            session.play_turn(reply.format(**fill))
    return session


def need_handled(session: GroupSession) -> bool:
    return any(n.handled for n in session.state.needs.values())


@pytest.mark.parametrize("script", RELAPSE_SKILLED, ids=["phrasing-a", "phrasing-b", "phrasing-c"])
def test_acknowledging_a_relapse_and_offering_support_handles_it(script: list[str]) -> None:
    for seed in SEEDS:
        skilled = play_relapse(script, seed)
        poor = play_relapse(RELAPSE_POOR, seed)
        assert need_handled(skilled), [r["moves"] for r in skilled.records if r["role"] == "facilitator"]
        assert not need_handled(poor)
        assert poor.state.safety < skilled.state.safety
        objective = next(o.id for o in skilled.scenario.objectives if o.check.startswith("need:"))
        assert skilled.objectives()[objective] and not poor.objectives()[objective]


def test_moving_on_lowers_safety() -> None:
    session = play_relapse([], 0)
    before = session.state.safety
    session.play_turn(RELAPSE_POOR[0].format(**names("relapse-disclosure")))
    assert session.state.safety < before
