"""The persona prompt, shaped for a 135M-parameter model.

SmolLM2-135M cannot be told to "stay in character"; it can continue a transcript. So the prompt is a short
persona card, a few of the persona's own authored lines for this intent (the voice to imitate), the recent
transcript with speaker names, and a bracketed beat saying what this one line must do. The assistant turn
starts with a few prefilled words in the member's voice ("I", "Honestly, I", "{target}, you"), stop
sequences end the line at a newline or at anyone's `Name:`, a GBNF grammar allows 1-3 plain sentences and
forbids labels and markup, and the token budget is short. A capable model (`capable=True`) gets the same
beat with fewer constraints and may phrase a key beat in its own words.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from holdspace.engine.rendering import fill_target
from holdspace.engine.types import LineRequest, Utterance
from holdspace.models.base import ChatMessage, ChatPrompt, GenerationOptions

MAX_TOKENS = 50
MAX_SENTENCES = 3
#: utterances of transcript in the prompt, each clipped: on one CPU thread llama.cpp reads ~120 prompt
#: tokens/s with this wheel, so every uncached token costs ~8 ms before the first word appears
RECENT_TURNS = 2
CLIP_WORDS = 18
EXAMPLES = 3
EXAMPLE_WORDS = 30
CUE_EXAMPLE_WORDS = 20

#: what each intent asks of the line, as the bracketed beat; {name}, {target}, {they}/{their} are filled in
BEATS: dict[str, str] = {
    "answer": "{name} answers the facilitator in one or two short sentences, about {their} own life",
    "interrupt": "{name} cuts in and talks about {their} own problem",
    "deflect": "{name} dodges the question with a short, guarded reply",
    "disclose": "{name} quietly admits something personal and hard",
    "escalate": "{name} gets angry at {target} and says so",
    "calm_down": "{name} cools off and says sorry, a bit awkwardly",
    "support": "{name} says something kind to {target}, peer to peer",
    "leave": "{name} says {they} need to step out for a bit",
}

#: first words per intent, in the member's voice; one is chosen per line by the seed
PREFILLS: dict[str, tuple[str, ...]] = {
    "answer": ("I", "Honestly, I", "Yeah, I", "For me, it's", "Well, I", "I guess I"),
    "interrupt": ("Sorry, but I", "Can I just say, I", "Hang on, I", "Wait, I"),
    "deflect": ("I don't know,", "I'd rather not", "Not much to say,", "I'm fine,"),
    "disclose": ("I haven't told anyone this, but", "Okay, the truth is", "I need to say something. I"),
    "escalate": ("{target}, you", "Seriously, {target}?", "No, {target},"),
    "calm_down": ("Okay, sorry. I", "Sorry, I", "Fine. I"),
    "support": ("{target}, I", "{target}, you're not", "Hey {target}, I"),
    "leave": ("I need to", "I'm going to step out,", "Sorry, I have to"),
}

#: capable models get the beat and the card but no prefill, grammar or tight budget
CAPABLE_MAX_TOKENS = 90


@dataclass(frozen=True)
class PersonaPrompt:
    prompt: ChatPrompt
    beat: str
    prefill: str


def pronouns(persona_pronouns: str) -> tuple[str, str]:
    """(subject, possessive) from a pronouns field like "she/her"."""
    first = persona_pronouns.split("/")[0].strip().lower()
    return {"she": ("she", "her"), "he": ("he", "his")}.get(first, ("they", "their"))


def beat_text(request: LineRequest) -> str:
    they, their = pronouns(request.persona.pronouns)
    template = BEATS.get(request.intent, BEATS["answer"])
    return template.format(name=request.speaker, target=request.target or "the group", they=they, their=their)


def choose_prefill(request: LineRequest, attempt: int = 0) -> str:
    options = PREFILLS.get(request.intent, PREFILLS["answer"])
    if "{target}" in " ".join(options) and not request.target:
        options = tuple(o for o in options if "{target}" not in o) or ("I",)
    rng = random.Random(f"{request.seed}:{request.speaker}:{request.intent}:{len(request.said_before)}:{attempt}")
    return fill_target(rng.choice(options), request.target, "everyone")


def short_background(text: str, limit: int = 200) -> str:
    """The first sentences of the background, up to `limit` characters: small models drown in detail."""
    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if out and len(out) + len(sentence) > limit:
            break
        out = f"{out} {sentence}".strip()
    return out[:limit]


def examples(request: LineRequest, k: int = EXAMPLES, intent: str | None = None) -> list[str]:
    """A few of the shorter authored lines for an intent (default: the request's), not ones already said.

    The choice depends only on the persona and intent (not the turn's seed) so the prompt's first few
    hundred tokens stay identical between turns and llama.cpp serves them from its prompt cache; shorter
    examples also keep the model's lines short.
    """
    intent = intent or request.intent
    lines = request.persona.lines.get(intent) or request.persona.lines["answer"]
    options = [fill_target(line, request.target) for line in lines]
    said = set(request.said_before)
    fresh = [line for line in options if line not in said] or options
    shortest = sorted(fresh, key=lambda line: (len(line.split()), line))[: k + 2]
    rng = random.Random(f"{request.persona.id}:{intent}:examples")
    return [clip_sentences(line, EXAMPLE_WORDS) for line in rng.sample(shortest, min(k, len(shortest)))]


def shots(request: LineRequest) -> list[ChatMessage]:
    """Few-shot turns: the `answer` beat, then one of the persona's authored answers, three times.

    They depend only on the persona, never on the intent or the turn, so a member's whole prefix (card and
    shots, ~300-450 tokens) is read once and then served from llama.cpp's prompt cache, and can be
    prefetched before the director has picked an intent. The intent's own example goes in the cue.
    """
    name, (they, their) = request.speaker, pronouns(request.persona.pronouns)
    cue = "[" + BEATS["answer"].format(name=name, target="the group", they=they, their=their) + ".]"
    out: list[ChatMessage] = []
    for line in examples(request, EXAMPLES, "answer"):
        out += [ChatMessage("user", cue), ChatMessage("assistant", fill_target(line, None))]
    return out


def cue_text(request: LineRequest) -> str:
    """The bracketed beat; for intents other than `answer`, with one authored example of it."""
    beat = beat_text(request)
    if request.intent != "answer" and request.intent in request.persona.lines:
        example = clip_sentences(examples(request, 1)[0], CUE_EXAMPLE_WORDS)
        return f'[{beat}, like: "{example}"]'
    return f"[{beat}.]"


def clip(text: str, limit: int = CLIP_WORDS) -> str:
    parts = text.split()
    return text.strip() if len(parts) <= limit else " ".join(parts[:limit]) + " ..."


def clip_sentences(text: str, limit: int) -> str:
    """Whole sentences up to `limit` words (a clipped example teaches the model to trail off)."""
    out: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if out and sum(len(s.split()) for s in out) + len(sentence.split()) > limit:
            break
        out.append(sentence)
    return clip(" ".join(out), limit)


def _speaker_line(utterance: Utterance) -> str:
    who = "Facilitator" if utterance.role == "facilitator" else utterance.speaker
    limit = CLIP_WORDS * 2 if utterance.role == "facilitator" else CLIP_WORDS
    return f"{who}: {clip(utterance.text, limit)}"


def transcript(request: LineRequest, turns: int = RECENT_TURNS) -> list[str]:
    """The `turns - 1` utterances before the facilitator's reply, the reply, and the lines members have
    already said this round. Anchored at the reply (not a sliding window) so every speaker in a round
    shares the prefix that `prefetch_prompt` warmed before the reply arrived."""
    spoken = [u for u in request.recent if u.role != "system"]
    reply = request.facilitator_reply.strip()
    at = next(
        (
            i
            for i in range(len(spoken) - 1, -1, -1)
            if spoken[i].role == "facilitator" and spoken[i].text.strip() == reply
        ),
        None,
    )
    if at is None:
        if reply:
            spoken.append(Utterance("facilitator", "facilitator", reply))
        at = len(spoken) - 1
    window = spoken[max(0, at - (turns - 1)) :] if spoken else []
    return [_speaker_line(u) for u in window]


def sentence_grammar(max_sentences: int = 3) -> str:
    """GBNF: 1..max_sentences plain sentences on one line; no labels (`:`), markup or line breaks."""
    extra = max(0, max(1, max_sentences) - 1)
    return (
        f'root ::= sentence (" " sentence){{0,{extra}}}\n'
        "sentence ::= char char+ end\n"
        'char ::= [^\\n.!?:*#<>\\[\\]{}|_~"]\n'
        'end ::= "." | "!" | "?" | "..."\n'
    )


def stop_sequences(request: LineRequest) -> tuple[str, ...]:
    names = ["Facilitator:", *(f"{other}:" for other in request.others), f"{request.speaker}:"]
    return ("\n", *names)


def build_persona_prompt(
    request: LineRequest, *, attempt: int = 0, capable: bool = False, max_tokens: int = MAX_TOKENS
) -> PersonaPrompt:
    """The transcript-shaped prompt for one line (a different `attempt` changes the prefill and seed)."""
    they, _ = pronouns(request.persona.pronouns)
    name = request.speaker
    beat = beat_text(request)
    card = persona_card(request)
    cue = cue_text(request)
    few_shot = shots(request)
    history = "\n".join(transcript(request)) or "(the group has just started)"
    user = f"{history}\n\n{cue}"
    seed = None if request.seed is None else (request.seed * 7919 + attempt * 104729 + len(request.said_before))
    if capable:
        if request.beat_lines:
            user += (
                f"\n{name} must get this across, in {their_word(they)} own words: "
                f'"{fill_target(request.beat_lines[0], request.target)}"'
            )
        options = GenerationOptions(
            max_tokens=CAPABLE_MAX_TOKENS, temperature=0.8, stop=stop_sequences(request), seed=seed
        )
        return PersonaPrompt(
            ChatPrompt((ChatMessage("system", card), *few_shot, ChatMessage("user", user)), "", options),
            beat,
            "",
        )
    prefill = choose_prefill(request, attempt)
    options = GenerationOptions(
        max_tokens=max_tokens,
        temperature=0.7,
        stop=stop_sequences(request),
        seed=seed,
        grammar=sentence_grammar(MAX_SENTENCES - len(re.findall(r"[.!?](?:\s|$)", prefill))),
    )
    messages = (ChatMessage("system", card), *few_shot, ChatMessage("user", user))
    return PersonaPrompt(ChatPrompt(messages, prefill, options), beat, prefill)


def persona_card(request: LineRequest) -> str:
    """The system message: who this member is and how they talk (stable per persona, so it is cached)."""
    name, persona = request.speaker, request.persona
    return (
        f"You are {name}, a member of a peer support group. {short_background(persona.background)}\n"
        f"How you talk: {persona.voice.strip()}\n"
        f'Say only what {name} says: one to three short sentences about your own life, as "I". '
        f"You are not the facilitator and you never give advice."
    )


def prefetch_prompt(request: LineRequest) -> ChatPrompt:
    """The start of the prompt this member's next line will have, up to where the facilitator's coming
    reply goes: card, few-shot turns and the transcript so far. Sent while the trainee is still typing,
    it lets llama.cpp have all but the reply and the beat cached. `request.recent` is the transcript
    now; its intent picks the few-shot turns (use "answer", the commonest)."""
    spoken = [u for u in request.recent if u.role != "system"][-(RECENT_TURNS - 1) :] if RECENT_TURNS > 1 else []
    lines = [_speaker_line(u) + "\n" for u in spoken]
    messages = (ChatMessage("system", persona_card(request)), *shots(request), ChatMessage("user", "".join(lines)))
    return ChatPrompt(messages, "", GenerationOptions(max_tokens=0))


def their_word(they: str) -> str:
    return {"she": "her", "he": "his"}.get(they, "their")


def themself(they: str) -> str:
    return {"she": "herself", "he": "himself"}.get(they, "themself")
