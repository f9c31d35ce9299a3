"""What the moment calls for: situation tags read from the engine's state or from the context turns, and
the rubric dimensions they make relevant.

Inside a scenario the engine knows the state (tension, who dominates, pending needs); out of a scenario
(`holdspace score`) we only have the turns before the reply, so the same tags are read from their words.
Either way the rule is the rubric's `applies_when`: after a disclosure empathy and crisis response matter,
during a monologue participation and focus do, and so on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from holdspace.content.models import DIMENSIONS
from holdspace.engine.moves import mentions
from holdspace.engine.session import Situation
from holdspace.engine.types import Move, Utterance
from holdspace.scoring import text as T

TAGS: tuple[str, ...] = (
    "disclosure",
    "distress",
    "risk",
    "anger",
    "monologue",
    "quiet",
    "confidentiality",
    "asks_advice",
    "opening",
    "newcomer",
    "off_topic",
    "judged",
)


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


RISK = _rx(
    r"\b(?:kill(?:ing)? myself|end(?:ing)? (?:it|my life|things)|suicid\w*|better off without me|not (?:be|being) here|"
    r"don'?t want to (?:be here|live|wake up|go on)|no point (?:in )?(?:living|going on|anymore)|want(?:ed)? to die|"
    r"hurt(?:ing)? myself|cut(?:ting)? myself|self[- ]harm\w*|overdos\w*|took (?:all|"
    r"a bunch of|too many) (?:my |the )?pills|"
    r"stockpil\w*|pills saved|rope|jump(?:ing)? off|can'?t keep myself safe|unsafe at home|he hits me|she hits me|"
    r"threaten\w* (?:me|to)|chest (?:hurts|pain)|can'?t breathe|pass(?:ing)? out|gun|goodbye letters?|say goodbye)\b",
)
DISCLOSURE = _rx(
    r"\b(?:i (?:relapsed|used(?! to)|drank|slipped|picked up|went back|started (?:using|drinking) again|gambled)|"
    r"relaps\w*|(?:i'?ve|i have) been (?:using|drinking|gambling|cutting|purging|bingeing)|"
    r"never told (?:anyone|anybody)|(?:i'?ve|i have) not told|haven'?t told (?:anyone|anybody)|"
    r"(?:diagnos\w*|biopsy|scan|tumou?r|cancer|hiv|positive)|(?:died|passed away|funeral|lost my|miscarr\w*|stillborn)|"
    r"abus\w*|assault\w*|rap(?:e|ed)\b|"
    r"(?:i'?m|i am) (?:an? )?(?:addict|alcoholic)|(?:i'?ve|i have) been (?:hiding|lying|"
    r"keeping)|something i need to say|"
    r"(?:i|he|she) (?:hit|beat|hurt) (?:me|her|him|my))\b",
)
DISTRESS = _rx(
    r"\b(?:can'?t (?:cope|do this|take (?:it|this)|stop crying|breathe|sleep|go on|handle)|hopeless|worthless|"
    r"falling apart|breaking down|(?:so|really|completely|totally) (?:alone|lost|scared|overwhelmed|ashamed|exhausted|"
    r"broken|angry|stuck)|overwhelm\w*|panic\w*|terrified|ashamed|disgusted with myself|hate myself|crying|in tears|"
    r"numb|empty inside|giving up|falling to pieces|at the end of my rope|(?:i'?m|i am) a (?:failure|mess|burden)|"
    r"nobody cares|no one cares|what'?s the point)\b",
    r"\[(?:crying|sobbing|tearful|shaking|voice breaking)[^\]]*\]|\((?:crying|sobbing|tearful|shaking)[^)]*\)",
)
ANGER = _rx(
    r"\b(?:shut up|bullshit|bs|fuck\w*|f\*+k\w*|damn|piss\w*|screw (?:you|this)|sick of|fed up|ridiculous|pathetic|"
    r"how dare|you always|you never|you people|who (?:the hell )?(?:do you think|asked you)|not listening|"
    r"(?:i'?m|i am) (?:done|leaving|out of here|outta here)|waste of (?:my )?time|this is stupid|this group is|"
    r"back off|mind your own|don'?t tell me|liar|idiot|moron|stupid)\b",
    r"!{2,}",
)
SHOUTING = re.compile(r"\b[A-Z]{4,}\b(?:\W+\b[A-Z]{2,}\b)+")
MONOLOGUE_CUE = _rx(
    r"(?:—|--|-)\s*$",
    r"\blet me (?:just )?finish\b",
    r"\b(?:and another thing|anyway,? (?:so|as i was saying)|"
    r"i'?ll just finish|where was i|as i was saying|one more thing)\b",
)
QUIET = _rx(
    r"^\s*(?:\.{2,}|…|\[?(?:silence|no one (?:speaks|answers|responds)|long pause|pause|nobody (?:speaks|says)|"
    r"shrugs?|nothing)\]?|(?:i )?(?:dunno|don'?t know|not sure|fine|ok(?:ay)?|nothing|pass|no|yeah|i guess|"
    r"not really|nah|whatever|it'?s fine|i'?m (?:fine|good|ok(?:ay)?))\W*)\s*$",
    r"\[(?:silence|long pause|no one|nobody|everyone looks|members look)[^\]]*\]|\((?:silence|long pause|no one|nobody)"
    r"[^)]*\)",
)
CONFIDENTIALITY = _rx(
    r"\b(?:confidential\w*|stay (?:in|here)|stays (?:in|here)|who (?:else )?(?:will|would|"
    r"gets to) (?:know|find out|see)|"
    r"(?:tell|report|inform) (?:anyone|my (?:boss|employer|doctor|social worker|probation|wife|"
    r"husband|family)|the police|"
    r"social services)|write (?:this|it|that) down|notes|private|recorded|recording|(?:will|would) you (?:have to )?"
    r"(?:tell|report))\b",
)
ASKS_ADVICE = _rx(
    r"\b(?:what (?:should|do|would|can) (?:i|you)|should i|do you think i should|what would you do|"
    r"is (?:it|that) normal|is it (?:safe|ok(?:ay)?|bad)|how do i|how can i|any (?:tips|advice|ideas)|"
    r"what do i do|tell me what to do|does it get (?:easier|better)|can i (?:drink|take|stop)|"
    r"did you ever|have you ever|"
    r"how did you)\b",
)
NEWCOMER = _rx(
    r"\b(?:first (?:time|meeting|group|session)|new here|just joined|never been to|don'?t (?:really )?belong)\b"
)
OPENING = _rx(r"\b(?:welcome|let'?s (?:get )?start|before we (?:begin|start)|tonight we|check[- ]in)\b")
OFF_TOPIC = _rx(
    r"\b(?:football|match|the game|weather|telly|tv show|netflix|traffic|parking|holiday|recipe|politics|"
    r"the election|big pharma|conspiracy)\b"
)
JUDGED = _rx(
    r"\b(?:you (?:just )?need to|you should(?:n'?t)?|that'?s (?:your|on you)|grow up|get over it|"
    r"you'?re (?:being )?(?:ridiculous|dramatic|weak|pathetic|selfish|lazy)|nobody (?:wants|cares) (?:to hear|about))\b"
)

LONG_TURN_WORDS = 70


@dataclass(frozen=True)
class Moment:
    """The situation a reply answers: tags, who is involved, and whether it is a one-to-one conversation."""

    tags: frozenset[str]
    speaker: str | None = None  # the member the reply most directly answers
    members: tuple[str, ...] = ()
    quiet_members: tuple[str, ...] = ()
    dominant: str | None = None
    one_to_one: bool = False
    member_text: str = ""
    evidence: dict[str, str] = field(default_factory=dict)

    def has(self, *tags: str) -> bool:
        return any(t in self.tags for t in tags)


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(0) if m else None


def read_context(context: Sequence[Utterance]) -> Moment:
    """Situation tags from the turns before the reply (out of a scenario)."""
    turns = [u for u in context[-T.MAX_CONTEXT_TURNS :] if u.role in ("member", "facilitator")]
    members_named = T.member_names(turns)
    member_turns = [u for u in turns if u.role == "member"]
    speakers = {u.speaker.lower() for u in member_turns}
    one_to_one = bool(speakers) and speakers <= T.CLIENT_SPEAKERS
    tags: set[str] = set()
    evidence: dict[str, str] = {}
    if not member_turns:
        tags.add("opening")
        return Moment(frozenset(tags), None, tuple(members_named), (), None, one_to_one, "", evidence)

    last_text = T.last_member_text(turns)
    recent = " ".join(T.cap(T.clean(u.text), T.MAX_CONTEXT_CHARS) for u in member_turns[-3:])
    speaker = next((u.speaker for u in reversed(member_turns)), None)
    for tag, pattern, text in (
        ("risk", RISK, last_text),
        ("disclosure", DISCLOSURE, last_text),
        ("distress", DISTRESS, last_text),
        ("anger", ANGER, last_text),
        ("confidentiality", CONFIDENTIALITY, last_text),
        ("asks_advice", ASKS_ADVICE, last_text),
        ("newcomer", NEWCOMER, recent),
        ("off_topic", OFF_TOPIC, last_text),
        ("judged", JUDGED, last_text),
    ):
        hit = _first(pattern, text) or (_first(SHOUTING, text) if tag == "anger" else None)
        if hit:
            tags.add(tag)
            evidence[tag] = hit
    if "risk" in tags:
        tags.add("distress")
    # Anger aimed at another member (a member names another member) reads as conflict.
    if any(
        name.lower() != (speaker or "").lower() and mentions(name, last_text, ignore_case=False)
        for name in members_named
    ) and ("anger" in tags or "judged" in tags):
        tags.add("anger")
    # Monologue: a long turn, a member holding several turns in a row, or talking over the facilitator.
    words: dict[str, int] = {}
    for u in member_turns:
        words[u.speaker] = words.get(u.speaker, 0) + len(u.text.split())
    total = sum(words.values()) or 1
    dominant = max(words, key=lambda k: words[k]) if words else None
    run = 0
    for u in reversed(turns):
        if u.role == "member" and u.speaker == speaker:
            run += 1
        elif u.role == "member":
            break
    last_turn = member_turns[-1].text
    if not one_to_one and (
        len(last_turn.split()) >= LONG_TURN_WORDS
        or MONOLOGUE_CUE.search(last_turn.strip())
        or (run >= 2 and len(member_turns) >= 2)
        or (len(words) >= 2 and dominant and words[dominant] / total >= 0.75 and total >= 80)
    ):
        tags.add("monologue")
    if all(QUIET.search(u.text.strip()) for u in member_turns[-2:]) or QUIET.search(last_turn.strip()):
        tags.add("quiet")
    quiet_members = tuple(n for n in members_named if words.get(n, 0) <= 3)
    if OPENING.search(" ".join(u.text for u in turns[:1])) and len(turns) <= 2:
        tags.add("opening")
    return Moment(
        frozenset(tags),
        speaker,
        tuple(members_named),
        quiet_members,
        dominant if "monologue" in tags else None,
        one_to_one,
        last_text,
        evidence,
    )


def from_situation(situation: Situation, context: Sequence[Utterance]) -> Moment:
    """Situation tags from the engine's state (inside a scenario), merged with what the words say."""
    words = read_context(context)
    tags = set(words.tags)
    intents = set(situation.last_member_intents)
    needs = set(situation.pending_needs)
    if "disclosure" in needs or "disclose" in intents:
        tags.add("disclosure")
    if "distress" in needs:
        tags.add("distress")
    if "safety" in needs:
        tags.update({"risk", "distress"})
    if "conflict" in needs or "escalate" in intents or situation.tension >= 0.65:
        tags.add("anger")
    if "leave" in intents:
        tags.add("distress")
    if situation.dominant_share >= 0.45 or "interrupt" in intents:
        tags.add("monologue")
    else:
        tags.discard("monologue")
    if situation.quiet_members and situation.engagement <= 0.4 or "deflect" in intents:
        tags.add("quiet")
    if situation.turn <= 1:
        tags.add("opening")
    return Moment(
        frozenset(tags),
        words.speaker,
        words.members or tuple(situation.quiet_members),
        tuple(situation.quiet_members) or words.quiet_members,
        words.dominant,
        not situation.group,
        words.member_text,
        words.evidence,
    )


# Which dimensions each tag makes relevant (the rubric's `applies_when`, as data the scorer reads).
TAG_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "disclosure": ("empathy", "crisis", "peer_stance"),
    "distress": ("empathy", "crisis"),
    "risk": ("empathy", "crisis", "safety"),
    "anger": ("safety", "crisis", "empathy"),
    "monologue": ("participation", "focus"),
    "quiet": ("questioning", "participation"),
    "confidentiality": ("safety",),
    "asks_advice": ("peer_stance",),
    "opening": ("safety", "questioning"),
    "newcomer": ("safety", "participation", "empathy"),
    "off_topic": ("focus",),
    "judged": ("safety", "empathy"),
}
# Which dimensions a move in the reply makes relevant (a reply that asks is judged on its questions, etc.).
MOVE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "open_question": ("questioning",),
    "closed_question": ("questioning",),
    "reflection": ("empathy",),
    "affirmation": ("empathy",),
    "summary": ("empathy", "focus"),
    "self_disclosure": ("peer_stance",),
    "information": ("peer_stance",),
    "advice": ("peer_stance", "empathy"),
    "invite": ("participation",),
    "redirect": ("focus",),
    "ground_rules": ("safety",),
    "safety_check": ("crisis", "safety"),
    "referral": ("crisis",),
    "de_escalation": ("crisis",),
    "judgment": ("empathy", "peer_stance"),
}


def applicable(moment: Moment, moves: Iterable[Move]) -> list[str]:
    """The dimensions this reply is scored on, in rubric order."""
    dims: set[str] = set()
    for tag in moment.tags:
        dims.update(TAG_DIMENSIONS.get(tag, ()))
    labels = {m.label for m in moves}
    for label in labels:
        dims.update(MOVE_DIMENSIONS.get(label, ()))
    if moment.member_text and not moment.has("monologue", "quiet"):
        dims.add("empathy")  # a member spoke: how the reply receives it always matters
    if not dims:
        dims.add("empathy" if moment.member_text else "questioning")
    return [d for d in DIMENSIONS if d in dims]
