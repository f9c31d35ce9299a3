"""Move detection: which facilitation moves a reply makes.

`MoveDetector` is the interface the engine and the scorer share. `RuleMoveDetector` reads the reply
sentence by sentence with patterns written from the move definitions (MITI-style conventions: "Can you
tell me more?" is open, "So you've been feeling stuck" is a reflection, "Have you thought about calling
your sponsor?" is advice). The scorer's trained detector uses these rules as features and replaces this
one where its measured quality is better.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

from holdspace.engine.types import Move, Utterance

_SENT = re.compile(r"[^.!?\n]+[.!?]*|[.!?]+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.findall(text) if s.strip(" .!?")]


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# --- questions -------------------------------------------------------------------------------------------
ADVICE_QUESTION = _rx(
    r"^(?:and |so |but |maybe |well )?(?:have|had) (?:you|u) (?:thought|considered|tried|looked into|thought about)",
    r"^(?:and |so )?why (?:don'?t|not) (?:you|u|we)\b",
    r"^(?:and |so )?what if (?:you|u)\b(?! (?:feel|felt|think))",
    r"^(?:would|could|will) (?:you|u) (?:consider|try|think about)",
    r"^how about (?:you|trying|calling|going|talking|reaching|writing|making)",
    r"^(?:do|did) (?:you|u) (?:want to try|think you should|ever try)",
    r"^(?:shouldn'?t|couldn'?t) (?:you|u)\b",
    r"^isn'?t it time",
)
SAFETY_QUESTION = _rx(
    r"\bare (?:you|u) (?:safe|feeling safe|okay to get home|somewhere safe)",
    r"\b(?:thoughts?|thinking|thought) (?:of|about) (?:hurting|harming|killing|ending|suicide|not being here|dying)",
    r"\b(?:suicid\w*|kill(?:ing)? (?:yourself|urself)|end(?:ing)? your life|hurt(?:ing)? yourself|harm(?:ing)? yourself)",
    r"\bplan(?:s|ning)? to (?:hurt|harm|end|kill)",
    r"\b(?:safe|safety) (?:tonight|right now|at home|when you leave|after group)",
    r"\bis (?:anyone|someone|somebody) (?:with you|there with you)",
    r"\bwill you be (?:safe|okay|alright) (?:tonight|when)",
)
OPEN_START = _rx(
    r"^(?:and |so |but |okay,? |ok,? |well,? |now,? |then,? |\w+, )?(?:what|how|why|in what way|which part|where do you think)(?:'?s|'?re)?\b(?! (?:many|much|long|old|often)\b)",
    r"\b(?:tell|tel) (?:me|us|the group) (?:more|about|what|how|a (?:bit|little))",
    r"\b(?:can|could|would|will) (?:you|u) (?:tell|say|share|talk|describe|help me understand|walk (?:me|us)|explain|expand|unpack|put (?:that|it) into words)(?: (?:me|us))?(?: (?:more|a (?:bit|little) more|about|what|how|some))?",
    r"^(?:please )?(?:say|share|talk|describe|explain) (?:more|a bit|a little|about|what|how)",
    r"\b(?:say|tell) more\b",
    r"^(?:go on|keep going|help (?:me|us) understand|walk (?:me|us) through|i'?m curious (?:about|what|how))",
    r"\bwhat (?:else|comes up|was that like|is that like|would|does|do|did|has|have|happens|happened|'?s)\b",
    r"^(?:i wonder|i'?m wondering) (?:what|how|if you could say)",
)
CLOSED_START = _rx(
    r"^(?:and |so |but |okay,? |ok,? |well,? |\w+, )?(?:do|does|did|are|is|was|were|have|has|had|can|could|will|would|should|shall|may|might|am|r|ru|u|don'?t|didn'?t|isn'?t|aren'?t|wasn'?t|won'?t|haven'?t|hasn'?t)\b",
    r"^(?:and |so )?(?:how (?:many|much|long|old|often)|when|where|who|which|whose)\b",
    r"\b(?:right|correct|yes or no|is that (?:right|true|so)|yeah)\?*$",
    r"^(?:any|anything|anyone|anybody)\b",
)

# --- statements ------------------------------------------------------------------------------------------
REFLECTION = _rx(
    r"^(?:so,? |and |okay,? |ok,? |yeah,? |mm,? |hmm,? )?(?:it |that )?(?:sounds|seems|looks) (?:like|as if|as though|that)\b",
    r"^(?:so,? |and |okay,? |yeah,? )?(?:you(?:'re| are| were|'ve| have| had|'d| feel| felt| want| wanted| don'?t| didn'?t| can'?t| couldn'?t| wish| miss| need| really| just| still| never| keep| worry| wonder| hate| love| care| think| thought| sound| seem| got| lost| went| came| used| tried| know| get| found| say| said| mean| hope| might| may| would| do| did)|ur |u r |you guys|both of you|each of you|some of you|all of you|many of you)\b",
    r"^(?:so,? |and )?(?:what i'?m hearing|i'?m hearing|i hear|what i hear|i can hear|i get the sense|i sense|i notice|i'?m noticing|i can see|i see)\b",
    r"^(?:so,? )?(?:part of you|on (?:the )?one hand|there'?s a part|a part of you|this is|that'?s|that was|it'?s been|it was|this has been)\b",
    r"^so,? (?:the|your|this|that|it|there|for you|when|after|since|losing|being|having|not)\b",
    r"^(?:\w+(?:, | |,))(?:you(?:'re| are|'ve| have| feel| felt| want| don'?t| didn'?t| can'?t| miss| still| really| just| never| keep))\b",
    r"^(?:no wonder|of course you|makes sense that you|it makes sense you)",
    r"^(?:oh,? |wow,? |mm,? )?(?:that|it|this) (?:sounds|must be|must have been|must feel|seems) (?:really |so |very |"
    r"incredibly |pretty )?(?:hard|tough|difficult|painful|awful|scary|frightening|exhausting|lonely|overwhelming|"
    r"heavy|rough|brutal|unbearable|confusing|upsetting|frustrating)\b",
)
COMPLEX_HINT = _rx(
    r"\b(?:hurt\w*|scar\w*|afraid|fear\w*|angry|anger|ashamed|shame|guilt\w*|lonely|alone|"
    r"exhaust\w*|tired|overwhelm\w*|frustrat\w*|sad\w*|grief|griev\w*|hopeless\w*|worr\w*|anxious|anxiety|"
    r"disappoint\w*|betray\w*|torn|invisible|unheard|dismiss\w*|proud|relie\w*|carry\w*|weigh\w*|burden\w*|"
    r"heavy|raw|vulnerable|trust\w*|matter\w*|important to you|means a lot|part of you|on (?:the )?one hand|"
    r"and yet|but also|even though|at the same time|underneath|wonder if|might be|maybe it'?s|a lot to)\b",
)
AFFIRMATION = _rx(
    r"\bthank (?:you|u) (?:for|so much for) (?:shar|trust|tell|say|being|open|bring|com|speak|tak|your|lett)",
    r"\b(?:thanks|thank you) for (?:shar|trust|tell|open|being|bring|your (?:honesty|courage|openness))",
    r"\b(?:took|takes|take|taking) (?:a lot of |real |so much |some )?(?:courage|guts|strength|bravery|honesty)",
    r"\b(?:brave|courageous|courage|resilien\w*|strength|strong|determination|commitment|honest of you)\b",
    r"\b(?:proud of|i (?:really )?(?:appreciate|admire|respect)|well done|good for you|nice work|great job|good job|"
    r"huge step|big step|real step|that'?s progress|you'?ve (?:come|worked|done) (?:a long way|so hard|really|hard))",
    r"\b(?:makes (?:total |a lot of |complete )?sense|it'?s (?:okay|ok|alright|normal|natural|understandable|human) "
    r"(?:to|that)|(?:your|those|these) feelings (?:are|make)|you'?re not alone|valid)\b",
    r"\b(?:glad|grateful|so glad) (?:you|u)(?:'re| are)? (?:here|came|shared|told|said|spoke|back)",
    r"\byou (?:showed up|came back|kept going|reached out|chose to|were able to|managed to)\b",
    r"\bthat (?:is|was|'s) (?:a )?(?:really )?(?:important|powerful|meaningful|big|huge)\b",
    r"\b(?:that|it) (?:says|said|shows|showed) (?:a lot|so much|something)\b",
)
SUMMARY = _rx(
    r"\b(?:so far|to sum (?:up|it up)|summing up|in summary|let me (?:sum|recap|pull|gather|try to sum)|to recap|"
    r"recapping|pull (?:this|these|a few things|it) together|bring (?:it|this) together)\b",
    r"\b(?:we'?ve heard|i'?ve heard (?:a few|several|some|from)|what i'?ve heard (?:tonight|today|so far)|"
    r"a few (?:of you|things|themes)|(?:several|many|a few|some) of you (?:have )?(?:mentioned|said|talked|shared|described)|"
    r"(?:common|shared) (?:thread|theme)|(?:there'?s|i'?m hearing) a (?:theme|thread|pattern))\b",
    r"\b(?:on one hand .* and on the other|first .* and then .* and)\b",
)
SELF_DISCLOSURE = _rx(
    r"\bwhen i (?:was|first|started|got|lost|relapsed|used|came|went|had|quit|stopped|joined|left|hit|tried|found|"
    r"began|returned|felt|struggled|lived|moved|look back)\b",
    r"\b(?:in my (?:own )?(?:recovery|experience|life|journey|case|family|first)|my own (?:recovery|experience|story|"
    r"journey|loss|grief|relapse|struggle|depression|anxiety|diagnosis)|i'?ve been there|i have been there|been there myself)\b",
    r"\bi (?:relapsed|used again|struggled|went through|lost my|remember (?:when|feeling|being|how|my|sitting)|"
    r"know (?:that|this) feeling (?:myself|too|well)|also (?:lost|struggled|live|have|had)|live with|was diagnosed|"
    r"used to (?:think|feel|believe|sit|be)|spent (?:years|months)|had (?:my own|a similar|the same))\b",
    r"\b(?:for me,? (?:it|the|what|when)|speaking for myself|personally,? (?:i|when|for))\b",
    r"\bme too\b",
)
INFORMATION = _rx(
    r"\b(?:the|this|our) (?:group|meeting|session) (?:meets|is|will|runs|lasts|ends|starts|has)\b",
    r"\b(?:research|studies|evidence) (?:shows?|suggests?)\b",
    r"\b(?:it'?s|it is) (?:very |really |pretty |quite )?(?:common|normal|typical) (?:for|to|in)\b",
    r"\b(?:many|lots of|most|a lot of|some) people (?:find|experience|feel|go through|have|relapse|struggle)\b",
    r"\b(?:relapse|grief|withdrawal|recovery|anxiety|depression) (?:is|can be|often|tends|isn'?t)\b",
    r"\b(?:is|are) (?:a|an) (?:free|confidential|24|local)?\s*(?:program|service|line|resource|group|number|option|place)\b",
    r"\b(?:we have|there is|there are|there'?s) (?:a|an|some|free|several|two|three|people|services|places)\b",
    r"\b(?:next|following) (?:week|session|meeting|time)\b",
    r"\b(?:the way (?:this|it) works|we'?ll (?:start|go|take|end|break|have|finish)|we (?:start|end|usually)|"
    r"tonight we|today we|the plan (?:is|for)|(?:handout|worksheet|pamphlet|brochure|list))\b",
    r"\b(?:available|open) (?:24|around the clock|every|on|at|after|weekdays)\b",
)
ADVICE = _rx(
    r"\b(?:you|u|ya) (?:should|shouldn'?t|need to|needs to|have to|must|gotta|ought to|'d better|had better)\b",
    r"\b(?:i'?d|i would|i) (?:suggest|recommend|advise|encourage you to|urge)\b",
    r"\b(?:you|u) (?:could|might|may) (?:try|want to|wanna|consider|think about|start|call|talk|reach|write|go|use|"
    r"look|make|set|ask|join|get)\b",
    r"^(?:just |maybe |perhaps |so |then |next time,? )?(?:try|stop|start|go|call|write|get|make sure|don'?t|avoid|"
    r"focus on|remember to|think about|consider|take|talk to|reach out|put|keep|find|let go|give|tell (?:him|her|them))\b",
    r"\b(?:one thing (?:that )?(?:helps|works|you could)|it (?:might|would|could) help (?:to|if you)|"
    r"what (?:you|u) (?:need|should|have to) (?:to )?do|the best thing (?:to do|is)|my advice|if i were you)\b",
    r"\bmake sure (?:you|u|to)\b",
)
INVITE = _rx(
    r"\b(?:anyone|anybody|someone|somebody|others|everyone|everybody|the rest of (?:you|the group)|"
    r"the group|y'?all|folks|you all|each of you)\b.*\?",
    r"\b(?:who else|anyone else|anybody else|what about (?:others|the rest|everyone|you,|\w+\?))\b",
    r"\b(?:hear from|haven'?t heard from|hear what|hear your|hear how|hear a bit from|love to hear|like to hear|"
    r"want to hear|give (?:\w+ )?(?:a chance|space|room)|(?:make|making|leave|leaving) (?:some )?(?:space|room) for|"
    r"let'?s go around|go around the (?:room|circle)|round the circle|check[- ]in round|pass if)\b",
    r"\b(?:you'?ve been|you have been|you'?re|you are|you seem|you look) (?:quiet|quite quiet|pretty quiet|thoughtful|"
    r"listening)\b",
    r"\b(?:would|does|do|can|could) (?:anyone|anybody|someone|others|everyone|you all)\b",
    r"\b(?:respond to|add to|build on|react to|relate to|connect with) (?:what|that|\w+'?s)\b",
)
REDIRECT = _rx(
    r"\blet me (?:pause|stop|jump in|interrupt|cut in|step in|hold|bring|gently)\b",
    r"\b(?:let'?s|let us|we (?:should|need to|can)|i'?d like to|i want to|can we|could we) (?:get|come|go|bring (?:it|us|this)|"
    r"move|turn|return|steer|shift|circle|swing) (?:back|on|to|onto|our)\b",
    r"\b(?:back to (?:the|our|what|topic|where)|(?:hold|park|pause) (?:that|this|on|there|it)|hold that thought|"
    r"pause (?:you|us|here)|i'?m going to (?:pause|stop|jump|interrupt|step)|i'?ll (?:pause|stop|jump|step) (?:you|in|us))\b",
    r"\b(?:get(?:ting)? (?:back )?on track|off (?:topic|track)|drift(?:ing|ed)? (?:off|away)|(?:for|in) the (?:sake|interest) of time|"
    r"we'?re (?:running|short on|tight on) time|(?:move|moving) (?:on|forward|along)|let'?s (?:move|keep moving|shift|focus))\b",
    r"\b(?:make sure (?:everyone|we all|others|other people)|(?:space|room|time) for (?:others|everyone|other voices|"
    r"someone else)|other people (?:get|have) (?:a )?(?:chance|turn|time))\b",
    r"\b(?:i'?m going to|i need to|let me) (?:stop|pause|interrupt) (?:you|us|there|here)\b",
    r"\b(?:that'?s (?:a|an) (?:topic|conversation|discussion) for|maybe (?:we|you) (?:can|could) (?:talk|pick (?:that|this) up) "
    r"(?:after|later|another))\b",
)
GROUND_RULES = _rx(
    r"\b(?:ground ?rules?|group (?:rules?|agreements?|norms|guidelines)|our (?:agreements?|rules?|norms|guidelines)|"
    r"(?:we|we all|everyone) (?:agreed|committed|signed up)|what we agreed|agreed (?:on|to|at))\b",
    r"\b(?:stays? (?:in|here|within|between)|stays in (?:the|this) room|leaves? (?:the|this) room|said here|shared here|"
    r"what'?s (?:said|shared) (?:here|in))\b",
    r"\b(?:confidential\w*|privacy|private)\b",
    r"\b(?:one (?:person )?at a time|one voice|take turns|no (?:cross[- ]?talk|interrupting|side conversations)|"
    r"not interrupt|speak (?:for|from) (?:yourself|your own)|i statements|respect(?:ful)? (?:each|one|to|of)|"
    r"(?:name|names) calling|no (?:judg\w*|fixing|advice[- ]giving))\b",
    r"\b(?:limits? (?:to|of) (?:confidentiality|what|privacy)|(?:only|one) (?:exception|time i would)|duty to|"
    r"have to (?:tell|report|share)|required to (?:report|share|tell))\b",
)
REFERRAL = _rx(
    r"\b(?:crisis (?:line|team|number|text|service|center|centre|support)|988|helpline|hotline|lifeline|samaritans|"
    r"emergency (?:services|room|department|number)|911|999|112|a&e|urgent care|mobile crisis|warm ?line)\b",
    r"\b(?:counsel+or|therapist|clinician|clinical (?:team|staff|lead|supervisor)|psychiatrist|psychologist|doctor|"
    r"\bgp\b|nurse|case ?manager|social worker|prescriber|treatment (?:team|provider|center|program)|detox|"
    r"outpatient|inpatient|on-?call|professional (?:help|support)|specialist)\b",
    r"\b(?:refer\w*|connect (?:you|u) (?:with|to)|put (?:you|u) in touch|get (?:you|u) (?:connected|linked|in touch|some "
    r"support|support)|resource list|resources? (?:for|that|after|i can|we have)|after group i|after the meeting i)\b",
    r"\b(?:sponsor|aa|na|smart recovery|al-?anon)\b.*\b(?:call|contact|reach|connect|talk|number|meeting)\b",
    r"\b(?:support|crisis|help|warm|text|chat) ?(?:line|service)s?\b",
    r"\b(?:people|someone|somebody|services?) (?:you can|u can|to) (?:call|text|reach|talk to|contact)\b",
)
DE_ESCALATION = _rx(
    r"\b(?:take a (?:breath|breather|pause|moment|beat|break|minute|second|step back)|deep breath|breathe|"
    r"slow (?:down|this down|things down|it down)|let'?s (?:pause|slow|breathe|take|all take|cool)|"
    r"(?:short|quick|five[- ]minute|5[- ]minute|brief) (?:break|pause)|step back)\b",
    r"\b(?:calm\w*|cool (?:down|off|things)|heated|tempers?|lower (?:the|our) voices|voices? (?:down|are rising)|"
    r"temperature|tense|tension|(?:getting|got) (?:loud|intense|heated))\b",
    r"\b(?:i can see (?:this|you|how|that|both)|i can tell (?:this|you)|(?:both|each) of you (?:care|feel|are|have|want)|"
    r"you (?:both|two) (?:care|feel|are|have|want)|this (?:clearly )?matters (?:to|a lot to) (?:both|each|you both)|"
    r"strong feelings|emotions are (?:high|running))\b",
    r"\b(?:you'?re|you are|you sound|you seem|sounds like you'?re|i hear (?:that )?you'?re) "
    r"(?:really |very |so )?(?:angry|furious|frustrated|upset|mad|fed up)\b",
    r"\b(?:nobody|no one) (?:is|needs to be) (?:in trouble|attacked|wrong)|not (?:here )?to (?:decide|judge) who'?s right\b",
)
JUDGMENT = _rx(
    r"\b(?:that'?s|that is|this is|it'?s|you'?re being|you are being) (?:just )?(?:ridiculous|stupid|dumb|silly|"
    r"nonsense|pathetic|childish|dramatic|selfish|lazy|irresponsible|not a real|no big deal|not a big deal|"
    r"an excuse|excuses|crazy|insane|absurd|weak|unacceptable behaviou?r)\b",
    r"\b(?:get over it|grow up|toughen up|man up|suck it up|stop (?:whining|complaining|feeling sorry|being (?:so )?"
    r"(?:dramatic|negative|difficult|selfish))|quit (?:whining|complaining)|calm down,? (?:\w+,? )?(?:seriously|geez|jeez))\b",
    r"\b(?:you knew better|(?:your|his|her|their) own fault|you (?:brought|did) (?:this|it) (?:on|to) yourself|"
    r"should have known better|what were you thinking|you only have yourself|you chose (?:this|to use)|"
    r"you(?:'re| are) (?:in denial|overreacting|making excuses|the problem|wrong|out of line|being unreasonable|"
    r"not trying|not serious)|clearly (?:you|u) (?:didn'?t|don'?t|aren'?t|weren'?t))\b",
    r"\b(?:addicts?|junkies?|alcoholics?|crackheads?|druggies?|psycho|nuts)\b",
    r"\b(?:i (?:totally |completely )?agree with (?!what)\w+|(?:he|she|they|\w+) (?:is|'s) (?:right|correct)(?=[,.;!]| about| here| on)|"
    r"\w+ (?:has|had) a point|side with|you(?:'re| are) (?:right|correct),? \w+)",
    r"\b(?:everyone (?:relapses|goes through|has)|it'?s not (?:that|a) (?:big|bad|serious)|could be worse|"
    r"at least (?:you|it)|cheer up|look on the bright side|should (?:have )?(?:be|been) over|(?:by now|already) (?:you|u) should)\b",
    r"(?:^|[.!?,]\s*|\b(?:ok|okay|fine)\s+)whatever[.!]*\s*$|\b(?:seriously\?|oh please|come on,|give me a break|yeah right|"
    r"sure you (?:are|did|do))",
)

_NAME_ADDRESS = re.compile(r"^\s*([A-Z][a-z]+)\s*[,\-—:]")


class MoveDetector(Protocol):
    """Labels a facilitator reply with moves. `context` is the conversation before it (may be empty);
    `members` are the names of the group's members (for addressing and inviting)."""

    def detect(
        self, reply: str, context: Sequence[Utterance] = (), members: Sequence[str] = ()
    ) -> list[Move]: ...


@lru_cache(maxsize=1 << 16)
def hit(pattern: re.Pattern[str], text: str) -> bool:
    """Does `pattern` occur in `text`? Memoised because the scorer's features and this detector ask the
    same questions of the same sentences (a whole file of replies scans each sentence with both)."""
    return pattern.search(text) is not None


@lru_cache(maxsize=1 << 14)
def _is_question(sentence: str) -> bool:
    s = sentence.strip()
    if s.endswith("?"):
        return True
    # Typo-ridden or unpunctuated questions ("how r u feeling") still start like questions.
    if s.endswith((".", "!")):
        return False
    return bool(re.match(r"^(?:how|what|why|when|where|who|which|do|did|are|is|can|could|would|will|have|has|r u)\b",
                         s, re.IGNORECASE)) and len(s.split()) >= 3 and not hit(REFLECTION, s)


@lru_cache(maxsize=8192)
def name_rx(name: str, ignore_case: bool = True) -> re.Pattern[str]:
    """`name` as a whole word, in any case unless `ignore_case` is off ("Will" the member, not "will" the
    verb). Cached here: a scored file mentions hundreds of names, more than the `re` module's own cache holds,
    and recompiling them was a tenth of the time spent scoring."""
    return re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE if ignore_case else 0)


def mentions(name: str, text: str, ignore_case: bool = True) -> bool:
    """Is `name` in `text` as a whole word? A substring test first spares compiling a pattern for each of the
    hundreds of names a scored file brings (most are not in the sentence asked about)."""
    if not name or (name.casefold() not in text.casefold() if ignore_case else name not in text):
        return False
    return name_rx(name, ignore_case).search(text) is not None


@lru_cache(maxsize=8192)
def _vocative_rx(name: str) -> re.Pattern[str]:
    n = re.escape(name)
    return re.compile(
        rf"(?:^|[.!?]\s+|\n)\s*(?:(?:and|so|okay|ok|hey|hi|thanks|thank you|now|well)[, ]+)?{n}\s*[,\-—:!?]"
        rf"|,\s*{n}\s*(?:[.!?,]|$)"
        rf"|\b(?:you|thank you|thanks),?\s+{n}\b",
        re.IGNORECASE,
    )


def named_members(reply: str, members: Sequence[str]) -> list[str]:
    return [name for name in members if mentions(name, reply)]


def addressed_members(reply: str, members: Sequence[str]) -> list[str]:
    """Members spoken *to* (vocative: "Sam, ...", "..., Sam?", "Sam -"), not merely spoken about
    ("what do others want Sam to know?" addresses the others)."""
    return [name for name in members if mentions(name, reply) and _vocative_rx(name).search(reply)]


class RuleMoveDetector:
    """Pattern rules per sentence; deterministic and fast (the first version behind MoveDetector)."""

    name = "rules"

    def detect(
        self, reply: str, context: Sequence[Utterance] = (), members: Sequence[str] = ()
    ) -> list[Move]:
        found: dict[str, Move] = {}

        def add(label: str, evidence: str, confidence: float = 0.8, depth: str | None = None) -> None:
            if label not in found or found[label].confidence < confidence:
                found[label] = Move(label, confidence, evidence.strip()[:200], depth)

        text = reply.strip()
        if not text:
            return []
        names = named_members(text, members)
        for sentence in sentences(text):
            stripped = sentence.strip()
            core = _NAME_ADDRESS.sub("", stripped).strip() if names else stripped
            if _is_question(stripped):
                if hit(SAFETY_QUESTION, stripped):
                    add("safety_check", stripped, 0.9)
                elif hit(ADVICE_QUESTION, core):
                    add("advice", stripped, 0.85)
                elif hit(OPEN_START, core):
                    add("open_question", stripped, 0.85)
                elif hit(CLOSED_START, core):
                    add("closed_question", stripped, 0.8)
                else:
                    add("open_question", stripped, 0.55)
            else:
                if hit(OPEN_START, core) and re.search(r"\b(?:tell|say|share|describe|talk|walk|go on|curious)\b",
                                                        core, re.IGNORECASE):
                    add("open_question", stripped, 0.75)
                elif hit(REFLECTION, core) and not hit(ADVICE, core):
                    depth = "complex" if hit(COMPLEX_HINT, core) else "simple"
                    add("reflection", stripped, 0.75, depth)
                if hit(ADVICE, core) and not hit(REFERRAL, core) or (
                    hit(ADVICE, core) and re.search(r"\b(?:should|need to|have to|must)\b", core, re.IGNORECASE)
                ):
                    add("advice", stripped, 0.75)
            if hit(SAFETY_QUESTION, stripped) and "safety_check" not in found and _is_question(stripped):
                add("safety_check", stripped, 0.85)
            for label, pattern in (
                ("affirmation", AFFIRMATION),
                ("summary", SUMMARY),
                ("self_disclosure", SELF_DISCLOSURE),
                ("information", INFORMATION),
                ("invite", INVITE),
                ("redirect", REDIRECT),
                ("ground_rules", GROUND_RULES),
                ("referral", REFERRAL),
                ("de_escalation", DE_ESCALATION),
                ("judgment", JUDGMENT),
            ):
                if hit(pattern, stripped):
                    add(label, stripped, 0.7)
        if names and any(lbl in found for lbl in ("open_question", "closed_question")):
            # A question aimed at a member by name draws them in.
            quiet_hint = any(n.lower() in s.lower() for n in names for s in sentences(text) if "?" in s)
            if quiet_hint:
                add("invite", next(s for s in sentences(text) if any(n.lower() in s.lower() for n in names)), 0.65)
        if not found:
            add("other", text, 0.5)
        order = {label: i for i, label in enumerate(_ORDER)}
        return sorted(found.values(), key=lambda m: order.get(m.label, 99))


_ORDER = (
    "open_question", "closed_question", "reflection", "affirmation", "summary", "self_disclosure", "information",
    "advice", "invite", "redirect", "ground_rules", "safety_check", "referral", "de_escalation", "judgment", "other",
)
