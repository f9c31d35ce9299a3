"""Coaching for one reply: one specific sentence of feedback, a better alternative when the reply scores
low, and the guide passages behind both.

Feedback names what the reply did and its likely effect on the member ("You asked two closed questions in
a row; open ones invite fuller answers"). The finding is picked by priority: harm first (judgment, an
unanswered risk), then the moment's unmet need, then the strongest thing the reply did well. Alternatives
are templates keyed by the finding and filled with names from the context, so they are specific without a
language model.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from holdspace.engine.types import Move
from holdspace.scoring.situation import Moment

log = logging.getLogger(__name__)

TECHNIQUE_WORDS = re.compile(
    r"\b(?:open(?:[- ]ended)? questions?|closed questions?|reflections?|reflective listening|affirmations?|summary|"
    r"summaries|summari[sz]ing|validation|validating|active listening|empathy|self[- ]disclosure|redirect(?:ion)?|"
    r"ground rules|referral|de[- ]escalation|safety check|invite|invitation|paraphras\w*|mirroring|rapport|"
    r"motivational interviewing|oars|miti|technique|techniques|rubric)\b",
    re.IGNORECASE,
)
MANIPULATION = re.compile(
    r"\b(?:ignore (?:the|your|all|previous|prior|any) (?:rubric|instructions?|rules|scoring|criteria|above)|"
    r"(?:give|score|rate|mark) (?:me|this|it|my reply|this reply)\b.{0,20}\b(?:5|five|10|ten|full marks|top|perfect|"
    r"highest)|5\s*/\s*5|10\s*/\s*10|full marks|as an ai|system prompt|you are (?:now )?(?:a|"
    r"the) (?:judge|scorer|grader)|"
    r"(?:this|my) reply (?:is|deserves) (?:perfect|excellent|a 5))",
    re.IGNORECASE,
)
_EN_WORDS = frozenset(
    "the a an and or but so to of in on at for with is are was were be it that this you your i me my we he she they "
    "what how why do does did not have has had can could would will just really feel like about there here "
    # what short, informal replies are made of: "ok thanks Dmitri. anyone else", "r u home now?"
    "ok okay thanks thank yes yeah no well right sure sorry hi hello welcome anyone everyone someone else who "
    "next now than then when all one some more still even ever always never again back too very much good "
    "u ur r im thats dont its us our him her them his their let lets go going get got been being done".split()
)
#: Common function words of the languages a trainee is likeliest to type instead (Spanish, French, German,
#: Italian, Portuguese, Dutch, Polish), minus any that are also English words.
_OTHER_WORDS = (
    frozenset(
        (
            "que el los las y en un una es por con para se lo como más pero sus le ya este sí porque esta cuando muy "
            "sin sobre también hasta hay donde quien desde todo nos ella estar estas algo mi mis tú te ti tu qué "
            "ha he sido estado mucha mucho "
            "le la les des et est une pour pas qui dans ce il elle sur avec vous nous mais ou je tu ne sont être "
            "très aussi comme fait été avez êtes "
            "der die das und ist nicht ich du sie es ein eine mit auf für den dem sich auch wie bei oder wir ihr "
            "aber noch nur sehr hast haben bin bist "
            "il di che non per con sono ma anche come della questo hai ho sei molto "
            "não com uma os para mais como mas você muito tem foi "
            "het een en van ik je niet dat zijn op te met voor maar ook heb hebt "
            "nie się jest że na jak ale tak czy już jestem"
        ).split()
    )
    - _EN_WORDS
)


def looks_english(text: str) -> bool:
    """False for a reply written in another language or script.

    English unless there is evidence of another language: most letters outside the Latin alphabet, or
    more common words of another language than of English. Terse English ("Classic addict thinking,
    Jordan.") has few English function words but none of another language, so it stays English.
    """
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 12 and sum(
        "a" <= c.lower() <= "z" or c in "àâäáãçéèêëíìîïñóòôöõúùûüßąćęłńśźżœ" for c in letters
    ) < 0.5 * len(letters):
        return False
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < 4:
        return True
    english = sum(w in _EN_WORDS for w in words)
    other = sum(w in _OTHER_WORDS for w in words)
    return not (other >= 2 and other > english)


def technique_listing(text: str) -> bool:
    """True when the reply mostly names techniques instead of using them."""
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        return False
    named = sum(len(m.group(0).split()) for m in TECHNIQUE_WORDS.finditer(text))
    return named >= 2 and named / len(words) >= 0.4


def manipulation(text: str) -> bool:
    return bool(MANIPULATION.search(text))


@dataclass(frozen=True)
class Finding:
    key: str  # what the feedback is about; also keys the alternative and the citation query
    sentence: str
    positive: bool = False


def _quote(evidence: str, limit: int = 70) -> str:
    flat = " ".join(evidence.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip(" ,;:") + "…"
    return f"“{flat}”"


def _who(moment: Moment) -> str:
    if moment.speaker and moment.speaker.lower() not in ("client", "member", "patient", "participant", "user"):
        return moment.speaker
    return "the person"


def _ev(moves: Sequence[Move], label: str) -> str:
    return next((m.evidence for m in moves if m.label == label), "")


def find(
    moves: Sequence[Move], scores: dict[str, int | None], moment: Moment, n_closed: int, n_words: int, flags: set[str]
) -> Finding:
    """The one thing most worth telling the trainee about this reply."""
    labels = {m.label for m in moves}
    who = _who(moment)
    if "empty" in flags:
        return Finding("empty", "Empty reply: there is nothing to score, so say something to the group.")
    if "manipulation" in flags:
        return Finding(
            "manipulation",
            "The reply speaks to the scorer instead of the group, so it is scored only "
            "on what it offers members, which is nothing they can use.",
        )
    if "techniques" in flags:
        return Finding(
            "techniques",
            "The reply names techniques instead of using them; a member hears labels, "
            "not a reflection or a question they can answer.",
        )
    if "judgment" in labels:
        return Finding(
            "judgment",
            f"Saying {_quote(_ev(moves, 'judgment'))} judges {who}, which is likely to shut "
            "them down and makes the room feel less safe.",
        )
    if moment.has("risk") and not labels & {"safety_check", "referral"}:
        return Finding(
            "unmet_risk",
            f"{who} said something that may signal risk and the reply did not ask about "
            "safety directly; asking plainly is what keeps them safe.",
        )
    if moment.has("disclosure", "distress") and "advice" in labels and not labels & {"reflection", "affirmation"}:
        return Finding(
            "advice_after_disclosure",
            f"You moved to advice before acknowledging what {who} shared, so "
            "they may not feel heard; reflect the feeling first, then ask what would help.",
        )
    if n_closed >= 2 and "open_question" not in labels:
        return Finding(
            "many_closed",
            f"You asked {n_closed} closed questions in a row; open ones (what, how) invite fuller answers.",
        )
    if moment.has("monologue") and not labels & {"redirect", "invite"}:
        dom = moment.dominant or who
        return Finding(
            "unmet_monologue",
            f"{dom} has held the floor and the reply did not step in; a brief "
            "acknowledgement, a respectful pause and an invitation to others would rebalance the room.",
        )
    if moment.has("anger") and not labels & {"de_escalation", "ground_rules", "reflection"}:
        return Finding(
            "unmet_anger",
            "The room is heated and the reply did not slow it down; naming the feeling and "
            "proposing a pause would lower the temperature.",
        )
    if moment.has("disclosure", "distress") and not labels & {
        "reflection",
        "affirmation",
        "summary",
        "safety_check",
        "de_escalation",
    }:
        return Finding(
            "unmet_disclosure",
            f"{who} shared something painful and the reply did not acknowledge it; "
            "naming the feeling first helps them feel heard.",
        )
    if "advice" in labels:
        return Finding(
            "advice",
            f"Telling {who} what to do ({_quote(_ev(moves, 'advice'))}) puts you in the expert's "
            "seat; asking what they have tried or want keeps the choice with them.",
        )
    if "self_disclosure" in labels and n_words >= 60:
        return Finding(
            "long_self_disclosure",
            f"Your own story ran long and took the focus from {who}; keep it to a "
            "sentence or two and hand the focus back with a question.",
        )
    if moment.has("quiet") and not labels & {"invite", "open_question"}:
        return Finding(
            "unmet_quiet",
            "The group is quiet and the reply gave no easy way in; a light, open invitation makes it easier to start.",
        )
    # Strengths, best first.
    refl = next((m for m in moves if m.label == "reflection"), None)
    if "safety_check" in labels:
        return Finding(
            "safety_check",
            f"Asking directly about safety ({_quote(_ev(moves, 'safety_check'))}) is "
            "exactly right when there is any sign of risk.",
            True,
        )
    if "redirect" in labels and "invite" in labels:
        return Finding(
            "redirect_invite",
            "You paused the speaker respectfully and handed the floor on, which "
            "rebalances airtime without shaming anyone.",
            True,
        )
    if refl is not None and refl.depth == "complex":
        return Finding(
            "complex_reflection",
            f"Your reflection ({_quote(refl.evidence)}) names what lies beneath "
            f"{who}'s words, which helps them feel understood and go deeper.",
            True,
        )
    if "de_escalation" in labels:
        return Finding(
            "de_escalation",
            f"Slowing things down ({_quote(_ev(moves, 'de_escalation'))}) helps lower the "
            "tension so people can hear each other.",
            True,
        )
    if "ground_rules" in labels:
        return Finding(
            "ground_rules",
            f"Naming the group's agreement ({_quote(_ev(moves, 'ground_rules'))}) makes the space safer for everyone.",
            True,
        )
    if "invite" in labels:
        return Finding(
            "invite",
            f"Your invitation ({_quote(_ev(moves, 'invite'))}) gives quieter members an easy "
            "way into the conversation.",
            True,
        )
    if "open_question" in labels:
        return Finding(
            "open_question",
            f"Your open question ({_quote(_ev(moves, 'open_question'))}) invites {who} to say more in their own words.",
            True,
        )
    if refl is not None:
        return Finding(
            "simple_reflection",
            f"Your reflection ({_quote(refl.evidence)}) shows {who} you heard them; "
            "adding the feeling underneath would deepen it.",
            True,
        )
    if "referral" in labels:
        return Finding(
            "referral",
            f"Pointing to support beyond the group ({_quote(_ev(moves, 'referral'))}) is right "
            "when a need is bigger than peer support.",
            True,
        )
    if "affirmation" in labels:
        return Finding(
            "affirmation",
            f"Recognising {who}'s effort ({_quote(_ev(moves, 'affirmation'))}) builds trust and confidence.",
            True,
        )
    if "summary" in labels:
        return Finding(
            "summary", "Your summary pulls the threads together so the group can see where it has been.", True
        )
    if "closed_question" in labels:
        return Finding(
            "closed_question",
            f"Your closed question ({_quote(_ev(moves, 'closed_question'))}) gets a "
            "short answer; an open one would invite more.",
        )
    if "self_disclosure" in labels:
        return Finding(
            "self_disclosure",
            f"A short piece of your own experience can help; hand the focus straight back to {who} with a question.",
            True,
        )
    if "information" in labels:
        return Finding("information", f"You gave information; check what {who} already knows and how it lands.")
    return Finding(
        "other",
        f"The reply makes no clear facilitation move; a reflection or an open question would "
        f"give {who} something to respond to.",
    )


# ------------------------------------------------------------------------------------------- alternatives
_ALTERNATIVES: dict[str, str] = {
    "empty": "It sounds like a lot is going on for you{name_comma}. What feels most important to talk about?",
    "manipulation": "That sounds really hard{name_comma}. What's been the hardest part for you?",
    "techniques": "It sounds like that has been weighing on you{name_comma}. What's been the hardest part?",
    "judgment": "{Name_lead}it sounds like this has been really hard, and it took something to say it here. "
    "What's been going on for you?",
    "unmet_risk": "{Name_lead}thank you for telling us. I want to ask you directly, because it matters: are you "
    "thinking about ending your life, or about hurting yourself? I'd like us to make sure you have "
    "support tonight.",
    "advice_after_disclosure": "{Name_lead}that sounds really heavy to carry, and I'm glad you told us. What do you "
    "feel you need most right now?",
    "many_closed": "What's that been like for you{name_comma}?",
    "closed_question": "What's that been like for you{name_comma}?",
    "unmet_monologue": "{Dominant_lead}I'm going to pause you there, because you've raised something important and I "
    "want to make sure others get room too. {invitee}, what's coming up for you as you hear this?",
    "unmet_anger": "I can see this matters a lot to both of you. Let's take a breath for a moment. {Name_lead}can "
    "you say what you need right now, and then we'll hear from the other side?",
    "unmet_disclosure": "{Name_lead}thank you for trusting us with that. It sounds like it's been really hard to "
    "carry on your own. What's it been like for you?",
    "advice": "What have you already tried{name_comma}, and what do you think might help?",
    "long_self_disclosure": "I've been somewhere similar myself, so I have a sense of how hard that is. What's it "
    "been like for you{name_comma}?",
    "unmet_quiet": "There's no pressure to speak, and passing is fine. {invitee}, what's on your mind tonight?",
    "information": "What do you already know about this{name_comma}, and what would be most useful to talk about?",
    "other": "It sounds like a lot is going on for you{name_comma}. What's been the hardest part?",
}

# The query sent to retrieval for each finding, so the citation backs what the feedback says.
CITATION_QUERIES: dict[str, str] = {
    "empty": "responding to what a member shares, reflective listening",
    "manipulation": "responding to what a member shares, reflective listening",
    "techniques": "reflective listening and open questions in practice",
    "judgment": "responding without judgment, acknowledging feelings, emotional safety",
    "unmet_risk": "asking directly about suicide and immediate safety, following the crisis plan",
    "advice_after_disclosure": "responding to a disclosure with empathy before advice, not fixing",
    "many_closed": "open questions versus closed questions",
    "closed_question": "open questions versus closed questions",
    "unmet_monologue": "interrupting a dominating member respectfully, redirecting a monologue",
    "unmet_anger": "de-escalating conflict between members in an emotionally charged moment",
    "unmet_disclosure": "acknowledging a disclosure, reflecting feelings, emotional safety",
    "advice": "peer support is not giving advice, supporting members' own choices",
    "long_self_disclosure": "sharing lived experience briefly and handing the focus back",
    "unmet_quiet": "encouraging quiet members and a passive group to participate",
    "information": "giving information and resources in a peer support group",
    "other": "reflective listening and open questions",
    "safety_check": "asking about safety when there is risk, crisis plan",
    "redirect_invite": "redirecting a dominating member and inviting quieter members",
    "complex_reflection": "reflecting feelings and meaning, empathy",
    "simple_reflection": "reflecting feelings and meaning, empathy",
    "de_escalation": "calming a heated moment, de-escalation",
    "ground_rules": "ground rules and group agreements, confidentiality",
    "invite": "encouraging quiet members to participate",
    "open_question": "asking open questions that invite members to explore",
    "referral": "referral to professional help beyond the group's scope, resources",
    "affirmation": "affirming members' strengths and efforts",
    "summary": "summarising to keep focus",
    "self_disclosure": "appropriate self-disclosure as a peer facilitator",
}


def alternative(finding: Finding, moment: Moment) -> str:
    """A better reply for this moment, with names from the context."""
    template = _ALTERNATIVES.get(finding.key, _ALTERNATIVES["other"])
    name = (
        moment.speaker
        if moment.speaker and moment.speaker.lower() not in ("client", "member", "patient", "participant", "user")
        else None
    )
    dominant = moment.dominant or name
    invitee = next((q for q in moment.quiet_members if q != dominant), None)
    if invitee is None:
        invitee = next((m for m in moment.members if m not in (dominant, name)), None)
    text = template.format(
        name_comma=f", {name}" if name else "",
        Name_lead=f"{name}, " if name else "",
        Dominant_lead=f"{dominant}, " if dominant else "",
        invitee=invitee or "I'd love to hear from someone who hasn't spoken yet",
    )
    text = re.sub(r"(^|[.?!]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text.replace("hasn't spoken yet, what's", "hasn't spoken yet: what's")


# ---------------------------------------------------------------------------------------------- citations
class CitationCache:
    """Guide citations per (finding, situation) key: retrieval runs once per distinct key, not per reply."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, ...], list[dict[str, str]]] = {}
        #: search results per query text: group and one-to-one keys share a query, so they share a search
        self._found: dict[str, list] = {}
        self._lock = threading.Lock()
        self._retriever: object | None = None
        self._failed = False

    def _get_retriever(self) -> object | None:
        if self._failed:
            return None
        if self._retriever is None:
            try:
                from holdspace.retrieval import get_retriever

                self._retriever = get_retriever()
            except Exception as exc:  # retrieval is optional for scoring: no citations, said once
                log.warning("guide retrieval unavailable, feedback will carry no citations: %s", exc)
                self._failed = True
                return None
        return self._retriever

    @staticmethod
    def _key_and_query(finding: Finding, moment: Moment) -> tuple[tuple[str, ...], str]:
        situation = sorted(t for t in moment.tags if t in ("disclosure", "risk", "anger", "monologue", "quiet"))
        key = (finding.key, *situation[:2], "group" if not moment.one_to_one else "one")
        query = CITATION_QUERIES.get(finding.key, CITATION_QUERIES["other"])
        if situation:
            query += " " + " ".join(situation[:2])
        return key, query

    def warm(self, pairs: Sequence[tuple[Finding, Moment]]) -> None:
        """Embed, in one batch, the queries of the (finding, moment) pairs not searched yet, so that citing a
        file of replies costs one embedding pass instead of one per distinct situation."""
        with self._lock:
            queries = sorted({q for _, q in (self._key_and_query(f, m) for f, m in pairs) if q not in self._found})
        retriever = self._get_retriever() if queries else None
        embedder = getattr(retriever, "embedder", None)
        remember = getattr(embedder, "remember", None)
        if not callable(remember):
            return
        try:
            remember(queries, embedder.encode(queries))  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - warming is an optimisation; cite() still works without it
            log.info("could not pre-embed guide queries: %s", exc)

    def cite(self, finding: Finding, moment: Moment, sections: Sequence[str] = (), k: int = 2) -> list[dict[str, str]]:
        key, query = self._key_and_query(finding, moment)
        # The preferred guide sections are part of the key: without them the first reply of a situation
        # decided the citations of every later one, so a file's citations depended on its order.
        key = (*key, "|", *sorted(set(sections)))
        with self._lock:
            if key in self._cache:
                return [dict(c) for c in self._cache[key]]
        retriever = self._get_retriever()
        citations: list[dict[str, str]] = []
        if retriever is not None:
            try:
                with self._lock:
                    found = self._found.get(query)
                if found is None:
                    found = retriever.search(query, k=8)  # type: ignore[attr-defined]
                    with self._lock:
                        self._found[query] = found
                preferred = [p for p in found if p.source in set(sections)]
                rest = [p for p in found if p.source not in set(sections)]
                citations = [p.citation() for p in (preferred + rest)[:k]]
            except Exception as exc:
                log.warning("guide retrieval failed for %r: %s", query, exc)
        with self._lock:
            self._cache[key] = citations
        return [dict(c) for c in citations]
