"""Text handling shared by the detector and the scorer: normalising, capping and splitting replies.

Replies arrive from trainees and from files we did not write: curly quotes, Markdown, HTML, 10,000
characters of paste. Everything here treats text as data (never rendered, never executed) and caps how
much of it is processed so one pathological reply cannot stall a file.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from holdspace.engine.types import Utterance

#: Characters of a reply that are analysed; the rest is ignored (and said so in the feedback).
MAX_REPLY_CHARS = 2000
#: Sentences of a reply that are analysed.
MAX_SENTENCES = 24
#: Characters of one context turn that are analysed.
MAX_CONTEXT_CHARS = 1200
#: Context turns (most recent) that are read.
MAX_CONTEXT_TURNS = 8
#: Evidence spans are cut to this many characters.
MAX_EVIDENCE_CHARS = 200

#: Speaker names meaning "the person being scored" (group facilitator, one-to-one helper, counsellor).
FACILITATOR_SPEAKERS = frozenset(
    {
        "facilitator",
        "helper",
        "therapist",
        "counselor",
        "counsellor",
        "peer",
        "peer supporter",
        "supporter",
        "interviewer",
        "t",
    }
)
#: Generic names for the person being helped in one-to-one conversations.
CLIENT_SPEAKERS = frozenset({"client", "member", "patient", "participant", "c", "user", "speaker"})

_TAG = re.compile(r"<[^>\n]{0,200}>")
_MD = re.compile(r"(\*\*|__|`{1,3}|^#{1,6}\s+|^\s*[-*+]\s+|^\s*>\s?)", re.MULTILINE)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": " - ", "…": "...", "\u00a0": " "})
# Split after . ! ? (and runs of them) or at newlines; keep the punctuation with its sentence.
_SENT = re.compile(r"[^.!?\n]+(?:[.!?]+|$)|[.!?]+")
_ABBREV = re.compile(r"\b(Dr|Mr|Mrs|Ms|St|vs|etc|e\.g|i\.e|approx|no)\.\s", re.IGNORECASE)


@lru_cache(maxsize=8192)  # context turns are cleaned by the detector, the situation reader and the scorer
def clean(text: str) -> str:
    """Plain text for analysis: unescaped entities, tags and Markdown markers dropped, quotes straightened.

    The original reply is never modified; evidence quotes come from this cleaned form, so no markup
    reaches the output.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = html.unescape(text)
    text = _TAG.sub(" ", text)
    text = _MD.sub("", text)
    text = text.translate(_QUOTES)
    text = "".join(ch for ch in text if ch == "\n" or ch.isprintable())
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def cap(text: str, limit: int = MAX_REPLY_CHARS) -> str:
    """At most `limit` characters, cut at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit * 0.8 else cut


def split_sentences(text: str) -> list[str]:
    """Sentences of a (cleaned) reply, punctuation kept; at most MAX_SENTENCES.

    Dotted abbreviations ("Dr. Hale") do not end a sentence.
    """
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", "\u2024"), text)
    out = []
    for raw in _SENT.findall(protected):
        s = raw.replace("\u2024", ".").strip(" ,;:-")
        if s.strip(" .!?"):
            out.append(s)
        if len(out) >= MAX_SENTENCES:
            break
    return out


def evidence(span: str) -> str:
    """An evidence quote: plain text, one line, at most MAX_EVIDENCE_CHARS."""
    flat = " ".join(span.split())
    if len(flat) <= MAX_EVIDENCE_CHARS:
        return flat
    return flat[: MAX_EVIDENCE_CHARS - 1].rstrip() + "…"


def is_facilitator(speaker: str) -> bool:
    return speaker.strip().lower() in FACILITATOR_SPEAKERS


def to_utterances(context: Sequence[dict]) -> list[Utterance]:
    """Context records `{"speaker", "text"}` as utterances; helper/client style names are mapped to roles."""
    out = []
    for turn in context:
        speaker = str(turn.get("speaker", "")).strip() or "member"
        text = str(turn.get("text", ""))
        role = "facilitator" if is_facilitator(speaker) else "member"
        if role == "facilitator":
            speaker = "facilitator"
        out.append(Utterance(speaker, role, text))  # type: ignore[arg-type]
    return out


def member_names(context: Sequence[Utterance]) -> list[str]:
    """Names of the members who speak in the context (generic one-to-one names excluded)."""
    names: list[str] = []
    for u in context:
        if u.role == "member" and u.speaker.lower() not in CLIENT_SPEAKERS and u.speaker not in names:
            if re.fullmatch(r"[A-Za-z][A-Za-z'\-]{1,30}", u.speaker):
                names.append(u.speaker)
    return names


def last_member_text(context: Sequence[Utterance]) -> str:
    """What the members said since the facilitator last spoke (the turn a reply answers)."""
    parts: list[str] = []
    for u in reversed(context[-MAX_CONTEXT_TURNS:]):
        if u.role == "facilitator":
            if parts:
                break
            continue
        if u.role == "member":
            parts.append(cap(clean(u.text), MAX_CONTEXT_CHARS))
    return " ".join(reversed(parts))
