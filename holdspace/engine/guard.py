"""The guard: decides whether a model-written member line may reach the trainee.

Small models drift out of character in a few recognisable ways — they take the facilitator's voice, speak
for another member, counsel the group in therapy-speak, talk about being an AI, repeat themselves or run
on. Each is a cheap textual check here, so a rejected line can be sampled again or replaced by an authored
one. The checks are deliberately conservative on role swaps: a false rejection costs a fallback line, a
false acceptance puts the trainee in a group that stops making sense.

`clean_line` first normalises what the model wrote (whitespace, quotes, the speaker's own `Name:` label,
a trailing half sentence); `check_line` then returns a `Verdict`. `ROLE_SWAPS` names the reasons the
quality benchmark counts as role swaps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from holdspace.engine.types import LineRequest

#: reasons that mean a member stepped out of their role (counted as role swaps by the benchmark)
ROLE_SWAPS: frozenset[str] = frozenset({"facilitator_voice", "speaks_for_other", "wrong_speaker", "counsels"})
#: every reason the guard can give
REASONS: tuple[str, ...] = (
    "empty",
    "too_short",
    "unfinished",
    "too_long",
    "facilitator_voice",
    "speaks_for_other",
    "wrong_speaker",
    "counsels",
    "repeats",
    "meta",
    "markup",
    "narration",
)

MAX_WORDS = 45
MAX_SENTENCES = 3
MIN_WORDS = 3
#: intents whose natural lines can be very short ("I'm fine." / "I need a minute.")
SHORT_INTENTS = frozenset({"deflect", "leave", "calm_down"})
DUPLICATE_JACCARD = 0.7
#: a member speaks as "I" (or to "you"); a line about "she" or "they" with neither is a narrator's
_THIRD_PERSON = frozenset("he she they him her them his hers their theirs he's she's they're".split())
_PERSONAL = frozenset(
    "i i'm i've i'd i'll me my mine myself we we're we've us our you you're you've your yours im ive".split()
)

_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|(?<=[.!?])[\"')\]]*$")
_LABEL = re.compile(r"(?:^|[\s\"'(])([A-Z][A-Za-z'\-]{1,30}(?: [A-Z][A-Za-z'\-]{1,30})?)\s*:")
_MARKUP = re.compile(r"[*#`<>\[\]{}|~\\]|https?://|^\s*(?:[-•]|\d+[.)])\s|\([^)]*\)")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None = None
    detail: str = ""

    @property
    def role_swap(self) -> bool:
        return self.reason in ROLE_SWAPS


PASS = Verdict(True)


def _phrases(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")", re.IGNORECASE)


# The facilitator's moves and voice: hosting the group, managing turns, thanking people for sharing,
# asking the therapist's questions. One alternative per entry, so each can be read (and tested) alone.
_ROLE_WORDS = r"(?:facilitator|leader|host|moderator|counsel+or|therapist|coach)"
_GROUP_WORDS = r"(?:everyone|everybody|the (?:rest of the )?group|the others|others|each of you|you all|y'?all)"
_FACILITATOR = _phrases(
    rf"as (?:your|the|a|an|this|our) (?:group )?{_ROLE_WORDS}",
    r"as (?:your|the|a|an) peer (?:support )?(?:specialist|worker|supporter|leader)",
    r"as (?:a |your )?peer support(?:er)?\b",
    rf"i(?:'m| am) (?:your|the) (?:group )?{_ROLE_WORDS}",
    r"(?:welcome|welcoming),? (?:everyone|everybody|all|back)",
    r"welcome to (?:the|our|this|today'?s?) (?:group|session|meeting)",
    r"i (?:really )?appreciate (?:you|your|everyone|everybody) "
    r"(?:sharing|openness|honesty|opening up|being)",
    r"let'?s (?:go around|start (?:by|with)|begin|bring|get back|come back|return to)",
    r"let'?s hear from (?!(?:somebody|someone|anybody|anyone) else)",
    r"let'?s (?:take a (?:moment|breath|minute|pause|break)|refocus|focus|pause|check in|all|each)",
    r"let'?s (?:talk about|discuss|explore|keep (?:this|it|things) (?:safe|respectful))",
    r"let'?s (?:get (?:started|going)|continue|keep going|wrap|end|finish|close|turn|switch|open)",
    r"let'?s (?:start|begin|try) (?:again|over)",
    rf"(?:does|do|would|could|can) (?:anyone|anybody|{_GROUP_WORDS}) (?:else )?(?:want|like|wish|care) to "
    r"(?:share|go|start|add|respond|talk|say)",
    r"(?:who|anyone) (?:else )?(?:would like|wants) to (?:share|go|start|add)",
    r"i'?d (?:like|love) to (?:invite|hear from|check in|remind|welcome|open)",
    r"i'?d (?:like|love) to hear (?:more|about|how|what)|tell (?:me|us) more about",
    r"i want to (?:invite|check in with|welcome|acknowledge)",
    rf"i want to remind {_GROUP_WORDS}",
    rf"(?:what|how) (?:does|do) {_GROUP_WORDS} (?:think|feel|make)",
    rf"(?:how|what) (?:is|are|'s) {_GROUP_WORDS} (?:doing|feeling|thinking)",
    r"(?:hear|hearing) from (?:everyone|everybody|the (?:rest of the )?group|each of you|you all|y'?all)",
    r"(?:this|our|the) (?:group|room|circle|space) is a "
    r"(?:safe|confidential|judgment[- ]free|brave) (?:space|place)",
    r"ground rules|group agreements?",
    r"what i(?:'m| am)? hear(?:ing)?(?: you)?(?: saying)? is",
    r"i hear (?:you saying|that you)",
    r"(?:before|as) we (?:wrap|finish|end|close|move on|begin|start|get started)",
    r"next question|our next|the next (?:topic|person|question)",
    r"let me know if (?:you(?:'re| are)|anyone|everyone)",
    r"(?:answer|take) (?:any |your )?questions? (?:you|anyone)",
    r"(?:my|our) (?:goal|role|job) (?:here )?(?:is|was) to",
    r"what brings you|what'?s on your mind|what would (?:help|you like to (?:talk|share))",
    r"how (?:do|does|did) (?:you|that|it|everyone) (?:feel|make you feel)",
    r"how are you feeling (?:about|today)",
    r"(?:take|taking) a (?:moment|minute|second) to (?:reflect|breathe|pause|notice|think)",
    r"(?:provide|offer) (?:you )?(?:support|a safe|guidance)",
    r"(?:our|today'?s|this) session\b",
    r"check in (?:with|on) (?:you|everyone|everybody|the group)|see how (?:you|everyone)(?:'re| are) doing",
    r"how (?:was|is) your (?:day|week|weekend|evening)\?|what'?s your name",
    r"(?:glad|happy|great|good|nice) to (?:have|see) (?:you all|all of you|everyone|everybody|you) here",
    r"appreciate (?:you|everyone|everybody) (?:taking|being|coming|showing)",
    r"we'?re all in this together",
)

# Passing the turn on ("Let's move on.", "Let's hear from somebody else.") is the facilitator's move when a
# member steers the group, but a member's own way out when deflecting or calming down.
_TURN_PASSING = _phrases(
    r"let'?s move on|moving on|let'?s hear from (?:somebody|someone|anybody|anyone) else",
    rf"hear from (?:{_GROUP_WORDS}|the others|somebody else|someone else)",
)
TURN_PASSING_INTENTS = frozenset({"deflect", "calm_down", "leave"})
# Thanking people for sharing is the facilitator's habit, but one member may thank another in support.
_THANKS = _phrases(
    r"thank(?:s| you)(?: all| everyone| everybody| so much| for that)?,? (?:\w+,? )?for "
    r"(?:sharing|coming|being here|joining|opening up|your honesty|being (?:so )?(?:open|honest|vulnerable))",
    r"(?:glad|happy) (?:you(?:'re| are)|you all are|everyone(?:'s| is)) here",
)

# Counselling: advice and therapy-speak aimed at the facilitator or the group. Ordinary member talk that
# shares words with advice ("you should have seen him", "I remember that night", "you have to understand")
# is excluded on purpose.
_COUNSEL = _phrases(
    r"you (?:should|might want to|may want to|could try|can try|ought to)\b"
    r"(?! have\b|'ve\b| see\b| be proud| know\b)",
    r"you (?:need|have) to (?!stop|quit|shut|back off|listen|let|give|drop|get off|leave|calm|understand|"
    r"know|believe|admit|hear|see|realise|realize)",
    r"(?:it'?s|it is) (?:really |so |very |completely |totally |perfectly )?(?:important|essential|"
    r"crucial|vital|helpful|okay|ok|fine|normal|natural|valid|understandable) (?:to|that)"
    r"(?! me\b| us\b| him\b| her\b)",
    r"(?:i|we) (?:would )?(?:suggest|recommend|encourage|advise) (?:you|that|everyone|we|trying)",
    r"i'?d (?:suggest|recommend|encourage|advise)",
    r"seek(?:ing)? (?:out )?(?:professional )?(?:help|support|counsel+ing|therapy)",
    r"reach(?:ing)? out to (?:a |your )?(?:professional|therapist|counsel+or|doctor|mental health)",
    r"self[- ]compassion|coping (?:strategies|skills|mechanisms|techniques)|practi[cs]e mindfulness",
    r"take care of yourself|be (?:kind|gentle|patient) (?:to|with) yourself",
    r"(?:your|those|these|their|his|her) feelings are (?:valid|normal|understandable)",
    r"healing (?:is|takes) (?:a )?(?:journey|process|time)",
    r"here(?: are|'s| is) (?:some|a few|a|one|my) (?:little |quick |good )?"
    r"(?:tips?|ways?|strategies|strategy|things you|advice|suggestions?)",
    r"(?:give|offer) (?:you|everyone|the group) (?:some |a little |my )?(?:advice|tips?|suggestions?)",
    r"we (?:all )?(?:have|need|ought) to (?:take a step back|get our heads|be (?:kind|patient|gentle))",
    r"(?:one|a) (?:good )?(?:tip|strategy|technique) (?:is|would be)",
)
# The same advice in the imperative, at the start of a sentence or clause: "Remember to breathe."
_IMPERATIVE = re.compile(
    r"(?:^|[.!?;,]\s+|\b(?:and|so|just|but)\s+)(?:just |always |please |maybe |really )?"
    r"(?:remember (?:to|that)|make sure (?:to|you)|be sure to|don'?t forget to|"
    r"(?:try|consider) (?:to )?(?:talking|reaching|seeking|practi[cs]ing|journaling|meditating|breathing|"
    r"writing|setting|focusing|taking)|take (?:a )?deep breaths?|set (?:healthy )?boundaries|"
    r"just think (?:of|about) (?:the|what|how|your)|"
    r"practi[cs]e self)",
    re.IGNORECASE,
)

# Talk about being a model, about the prompt or the task, and assistant-speak.
_META = _phrases(
    r"as an? (?:ai|a\.i\.|language model|assistant|chatbot|bot)",
    r"i(?:'m| am) (?:just )?(?:an? )?(?:ai|a\.i\.|language model|assistant|chatbot|bot|smollm|helpful)",
    r"(?:how|what) can i (?:help|assist|do for) you",
    r"(?:happy|glad|here) to (?:help|assist)(?: you)?[.!]",
    r"language model|smollm|hugging ?face|openai|chatgpt",
    r"i (?:can(?:'t|not)|am (?:not )?able to|am unable to) "
    r"(?:help|assist|provide|answer|fulfil|comply|roleplay)",
    r"role[- ]?play|in character|the (?:user|prompt|assistant|scenario|simulation|transcript)\b",
    r"(?:member|persona|character) (?:card|description)|facilitation",
    r"(?:i'?m|i am) (?:just |only )?a (?:group )?member\b|(?:just |only )?a (?:group )?member of",
    r"(?:next|one|this|that|a) sentence\b|what to (?:write|say) next",
    r"(?:write|rewrite|edit) (?:this|that|the|my|a)\b",
    r"here it is|previous conversation|as requested|this is a story|the story of",
    r"what we do here|here at the (?:clinic|cent(?:er|re)|office|organi[sz]ation)",
    r"(?:our|the|this) (?:organi[sz]ation|clinic|program|programme|service)s? (?:provides?|offers?)",
    r"(?:user|assistant|system|narrator|member|group member|participant|person \d) *:",
)


# -------------------------------------------------------------------------------------------- helpers
def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def sentences(text: str) -> list[str]:
    """Split on sentence-ending punctuation (an ellipsis ends a sentence too)."""
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip())]
    return [p for p in parts if p and any(ch.isalnum() for ch in p)]


def jaccard(a: str, b: str) -> float:
    sa, sb = set(words(a)), set(words(b))
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def ends_sentence(text: str) -> bool:
    return bool(re.search(r"[.!?…][\"')]*\s*$", text))


def clean_line(raw: str, speaker: str) -> str:
    """What the model wrote, tidied: one line, no wrapping quotes, no own `Name:` label, no half sentence."""
    text = raw.replace("\r", " ").split("\n")[0] if raw.strip() else ""
    text = re.sub(r"\s+", " ", text).strip()
    own_label = re.compile(rf"^{re.escape(speaker)}\s*(?:\([^)]*\))?\s*:\s*", re.IGNORECASE)
    text = own_label.sub("", text)
    if len(text) >= 2 and text[0] in "\"“'" and text[-1] in "\"”'" and text.count(text[0]) <= 2:
        text = text[1:-1].strip()
    text = text.replace("“", '"').replace("”", '"').replace("’", "'").replace("…", "...")
    if text and not ends_sentence(text):
        # Cut a half sentence left by the token budget, when a whole one precedes it.
        cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
        if cut > 0:
            text = text[: cut + 1]
    return text.strip()


# -------------------------------------------------------------------------------------------- the guard
def check_line(
    text: str,
    request: LineRequest,
    *,
    max_words: int = MAX_WORDS,
    max_sentences: int = MAX_SENTENCES,
    partial: bool = False,
) -> Verdict:
    """Accept or reject `text` (already cleaned) as `request.speaker`'s line.

    `partial=True` checks a prefix of a line while it streams: only `too_short` and `unfinished` are
    treated as "wait for more", every other reason is final.
    """
    speaker = request.speaker
    stripped = text.strip()
    if not stripped or not any(ch.isalpha() for ch in stripped):
        return Verdict(False, "empty")

    lowered = stripped.lower()
    # Facilitator and other members' labels, anywhere in the line.
    for match in _LABEL.finditer(stripped):
        label = match.group(1)
        if label.lower() in {"facilitator", "group facilitator", "peer facilitator", "leader", "host"}:
            return Verdict(False, "facilitator_voice", f"labels a line {label}:")
        if label in request.others or label.split()[0] in request.others:
            return Verdict(False, "speaks_for_other", f"writes a line for {label}")
    if lowered.startswith("facilitator"):
        return Verdict(False, "facilitator_voice", "starts as the facilitator")
    for other in request.others:
        if re.search(
            rf"\bas {re.escape(other)}\b|^{re.escape(other)} (?:says|said|replies|answers)\b",
            stripped,
            re.IGNORECASE,
        ):
            return Verdict(False, "speaks_for_other", f"speaks as {other}")
    name_claim = re.search(
        r"\b(?i:i'?m|i am|my name is|my name's|this is|it'?s me,?)\s+([A-Z][a-z]+)\b(?!')",
        stripped,
    )
    if name_claim and name_claim.group(1) != speaker and name_claim.group(1) in set(request.others) | {"Facilitator"}:
        return Verdict(False, "wrong_speaker", f"claims to be {name_claim.group(1)}")
    if re.search(rf"\b{re.escape(speaker)}\b", stripped) and not re.search(
        rf"\b(?:i'?m|i am|my name is|name's|call me|this is)\s+{re.escape(speaker)}\b",
        stripped,
        re.IGNORECASE,
    ):
        return Verdict(False, "wrong_speaker", f"talks about {speaker} in the third person")

    meta = _META.search(stripped)
    if meta:
        return Verdict(False, "meta", meta.group(0))
    facilitator = _FACILITATOR.search(stripped)
    if not facilitator and request.intent not in TURN_PASSING_INTENTS:
        facilitator = _TURN_PASSING.search(stripped)
    if not facilitator and request.intent != "support":
        facilitator = _THANKS.search(stripped)
    if facilitator:
        return Verdict(False, "facilitator_voice", facilitator.group(0))
    counsel = _COUNSEL.search(stripped) or _IMPERATIVE.search(stripped)
    if counsel:
        return Verdict(False, "counsels", counsel.group(0))
    if _MARKUP.search(stripped):
        return Verdict(False, "markup")
    tokens = set(words(stripped))
    if tokens & _THIRD_PERSON and not tokens & _PERSONAL:
        return Verdict(False, "narration", "he/she/they but no I, we or you: a narrator, not a member")

    # Repetition: of itself, of this member's earlier lines, of anything said recently.
    said = list(sentences(stripped))
    seen: set[str] = set()
    for sentence in said:
        key = " ".join(words(sentence))
        if key in seen and len(key.split()) >= 2:
            return Verdict(False, "repeats", "says the same sentence twice")
        seen.add(key)
    for earlier in (*request.said_before, *(u.text for u in request.recent)):
        if jaccard(stripped, earlier) >= DUPLICATE_JACCARD:
            return Verdict(False, "repeats", f"near-duplicate of {earlier[:60]!r}")

    n_words = len(words(stripped))
    # Fragments ("Um." "Tuesday." "Standard.") are how people talk; only full sentences count.
    n_sentences = sum(1 for sentence in said if len(words(sentence)) >= 3)
    if n_words > max_words or n_sentences > max_sentences:
        return Verdict(False, "too_long", f"{n_words} words, {n_sentences} sentences")
    min_words = 2 if request.intent in SHORT_INTENTS else MIN_WORDS
    if n_words < min_words:
        return Verdict(False, "too_short", f"{n_words} words")
    if not partial and not ends_sentence(stripped):
        return Verdict(False, "unfinished")
    return PASS


def may_continue(verdict: Verdict) -> bool:
    """While streaming: a prefix rejected only for being short or unfinished may still become a line."""
    return verdict.ok or verdict.reason in {"too_short", "unfinished"}
