"""Features for the move classifier: rule hits, lexical shape and sentence embeddings.

The rule patterns of `holdspace.engine.moves` are written from the move definitions (MITI conventions),
not from any one data set, so they carry most of the weight when the wording is new; the MiniLM
embeddings add meaning that no pattern lists ("that was a really selfish way to think"). Features are
computed per sentence and pooled per reply, which also lets the detector point at the sentence that is
the evidence for a move.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from holdspace.engine import moves as rules
from holdspace.scoring import text as T

# Patterns beyond the engine's: shape cues that hold in any counselling transcript.
_WH = re.compile(
    r"^(?:(?:and|so|but|okay|ok|well|now|then|mm|hmm|right|yeah|sorry)[, ]+)*(?:what|how|why|"
    r"in what way|which (?:part|bit|"
    r"of (?:those|these|them|that))|where (?:do|does|did|would) (?:you|that|it))(?:'?s|'?re|"
    r"'?d)?\b(?! (?:many|much|long|"
    r"old|often|far)\b)|\b(?:how|what|why)\?$",
    re.I,
)
_WH_FACT = re.compile(
    r"^(?:(?:and|so|but|okay|ok|well|right)[, ]+)*(?:how (?:many|much|long|old|often|far)|when|where(?! (?:do|does|did|"
    r"would) (?:you|that|it))|who|which(?! (?:part|bit|of (?:those|these|them|that)))|whose)\b",
    re.I,
)
_AUX = re.compile(
    r"^(?:(?:and|so|but|okay|ok|well|right|now)[, ]+)*(?:do|does|did|are|is|was|were|have|has|had|can|could|will|would|"
    r"should|shall|may|might|am|don'?t|didn'?t|isn'?t|aren'?t|wasn'?t|won'?t|haven'?t|hasn'?t|r u|ru)\b",
    re.I,
)
_TELL_MORE = re.compile(
    r"\b(?:tell|say|share|talk|describe|explain|walk|unpack|expand|fill)\b.{0,30}\b(?:more|about|what|how|through|"
    r"like|on that)\b|\bgo on\b|\bsay more\b",
    re.I,
)
_YOU_START = re.compile(
    r"^(?:(?:so|and|okay|ok|yeah|mm|hmm|right|sounds like)[, ]+)*(?:you|you're|you've|u|ur|your)\b", re.I
)
_I_START = re.compile(r"^(?:(?:so|and|okay|ok|yeah|well|honestly)[, ]+)*(?:i|i'm|i've|i'd|me|my)\b", re.I)
_WE_START = re.compile(r"^(?:(?:so|and|okay|ok|now|alright)[, ]+)*(?:we|we're|we'll|let's|let us|our)\b", re.I)
_IMPERATIVE = re.compile(
    r"^(?:(?:just|maybe|so|then|please|now|okay|ok)[, ]+)*(?:try|stop|start|go|call|ring|write|get|make|avoid|focus|"
    r"remember|think|consider|take|talk|reach|put|keep|find|let|give|tell|cut|drink|eat|sleep|ask|pick|look|"
    r"don'?t|be|use|join|set|text|book|see|read|listen|breathe|sit|hold|wait|come)\b",
    re.I,
)
_FEELING = re.compile(
    r"\b(?:feel\w*|felt|hurt\w*|scar\w*|afraid|fear\w*|angry|anger|mad|upset|ashamed|shame\w*|guilt\w*|lonely|alone|"
    r"exhaust\w*|tired|overwhelm\w*|frustrat\w*|sad\w*|grief|griev\w*|hopeless\w*|worr\w*|anxious|anxiety|nervous|"
    r"disappoint\w*|betray\w*|torn|stuck|lost|invisible|unheard|proud|relie\w*|heavy|raw|vulnerable|panic\w*|"
    r"embarrass\w*|resent\w*|jealous|numb|empty|broken|crushed|devastat\w*|terrif\w*|confus\w*|helpless)\b",
    re.I,
)
_DOUBLE_SIDED = re.compile(
    r"\b(?:on (?:the )?one hand|part of you|and yet|but also|and also|at the same time|even though|while you|"
    r"both .{1,40} and)\b",
    re.I,
)
_TENTATIVE = re.compile(r"\b(?:maybe|perhaps|i wonder|might|sort of|kind of|a bit|as if|as though|almost like)\b", re.I)
_THANKS = re.compile(r"\b(?:thanks?|thank you|ty)\b", re.I)
_PERMISSION = re.compile(
    r"\b(?:would it be (?:ok|okay|alright|all right)|can i (?:share|offer|tell|suggest|give)|"
    r"would you (?:like|mind) (?:if i|me to|some|to hear)|do you want (?:some|me to|to hear)|is it ok(?:ay)? if i)\b",
    re.I,
)
_HEDGED_ADVICE = re.compile(
    r"\b(?:have you (?:thought|considered|tried)|what (?:if|about) (?:you|trying|calling|talking|going|writing|"
    r"asking|getting)|why (?:don'?t|not) you|how about (?:you|trying|calling|talking)|"
    r"(?:would|could) you (?:try|consider|maybe)|is it worth|might (?:it )?be worth|"
    r"you (?:could|might) (?:try|want))\b",
    re.I,
)
_NEGATIVE_TONE = re.compile(
    r"\b(?:just|simply|obviously|clearly|seriously|honestly|frankly|really)\b.{0,40}\b(?:need|have to|should|stop|"
    r"can'?t|won'?t|don'?t|always|never)\b|\b(?:always|never|nothing|everyone|nobody)\b",
    re.I,
)
_REQUEST_Q = re.compile(
    r"^(?:(?:so|and|okay|ok|now)[, ]+)*(?:(?:can|could|would|will|may) (?:we|i|you|everyone|we all) (?:please )?"
    r"(?:stop|pause|hold|leave|park|keep|come back|move|get back|take|go back|bring|just|try|ask|check)|shall we|"
    r"(?:can|could) i (?:ask|jump|stop|pause|check)|mind if i|is it ok(?:ay)? (?:if|to))\b",
    re.I,
)
_INVITE_TELL = re.compile(
    r"\b(?:would|could|can|does|do|will|did) (?:anyone|anybody|someone|somebody|others|you all|people|either of you|"
    r"you both|any of you|one of you|you)\b.{0,25}\b(?:tell|say|share|talk|describe|add|speak|offer|walk|explain)\b",
    re.I,
)
_TAG_Q = re.compile(
    r"(?:,|\s-)\s*(?:right|yeah|yes|no|ok|okay|eh|isn'?t it|is it|don'?t you|do you|does it|do they|aren'?t you|"
    r"didn'?t you|wasn'?t it|is that (?:right|fair|true|it)|correct|true|did i get that)\s*\?*$",
    re.I,
)
_GROUP_Q = re.compile(
    r"\b(?:anyone|anybody|someone|somebody|everyone|everybody|others|other people|who else|any of you|you all|y'?all|"
    r"folks|people here|the group|the rest of (?:you|us)|each of you|either of you|you both|both of you)\b",
    re.I,
)
_HOW_DOING = re.compile(
    r"\bhow (?:are|is|was|were|did|do|does|have|has)\b.{0,30}\b(?:feel\w*|doing|going|holding up|"
    r"sitting with|landing|coping|managing)\b",
    re.I,
)
# Wider nets than the engine's rules (features only; the classifier weighs them): validation and
# reassurance, moralising and minimising, and explaining how things are.
_VALIDATE = re.compile(
    r"\b(?:(?:that'?s|it'?s|being|you'?re|is) (?:completely |absolutely |perfectly |totally |really |pretty )?"
    r"(?:okay|ok|fine|alright|all right|welcome|understandable|natural|normal|human|enough)\b|welcome here|"
    r"(?:all|are|is) welcome|come as you are|no need to apologi[sz]e|(?:don'?t|do not) (?:need|have) to apologi[sz]e|"
    r"nothing'?s wrong with you|doesn'?t make you|you'?re not (?:imagining|crazy|weak|broken|alone|a bad)|"
    r"understandabl[ey]|fair enough|congratulations|congrats|no small thing|(?:that'?s|it'?s) (?:huge|amazing|"
    r"brilliant|great|wonderful|a big deal|a real achievement)|(?:really |so )?glad (?:you|u)|i'?m glad|"
    r"it matters (?:to me )?that|means a lot|says a lot about|takes (?:some )?nerve|(?:such an|an|really) honest|"
    r"appreciate|^(?:thanks?|thank (?:you|u))\b|good (?:on|for) you|well done|you did it|not weird)",
    re.I,
)
_MORALISE = re.compile(
    r"\b(?:disappointed in you|what'?s wrong with you|why (?:would|did|didn'?t) you|what did you expect|"
    r"what were you thinking|you can'?t expect|not very (?:smart|clever|wise)|(?:bad|stupid|dumb|nasty|silly|"
    r"terrible) (?:idea|thing|choice|decision|thing to say)|nasty|no offen[cs]e|harder than it needs|"
    r"making (?:excuses|it harder)|just get on with it|(?:learn|need) to (?:control|grow|get over|stop)|"
    r"should (?:have|'ve) (?:known|quit|stopped|called|been|eased|done)|happens to every(?:body|one)|"
    r"can'?t handle it|lucky you|(?:that'?s|it'?s) on you|don'?t want it enough|happens for a reason|"
    r"bright side|stay positive|shouldn'?t (?:be|feel) (?:angry|sad|upset)|selfish|betray\w*|"
    r"(?:isn'?t|is not) a (?:pub|therapy session|competition)|come on|really\?|seriously|honestly,? (?:what|you)|"
    r"(?:it'?s|that'?s) (?:not|no) (?:that|a) big deal|could be worse|at least|toughen|just relax|cheer up|"
    r"(?:get|got) a grip|pull yourself together|that'?s (?:an? )?(?:addict|alcoholic)|you people)\b",
    re.I,
)
_EXPLAIN = re.compile(
    r"\b(?:(?:plenty|lots|a lot|most|many|some) (?:of )?(?:people|us|carers|folks|members|parents|veterans|"
    r"patients)|(?:often|usually|typically|commonly) (?:\w+ ){0,3}(?:is|are|can|happens|comes|feel|find)|"
    r"tends? to|can (?:cause|make|bring|lead|take|affect|trigger)|(?:is|are) (?:a )?(?:common|normal|typical) "
    r"(?:sign|part|reaction|response|experience)|it'?s called|what happens is|the way it works|research|studies|"
    r"evidence|(?:we|the group) (?:don'?t|do|usually|always|normally) (?:record|meet|start|finish|take|break|"
    r"run|end)|we'?re (?:going to )?(?:take|taking|having|doing) a|tonight we|today we|next week|"
    r"\d+\s*(?:minutes|mins|hours|days|weeks|months|years|mg|calories|units|percent|%))\b",
    re.I,
)
_NOTICING = re.compile(
    r"^(?:(?:so|and|okay|ok|yeah|mm|hmm)[, ]+)*(?:i (?:can )?(?:see|hear|notice|sense)|i'?m (?:hearing|noticing|"
    r"wondering|guessing|getting)|i wonder|i get the (?:sense|feeling)|i think (?:you|ur|u|there|that'?s|it'?s)|"
    r"there'?s (?:a lot|something|quite|a real)|the room|quite a|lots of|a lot of)\b|"
    r"\b(?:stung|landed|hit (?:you|hard))\b",
    re.I,
)
_VERBISH = re.compile(
    r"\b(?:is|are|was|were|be|been|am|'s|'re|'m|do|does|did|have|has|had|can|could|will|would|should|may|might|must|"
    r"feel|think|want|need|know|go|get|got|let|make|try|tell|say|said)\b",
    re.I,
)
_DIGIT = re.compile(r"\d")
_FILLER_ONLY = re.compile(
    r"^(?:(?:mm+|hm+|mhm|uh[- ]?huh|mm-hmm|okay|ok|right|yeah|yes|sure|i see|got it|ah|oh|wow|"
    r"alright|all right)[ ,.!]*)+$",
    re.I,
)
_WORD = re.compile(r"[a-z']+")
_STOP = frozenset(
    "a an the and or but so to of in on at for with is are was were be been it its it's this that i you he she we "
    "they me my your our his her their them us do does did have has had not no yes just really very can could would "
    "will what how why when where who which there here about like as if than then too also get got go going know "
    "think don't i'm you're".split()
)

#: Names of the per-sentence features, in column order.
SENTENCE_FEATURES: tuple[str, ...] = (
    "qmark",
    "is_question",
    "wh_start",
    "wh_fact",
    "aux_start",
    "open_pat",
    "closed_pat",
    "advice_q",
    "safety_q",
    "tell_more",
    "reflection_pat",
    "complex_hint",
    "affirmation",
    "summary",
    "self_disclosure",
    "information",
    "advice",
    "invite",
    "redirect",
    "ground_rules",
    "referral",
    "de_escalation",
    "judgment",
    "you_start",
    "i_start",
    "we_start",
    "imperative",
    "feeling",
    "double_sided",
    "tentative",
    "thanks",
    "permission",
    "hedged_advice",
    "negative_tone",
    "digit",
    "filler",
    "names",
    "statement",
    "you_statement",
    "exclaim",
    "clause_wh",
    "clause_aux",
    "q_request",
    "invite_tell",
    "q_tag",
    "how_doing",
    "q_choice",
    "q_fragment",
    "q_declarative",
    "qt_open",
    "qt_closed",
    "qt_advice",
    "qt_safety",
    "qt_request",
    "qt_reflective",
    "st_reflection",
    "st_advice",
    "st_information",
    "qt_group",
    "validate",
    "moralise",
    "explain",
    "echo",
    "fragment",
    "noticing",
)
_SF = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
#: Reply-level features added after pooling.
REPLY_FEATURES: tuple[str, ...] = (
    "log_chars",
    "n_sentences",
    "n_questions",
    "q_fraction",
    "first_question",
    "last_question",
    "only_question",
    "lower_ratio",
    "you_ratio",
    "i_ratio",
    "overlap_last",
    "has_context",
    "n_context",
    "one_to_one",
    "empty",
    *(f"rule:{label}" for label in rules._ORDER),
    # Who the reply draws on and who it turns to: a summary gathers several members' words, an invite turns
    # to someone other than the last speaker, information tends to answer a question.
    "names_mentioned",
    "names_two_plus",
    "names_other_than_last",
    "vocative_new_name",
    "echoed_turns",
    "echoed_speakers",
    "echoed_two_plus_speakers",
    "statement_commas",
    "statement_ands",
    "gathering_cue",
    "floor_cue",
    "floor_cue_question",
    "several_speakers",
    "last_asked",
    "answers_first",
    "answers_with_statements",
    "generic_statements",
    "generic_any",
    # Steering (a monologue, a cut-off turn, two members going back and forth, "anyway, next"), brushing off,
    # and naming a service or professional.
    "last_turn_length",
    "last_turn_cut_off",
    "member_turns_running",
    "members_exchanging",
    "moving_on_cue",
    "brush_off_cue",
    "brush_off_cues_two_plus",
    "services_named",
    "service_any",
)
#: Word unigrams and bigrams of the reply, hashed into this many buckets (no vocabulary to ship or fit). They
#: catch wording the rules and the sentence embeddings both miss ("you knew", "is a", "no wonder") and cost
#: next to nothing, so the fast model reads them too.
NGRAM_BUCKETS = 1024
NGRAM_WEIGHT = 1.0
NGRAM_FEATURES: tuple[str, ...] = tuple(f"ngram:{i}" for i in range(NGRAM_BUCKETS))
_NGRAM_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[?!]")
_RULES = rules.RuleMoveDetector()


# Context cues (reply level). Openers that are not names when they start a sentence followed by a comma.
_NOT_NAMES = frozenset(
    "so okay ok well yes yeah right now and but look listen thanks thank hey hi hello sorry alright good great oh "
    "ah hmm mm wow honestly actually also then first i you we it that this what how why when where who which do "
    "did can could would will is are was".split()
)
_VOCATIVE_START = re.compile(r"^([A-Z][a-z]{1,14})\s*[,\-:]")
_VOCATIVE_END = re.compile(r",\s*([A-Z][a-z]{1,14})\s*[?.!]*$")
_GATHERING = re.compile(
    r"\b(?:so far|what i'?m hearing|i'?m hearing|a few (?:things|of you|different)|pull(?:ing)? (?:together|that "
    r"together)|to sum|sum up|both of you|between (?:you|the (?:two|three))|all of you|several of you|some of you|"
    r"a lot of you|many of you|running through|common (?:thread|theme)|theme|each of you|few of you|two of you|"
    r"three of you|lots of (?:you|us)|across the (?:room|group)|tonight we'?ve|we'?ve heard|i'?ve heard|from what "
    r"you'?ve (?:said|told)|so (?:there'?s|it'?s) (?:the|both)|on (?:one|the other) (?:side|hand)|first .{1,60} "
    r"then|and then there'?s|plus)\b",
    re.I,
)
_FLOOR = re.compile(
    r"\b(?:anyone|anybody|who else|others|rest of (?:you|the group)|haven'?t heard from|been quiet|bit quiet|quiet "
    r"tonight|space for|room for|whoever|floor|anything to add|like to add|want to add|jump in|come in|your turn|"
    r"next\??$|who'?d like|who wants|hear from|hear what|what about you|how about you|and you)\b",
    re.I,
)
_GENERIC = re.compile(
    r"^(?:(?:and|so|but|well|yes|yeah|no|honestly|actually|okay|ok)[, ]+)*(?:(?:plenty|lots|a lot|most|many|some|"
    r"loads) of (?:people|us|folks|carers|parents)|(?:most|many|some|lots of) \w+s\b|people (?:often|usually|tend|"
    r"find|who)|it'?s (?:common|normal|usual|really common|very common|quite common)|there (?:is|are|'s)|it "
    r"(?:usually|often|can|tends|takes|depends|runs|starts|lasts)|they (?:usually|often|can|tend|will|won'?t|"
    r"don'?t|have to|need to)|that'?s (?:how|what|why|because|called)|this (?:group|session|meeting|service|line)|"
    r"the (?:group|line|service|session|meeting|council|gp|doctor|nurse|pharmacist|helpline|next|first|last)|we "
    r"(?:meet|don'?t|do|usually|always|never|start|finish|break|end|run|record|keep|have)|our (?:group|sessions|"
    r"meetings)|yes,? (?:you can|it'?s|there'?s|we)|no,? (?:you can'?t|it'?s not|we don'?t))\b",
    re.I,
)

_MOVING_ON = re.compile(
    r"\b(?:next(?: topic| person| one)?\??$|next person|next topic|anyway|moving on|move on|let'?s move|keep it "
    r"(?:short|brief|to)|(?:come|get|go|bring (?:us|it)) back to|back to (?:the|topic|our|what)|one at a time|park "
    r"(?:that|it|the)|hold (?:on|that)|pause (?:you|there|us|for)|let me (?:stop|pause|jump|come in)|i'?m going to "
    r"(?:stop|pause|jump|move)|(?:stop|pause) (?:us|you|there)|we'?ve (?:drifted|wandered|gone off)|drift|off[- ]topic|"
    r"on track|time check|watch(?:ing)? the clock|running (?:low|out) (?:on|of) time|for another (?:time|day)|one for "
    r"your|rather than (?:here|in here|tonight)|not (?:really )?(?:for|the place)|save (?:that|it) for)\b",
    re.I,
)
_BRUSH_OFF = re.compile(
    r"\b(?:haha|lol|ha+\b|we'?ve all|every(?:one|body) (?:feels|does|has|gets)|get over|not that bad|drama|hogging|"
    r"as usual|typical|obviously|clearly|grow up|we get it|that'?s enough|whatever|good,? glad|daft|silly|stupid|"
    r"selfish|ridiculous|lazy|pathetic|excuse|come on|really\?|seriously|no offen[cs]e|i told you|you knew|you "
    r"always|you never|again\?|you should(?:'?ve| have)|why (?:didn'?t|did|would|do) you|what did you expect|at "
    r"least|could be worse|bright side|just (?:stop|get|relax|calm|be|think|try|do)|man up|toughen|cheer up|look "
    r"on)\b",
    re.I,
)
_SERVICE = re.compile(
    r"\b(?:gp|doctor|dr|nurse|health visitor|midwife|physio\w*|pharmacist|prescriber|psychiatrist|psychologist|"
    r"therapist|counsell?or|counsell?ing|care (?:coordinator|team)|key ?worker|social worker|case ?worker|support "
    r"worker|advocate|(?:the|your|a) (?:team|clinic|service|helpline|line|hotline)|clinic|a&e|urgent care|emergency|"
    r"111|999|911|988|samaritans|crisis (?:line|team|service)|helpline|hotline|food ?bank|council|housing (?:options|"
    r"team|office)|citizens advice|stepchange|debt advice|legal aid|lawyer|solicitor|complaints|pals|ombudsman|"
    r"benefits? advi\w+|job ?centre|leaflet|website|app|number|details|refer\w*|self-refer|sponsor|aa|na|smart "
    r"recovery|al-anon|meeting|support group|rheumatolog\w+|diabetes team|specialist|consultant|dentist|optician|"
    r"occupational health|hr|union|veterans? (?:line|service|charity)|op courage|shelter|refuge|women'?s aid)\b",
    re.I,
)


def _content(text: str) -> frozenset[str]:
    return frozenset(w for w in _words(text) if w not in _STOP and len(w) > 2)


def context_vector(reply: str, sentences: Sequence[str], context: Sequence, names: Sequence[str]) -> np.ndarray:
    """The reply read against the conversation: names it uses, members whose words it gathers, whether it
    answers a question, general statements ("Most people find...", "We meet on Thursdays")."""
    mentioned = [n for n in names if rules.mentions(n, reply)]
    members = [u for u in context if u.role == "member"]
    last = members[-1] if members else None
    other_than_last = [n for n in mentioned if not last or n.lower() != last.speaker.lower()]
    spoken = {u.speaker.lower() for u in context}
    new_name = False
    for sentence in sentences:
        for rx in (_VOCATIVE_START, _VOCATIVE_END):
            m = rx.search(sentence)
            if m and m.group(1).lower() not in _NOT_NAMES and m.group(1).lower() not in spoken:
                new_name = True
    reply_words = _content(reply)
    echoed_turns = 0
    echoed: set[str] = set()
    for u in members[-6:]:
        if len(reply_words & _content(u.text)) >= 2:
            echoed_turns += 1
            echoed.add(u.speaker.lower())
    statements = [s for s in sentences if not s.rstrip().endswith("?")]
    commas = sum(s.count(",") for s in statements)
    ands = sum(len(re.findall(r"\band\b", s, re.I)) for s in statements)
    generic = sum(rules.hit(_GENERIC, s) for s in statements)
    asked = bool(last and "?" in last.text)
    running = 0  # member turns since the facilitator last spoke
    for u in reversed(context):
        if u.role != "member":
            break
        running += 1
    recent = [u.speaker for u in context[-4:] if u.role == "member"]
    services = len(_SERVICE.findall(reply))
    brush_offs = len(_BRUSH_OFF.findall(reply))
    # What the room was doing (a monologue, a question asked) says little about a one-word reply ("Okay."):
    # those context-only features fade in with the reply's length, so they cannot make a move on their own.
    room = min(1.0, len(_words(reply)) / 6.0)
    first_is_statement = bool(sentences) and not sentences[0].rstrip().endswith("?")
    return np.array(
        [
            min(len(mentioned), 3) / 3,
            len(mentioned) >= 2,
            bool(other_than_last),
            new_name,
            min(echoed_turns, 4) / 4,
            min(len(echoed), 3) / 3,
            len(echoed) >= 2,
            min(commas, 6) / 6,
            min(ands, 4) / 4,
            rules.hit(_GATHERING, reply),
            rules.hit(_FLOOR, reply),
            any(rules.hit(_FLOOR, s) for s in sentences if s.endswith("?")),
            room * (len({u.speaker for u in members}) >= 2),
            room * asked,
            asked and first_is_statement,
            asked and bool(sentences) and len(statements) == len(sentences),
            min(generic, 3) / 3,
            generic > 0,
            room * (min(len(last.text), 600) / 600 if last else 0.0),
            room * bool(last and last.text.rstrip().endswith(("—", "-", "...", "…"))),
            room * min(running, 4) / 4,
            room * (len(set(recent)) >= 2 and len(recent) >= 3),
            rules.hit(_MOVING_ON, reply),
            brush_offs > 0,
            brush_offs >= 2,
            min(services, 3) / 3,
            services > 0,
        ],
        dtype=np.float32,
    )


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _echo(sentence: str, heard: frozenset[str]) -> bool:
    if not heard:
        return False
    content = _content(sentence)
    return bool(content) and len(content & heard) / len(content) >= 0.4


@lru_cache(maxsize=8192)
def _strip_rx(name: str) -> re.Pattern[str]:
    return re.compile(rf"\s*,?\s*\b{re.escape(name)}\b\s*,?", re.I)


def strip_names(sentence: str, names: Sequence[str]) -> str:
    """The sentence without the member names it addresses ("Lorna, what ..." -> "what ...")."""
    core = sentence
    for name in names:
        if rules.mentions(name, core):
            core = _strip_rx(name).sub(" ", core)
    core = re.sub(r"\s+([?.!])", r"\1", core).strip(" ,")
    return core


def _last_clause(sentence: str) -> str:
    """The clause a question ends with ("you were nodding, what was going on?" -> "what was going on?")."""
    parts = re.split(r"[,;:]\s+|\s+-\s+", sentence)
    return parts[-1].strip() if len(parts) > 1 else ""


def sentence_vector(sentence: str, names: Sequence[str], heard: frozenset[str] = frozenset()) -> np.ndarray:
    """Rule and shape features of one sentence (0/1 flags); `heard` holds the content words of what the
    member just said (a statement that echoes them is likely a reflection)."""
    s = sentence.strip()
    core = strip_names(s, names)
    clause = _last_clause(core) if s.endswith("?") else ""
    v = np.zeros(len(SENTENCE_FEATURES), dtype=np.float32)
    qmark = s.endswith("?")
    is_q = rules._is_question(s)
    flags = {
        "qmark": qmark,
        "is_question": is_q,
        "wh_start": rules.hit(_WH, core),
        "wh_fact": rules.hit(_WH_FACT, core),
        "aux_start": rules.hit(_AUX, core),
        "open_pat": rules.hit(rules.OPEN_START, core),
        "closed_pat": rules.hit(rules.CLOSED_START, core),
        "advice_q": rules.hit(rules.ADVICE_QUESTION, core),
        "safety_q": rules.hit(rules.SAFETY_QUESTION, s),
        "tell_more": rules.hit(_TELL_MORE, core),
        "reflection_pat": rules.hit(rules.REFLECTION, core),
        "complex_hint": rules.hit(rules.COMPLEX_HINT, core),
        "affirmation": rules.hit(rules.AFFIRMATION, s),
        "summary": rules.hit(rules.SUMMARY, s),
        "self_disclosure": rules.hit(rules.SELF_DISCLOSURE, s),
        "information": rules.hit(rules.INFORMATION, s),
        "advice": rules.hit(rules.ADVICE, core),
        "invite": rules.hit(rules.INVITE, s),
        "redirect": rules.hit(rules.REDIRECT, s),
        "ground_rules": rules.hit(rules.GROUND_RULES, s),
        "referral": rules.hit(rules.REFERRAL, s),
        "de_escalation": rules.hit(rules.DE_ESCALATION, s),
        "judgment": rules.hit(rules.JUDGMENT, s),
        "you_start": rules.hit(_YOU_START, core),
        "i_start": rules.hit(_I_START, core),
        "we_start": rules.hit(_WE_START, core),
        "imperative": rules.hit(_IMPERATIVE, core),
        "feeling": rules.hit(_FEELING, s),
        "double_sided": rules.hit(_DOUBLE_SIDED, s),
        "tentative": rules.hit(_TENTATIVE, s),
        "thanks": rules.hit(_THANKS, s),
        "permission": rules.hit(_PERMISSION, s),
        "hedged_advice": rules.hit(_HEDGED_ADVICE, s),
        "negative_tone": rules.hit(_NEGATIVE_TONE, s),
        "digit": rules.hit(_DIGIT, s),
        "filler": bool(_FILLER_ONLY.match(s)),
        "names": any(rules.mentions(n, s) for n in names),
        "statement": not is_q,
        "you_statement": (not is_q) and rules.hit(_YOU_START, core),
        "exclaim": s.endswith("!"),
        "clause_wh": bool(clause) and rules.hit(_WH, clause),
        "clause_aux": bool(clause) and rules.hit(_AUX, clause),
        "q_request": rules.hit(_REQUEST_Q, core),
        "validate": rules.hit(_VALIDATE, core),
        "moralise": rules.hit(_MORALISE, s),
        "explain": rules.hit(_EXPLAIN, s),
        "noticing": rules.hit(_NOTICING, core),
        "fragment": not is_q
        and len(core.split()) <= 7
        and not rules.hit(_VERBISH, core)
        and not rules.hit(_I_START, core),
        "echo": _echo(core, heard),
        "invite_tell": rules.hit(_INVITE_TELL, core),
        "q_tag": qmark and rules.hit(_TAG_Q, core),
        "how_doing": rules.hit(_HOW_DOING, core),
        "q_choice": qmark and bool(re.search(r"\bor\b", core, re.I)),
        "q_fragment": qmark and len(core.split()) <= 4 and not (rules.hit(_WH, core) or rules.hit(_AUX, core)),
        "q_declarative": qmark
        and (rules.hit(_YOU_START, core) or bool(re.match(r"(?:so|and)\b", core, re.I)))
        and not rules.hit(_AUX, core),
    }
    # Composite per-sentence decisions (the MITI reading of this one sentence), so pooling over sentences
    # cannot mix up "a question" and "a safety word" from two different sentences.
    if is_q:
        special = flags["advice_q"] or flags["hedged_advice"] or flags["safety_q"]
        openish = (
            flags["open_pat"]
            or flags["tell_more"]
            or flags["wh_start"]
            or flags["clause_wh"]
            or flags["invite_tell"]
            or flags["how_doing"]
        ) and not flags["wh_fact"]
        flags["qt_advice"] = flags["advice_q"] or flags["hedged_advice"]
        flags["qt_safety"] = flags["safety_q"]
        flags["qt_request"] = flags["q_request"] and not openish
        flags["qt_reflective"] = flags["q_declarative"] and not openish
        flags["qt_open"] = openish and not special
        group = rules.hit(_GROUP_Q, core)
        flags["qt_group"] = group
        flags["qt_closed"] = not openish and not special and not flags["q_request"] and not flags["q_declarative"]
    else:
        flags["st_reflection"] = flags["reflection_pat"] and not flags["advice"] and not flags["i_start"]
        flags["st_advice"] = flags["advice"] or flags["imperative"]
        flags["st_information"] = flags["information"]
    for name, value in flags.items():
        v[_SF[name]] = 1.0 if value else 0.0
    return v


@dataclass
class ReplyFeatures:
    """Everything the classifier needs about one reply, before embeddings are attached."""

    sentences: list[str]
    sentence_flags: np.ndarray  # (n_sentences, len(SENTENCE_FEATURES))
    reply_vector: np.ndarray  # (len(REPLY_FEATURES) + NGRAM_BUCKETS,)
    names: list[str] = field(default_factory=list)
    #: per sentence, the sum of its static token vectors; filled in by the detector's featurize
    static_sums: np.ndarray | None = None


def reply_features(reply: str, context: Sequence, names: Sequence[str], one_to_one: bool) -> ReplyFeatures:
    """Sentence flags and reply shape for a cleaned, capped reply. `context` holds Utterances."""
    sentences = T.split_sentences(reply)
    if not sentences and reply.strip():
        sentences = [reply.strip()]
    last = T.last_member_text(context)
    heard = _content(last)
    flags = (
        np.stack([sentence_vector(s, names, heard) for s in sentences])
        if sentences
        else np.zeros((0, len(SENTENCE_FEATURES)), dtype=np.float32)
    )
    words = _words(reply)
    n_words = max(1, len(words))
    content = {w for w in words if w not in _STOP and len(w) > 2}
    last_content = heard
    overlap = len(content & last_content) / max(1, len(content)) if content else 0.0
    letters = [c for c in reply if c.isalpha()]
    n_q = float(flags[:, _SF["is_question"]].sum()) if len(sentences) else 0.0
    rv = np.array(
        [
            np.log1p(len(reply)) / 8.0,
            min(len(sentences), 10) / 10.0,
            min(n_q, 5) / 5.0,
            n_q / max(1, len(sentences)),
            float(flags[0, _SF["is_question"]]) if len(sentences) else 0.0,
            float(flags[-1, _SF["is_question"]]) if len(sentences) else 0.0,
            1.0 if sentences and n_q == len(sentences) else 0.0,
            sum(c.islower() for c in letters) / max(1, len(letters)) if letters else 0.0,
            min(1.0, sum(w in ("you", "your", "you're", "you've", "u", "ur", "yourself") for w in words) / n_words * 5),
            min(1.0, sum(w in ("i", "me", "my", "i'm", "i've", "i'd", "myself") for w in words) / n_words * 5),
            overlap,
            1.0 if last else 0.0,
            min(len(context), 6) / 6.0,
            1.0 if one_to_one else 0.0,
            0.0 if sentences else 1.0,
        ],
        dtype=np.float32,
    )
    # The engine's rule detector's own decision, one flag per move (its if/elif order encodes conventions).
    fired = {m.label for m in _RULES.detect(reply, context, names)} if sentences else set()
    rv = np.concatenate(
        [
            rv,
            np.array([label in fired for label in rules._ORDER], dtype=np.float32),
            context_vector(reply, sentences, context, names),
            ngram_vector(reply, names),
        ]
    )
    return ReplyFeatures(sentences, flags, rv, list(names))


def ngram_vector(reply: str, names: Sequence[str] = ()) -> np.ndarray:
    """Binary hashed unigrams and bigrams, L2-normalised; member names become one token so a name seen in
    training does not stand for a move."""
    text = reply.lower()
    for name in names:
        if rules.mentions(name, text):
            text = rules.name_rx(name).sub(" nameword ", text)
    tokens = _NGRAM_TOKEN.findall(text)
    grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    v = np.zeros(NGRAM_BUCKETS, np.float32)
    for gram in set(grams):
        v[zlib.crc32(gram.encode("utf-8")) % NGRAM_BUCKETS] = 1.0
    norm = float(np.linalg.norm(v))
    return v * (NGRAM_WEIGHT / norm) if norm else v


def pool_flags(flags: np.ndarray) -> np.ndarray:
    """Does any sentence / any question / any statement carry each flag? A flag means different things in a
    question and in a statement (an open form asked vs "what I'd like to hear is..."), so both are kept."""
    width = len(SENTENCE_FEATURES)
    if len(flags) == 0:
        return np.zeros(3 * width, dtype=np.float32)
    is_q = flags[:, _SF["is_question"]] > 0
    q = flags[is_q].max(axis=0) if is_q.any() else np.zeros(width, np.float32)
    st = flags[~is_q].max(axis=0) if (~is_q).any() else np.zeros(width, np.float32)
    return np.concatenate([flags.max(axis=0), q, st]).astype(np.float32)
