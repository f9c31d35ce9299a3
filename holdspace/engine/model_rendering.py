"""Persona rendering with a language model, guarded, with authored lines as the safety net.

`ModelRenderer` asks a ChatModel for a member's line (prompt from `persona_prompt`), runs the guard, samples
again with another seed and prefill if the line is rejected, and falls back to the authored line most
relevant to what the facilitator just said. A model failure of any kind (down, slow, garbage, a bug) never
reaches the turn loop: the line falls back to authored content and carries `notice`, which the UI shows.

Key beats (`request.beat_lines`: a disclosure, a threat) are always delivered with their content: a small
model gets the authored beat line verbatim; a capable model may phrase it, and its line is kept only if
the guard passes it *and* it still conveys the beat.

Streaming contract (`render_streaming`): events are `StreamEvent("delta", text)` … then exactly one
`StreamEvent("final", line=RenderedLine)`. Text is released a sentence at a time, and only once everything
released so far passes the guard as a complete line, so a rejected model line is never shown; the
concatenated deltas always equal `final.line.text` (a fallback arrives as one delta). UIs may still treat
`final` as authoritative and replace what they displayed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from holdspace.engine.guard import (
    Verdict,
    check_line,
    clean_line,
    may_continue,
    words,
)
from holdspace.engine.persona_prompt import MAX_TOKENS, build_persona_prompt, prefetch_prompt
from holdspace.engine.rendering import (
    LineRenderer,
    Relevance,
    choose_authored,
    choose_beat,
    fill_target,
    word_overlap,
)
from holdspace.engine.types import LineRequest, RenderedLine
from holdspace.models.base import ChatModel, ChatPrompt, ModelError

log = logging.getLogger(__name__)

NOTICE_MODEL_DOWN = "The group is running on authored lines: the model server did not answer."
#: give up sampling again once a line has taken this long (the trainee is waiting)
TIME_BUDGET_S = 6.0
#: a capable model's phrasing of a key beat must share this share of the beat's content words
BEAT_RECALL = 0.5
BEAT_SIMILARITY = 0.75

_BOUNDARY = re.compile(r"[.!?]+[\"')]*(?=\s)")
_STOPWORDS = frozenset(
    "a an the and or but i you we it is are was were be to of in on at for with that this what how do does "
    "did your my me so just about can could would there here have has had not no its it's i'm you're they "
    "them their he she his her him our us been am as if then than too very really".split()
)


# ------------------------------------------------------------------------------------------ relevance
_embed_state: dict[str, object] = {}
_embed_lock = threading.Lock()


def embedding_relevance(query: str, candidates: Sequence[str]) -> list[float]:
    """Cosine similarity with the shared MiniLM embedder; word overlap if the embedder is unavailable."""
    if not candidates:
        return []
    with _embed_lock:
        broken = _embed_state.get("broken", False)
    if not broken:
        try:
            from holdspace.embeddings import get_embedder

            embedder = get_embedder()
            vectors = embedder.encode([query, *candidates])
            return [float(v) for v in vectors[1:] @ vectors[0]]
        except Exception as exc:  # noqa: BLE001 - relevance is a nicety; never fail a line over it
            log.warning("embedding relevance unavailable, using word overlap: %s", exc)
            with _embed_lock:
                _embed_state["broken"] = True
    return word_overlap(query, candidates)


def conveys(text: str, beat: str, relevance: Relevance = embedding_relevance) -> bool:
    """Does a model's phrasing still carry the beat's content? (content-word recall or close meaning)"""
    key = {w for w in words(beat) if w not in _STOPWORDS and len(w) > 3}
    said = set(words(text))
    if key and len(key & said) / len(key) >= BEAT_RECALL:
        return True
    return bool(relevance(beat, [text])[0] >= BEAT_SIMILARITY)


# ------------------------------------------------------------------------------------------ streaming
@contextmanager
def _hang_up(chunks: Iterator[str]) -> Iterator[Iterator[str]]:
    """Close a model's stream when we stop reading it early (a generator's close ends the HTTP request)."""
    try:
        yield chunks
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()


@dataclass(frozen=True)
class StreamEvent:
    kind: Literal["delta", "final"]
    text: str = ""
    line: RenderedLine | None = None


def render_streaming(renderer: LineRenderer, request: LineRequest) -> Iterator[StreamEvent]:
    """The streaming contract for any renderer (an AuthoredRenderer yields its line as one delta)."""
    own = getattr(renderer, "render_streaming", None)
    if callable(own):
        yield from own(request)
        return
    line = renderer.render(request)
    yield StreamEvent("delta", line.text)
    yield StreamEvent("final", line.text, line)


@dataclass
class _Attempt:
    """What one sampling attempt produced."""

    text: str = ""
    verdict: Verdict | None = None
    released: str = ""
    error: ModelError | None = None
    raw: list[str] = field(default_factory=list)


class ModelRenderer:
    """Model-written member lines behind the guard; authored lines when the model cannot be used."""

    name = "model"

    def __init__(
        self,
        model: ChatModel,
        *,
        capable: bool = False,
        attempts: int = 3,
        relevance: Relevance = embedding_relevance,
        max_tokens: int = MAX_TOKENS,
        time_budget_s: float = TIME_BUDGET_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.capable = capable
        self.attempts = max(1, attempts)
        self.relevance = relevance
        self.max_tokens = max_tokens
        self.time_budget_s = time_budget_s
        self.clock = clock

    # -- fallbacks
    def _authored(
        self, request: LineRequest, rejected: list[tuple[str, str]], notice: str | None = None
    ) -> RenderedLine:
        if request.beat_lines:
            return RenderedLine(choose_beat(request), "beat", notice=notice, rejected=rejected)
        try:
            text = choose_authored(request, self.relevance)
        except Exception:  # noqa: BLE001 - relevance must not break the fallback itself
            text = choose_authored(request, word_overlap)
        return RenderedLine(text, "authored", notice=notice, rejected=rejected)

    def _accept(self, text: str, request: LineRequest) -> Verdict:
        verdict = check_line(text, request)
        if verdict.ok and request.beat_lines:
            beat = fill_target(request.beat_lines[0], request.target)
            if not any(conveys(text, fill_target(b, request.target), self.relevance) for b in request.beat_lines):
                return Verdict(False, "misses_beat", beat[:60])
        return verdict

    def _uses_model(self, request: LineRequest) -> bool:
        # Key beats are delivered verbatim unless the model is capable enough to phrase them.
        return not request.beat_lines or self.capable

    @property
    def concurrent(self) -> bool:
        """Lines may be written side by side: a server batches them, so a round ends sooner."""
        return True

    @property
    def can_prefetch(self) -> bool:
        """Whether `prefetch` does anything with this model (it needs a backend with a prompt cache)."""
        return not self.capable and callable(getattr(self.model, "prefetch", None))

    # -- prompt cache warming
    def prefetch(self, request: LineRequest) -> bool:
        """Warm the model server's prompt cache for this member's next line (call it after a round, while
        the trainee types). Only backends with a `prefetch` method do anything (the embedded one); errors
        are swallowed: this is an optimisation, never a failure. Returns whether it was sent."""
        warm = getattr(self.model, "prefetch", None)
        breaker = getattr(self.model, "breaker", None)
        if self.capable or not callable(warm) or (breaker is not None and breaker.state == "open"):
            return False
        try:
            warm(prefetch_prompt(request))
        except Exception as exc:  # noqa: BLE001
            log.info("prefetch for %s failed: %s", request.speaker, exc)
            return False
        return True

    def prefetch_async(
        self, requests: Sequence[LineRequest], cancel: threading.Event | None = None
    ) -> threading.Thread:
        """`prefetch` each request in order on a daemon thread; returns the thread (join it if you wait).
        Setting `cancel` skips the requests not sent yet: a round that starts must not queue behind them."""

        def run() -> None:
            for request in requests:
                if cancel is not None and cancel.is_set():
                    return
                self.prefetch(request)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    # -- LineRenderer
    def render(self, request: LineRequest) -> RenderedLine:
        if not self._uses_model(request):
            return RenderedLine(choose_beat(request), "beat")
        rejected: list[tuple[str, str]] = []
        start = self.clock()
        for attempt in range(self.attempts):
            if attempt and self.clock() - start > self.time_budget_s:
                break
            built = build_persona_prompt(request, attempt=attempt, capable=self.capable, max_tokens=self.max_tokens)
            try:
                raw = self.model.complete(built.prompt)
            except Exception as exc:  # noqa: BLE001 - a session never crashes because of the model
                log.warning("persona model failed for %s: %s", request.speaker, exc)
                return self._authored(request, rejected, NOTICE_MODEL_DOWN)
            text = clean_line(built.prefill + raw, request.speaker)
            verdict = self._accept(text, request)
            if verdict.ok:
                return RenderedLine(text, "model", rejected=rejected)
            rejected.append((text, verdict.reason or "rejected"))
        return self._authored(request, rejected)

    def stream(self, request: LineRequest) -> Iterator[str]:
        for event in self.render_streaming(request):
            if event.kind == "delta" and event.text:
                yield event.text

    def render_streaming(self, request: LineRequest) -> Iterator[StreamEvent]:
        if not self._uses_model(request):
            line = RenderedLine(choose_beat(request), "beat")
            yield StreamEvent("delta", line.text)
            yield StreamEvent("final", line.text, line)
            return
        rejected: list[tuple[str, str]] = []
        start = self.clock()
        for attempt in range(self.attempts):
            if attempt and self.clock() - start > self.time_budget_s:
                break
            built = build_persona_prompt(request, attempt=attempt, capable=self.capable, max_tokens=self.max_tokens)
            state = _Attempt()
            for delta in self._stream_attempt(request, built.prompt, built.prefill, state):
                yield StreamEvent("delta", delta)
            if state.error is not None and not state.released:
                line = self._authored(request, rejected, NOTICE_MODEL_DOWN)
                yield StreamEvent("delta", line.text)
                yield StreamEvent("final", line.text, line)
                return
            if state.released:
                line = RenderedLine(state.released, "model", rejected=rejected)
                if state.verdict is not None and not state.verdict.ok:
                    line.rejected.append((state.text, f"{state.verdict.reason} (cut after released text)"))
                yield StreamEvent("final", line.text, line)
                return
            rejected.append((state.text, (state.verdict.reason if state.verdict else None) or "rejected"))
        line = self._authored(request, rejected)
        yield StreamEvent("delta", line.text)
        yield StreamEvent("final", line.text, line)

    def _stream_attempt(self, request: LineRequest, prompt: ChatPrompt, prefill: str, state: _Attempt) -> Iterator[str]:
        """Stream one sample, releasing whole sentences that keep the line acceptable.

        On return, `state.released` is the text already yielded (a complete, guard-passing line or "") and
        `state.verdict` is the guard's view of the whole sample (None if the model failed).
        """
        buffer = prefill
        checked_upto = 0
        try:
            # closing(): stopping early must hang up on the server, or it keeps generating for no one.
            with _hang_up(iter(self.model.stream(prompt))) as chunks:
                for chunk in chunks:
                    state.raw.append(chunk)
                    buffer += chunk
                    finished = "\n" in buffer
                    buffer = buffer.split("\n", 1)[0]
                    # Every sentence boundary not checked yet (a boundary needs the character after it).
                    for match in _BOUNDARY.finditer(buffer, checked_upto):
                        checked_upto = match.end()
                        if request.beat_lines:
                            continue  # a beat's phrasing is judged whole, at the end
                        candidate = clean_line(buffer[: match.end()], request.speaker)
                        verdict = check_line(candidate, request)
                        if verdict.ok and candidate.startswith(state.released) and candidate != state.released:
                            delta = candidate[len(state.released) :]
                            state.released = candidate
                            yield delta
                        elif not verdict.ok and not may_continue(verdict):
                            state.text, state.verdict = candidate, verdict
                            return
                    if finished:
                        break
        except Exception as exc:  # noqa: BLE001 - see render()
            log.warning("persona model failed mid-stream for %s: %s", request.speaker, exc)
            state.error = exc if isinstance(exc, ModelError) else ModelError(str(exc))
            state.text = clean_line(buffer, request.speaker)
            return
        state.text = clean_line(buffer, request.speaker)
        state.verdict = self._accept(state.text, request)
        if state.verdict.ok and state.text.startswith(state.released) and state.text != state.released:
            delta = state.text[len(state.released) :]
            state.released = state.text
            yield delta
        # If the whole sample fails but some sentences were released, the caller keeps those: they passed.
