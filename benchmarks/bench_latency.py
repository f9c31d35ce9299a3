"""Turn latency with the embedded model: first persona token and end of round, beside the model's floor.

Run from the checkout: `.venv/bin/python benchmarks/bench_latency.py` (`--rounds N`, `--no-write`).
Plays the library's scenarios through the engine's session API (`GroupSession.stream_turn`) with the
production persona renderer (`ModelRenderer` over the embedded SmolLM2 server, guard and fallbacks on),
one fixed facilitator reply per round, until at least `--rounds` rounds had a member speak. A round is one
facilitator reply and the 1-3 member lines the director asks for. Per round we time, from the moment the
reply is submitted:

- first persona token: the model's first streamed token of the round's first model-written line
- first words shown: the first text the renderer releases (a guard-passed sentence, or an authored line)
- end of round: the session has finished the round (all lines rendered, state updated)

and split the round into time spent waiting on the model server vs. the engine's own work (move detection,
state, director, prompt building, guard, relevance). The model's own speed comes from llama.cpp's timings
for every request in the same run, plus a fixed probe (an uncached ~400-token prompt; a 64-token decode).
Figures replace this benchmark's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_personas import update_results  # noqa: E402

from holdspace.content.loader import load_library  # noqa: E402
from holdspace.engine.model_rendering import ModelRenderer, embedding_relevance  # noqa: E402
from holdspace.engine.types import LineRequest, RenderedLine  # noqa: E402
from holdspace.models.base import BaseChatModel, ChatMessage, ChatPrompt, GenerationOptions  # noqa: E402
from holdspace.models.embedded import EmbeddedChatModel, EmbeddedServer, Timings  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "Turn latency"
REPLIES = (
    "Welcome back, everyone. How has this week been for you?",
    "What was the hardest moment this week?",
    "It sounds like that stayed with you. Can you say more?",
    "I'd like to hear from someone we haven't heard from yet.",
    "Thank you. What helped you get through it?",
    "Let's slow down for a second. What do you need from the group right now?",
    "Does anyone else relate to that?",
    "What would you want the group to know about you tonight?",
)


@dataclass
class Call:
    start: float
    first: float | None = None
    end: float | None = None
    timings: Timings | None = None
    #: time the caller spent between chunks (guard, release): engine work, not waiting on the model
    caller: float = 0.0


class TimedModel(BaseChatModel):
    """Wraps the embedded model and records when each request started, first streamed, and ended."""

    def __init__(self, inner: EmbeddedChatModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[Call] = []

    def complete(self, prompt: ChatPrompt) -> str:
        call = Call(time.perf_counter())
        self.calls.append(call)
        try:
            return self.inner.complete(prompt)
        finally:
            call.end = time.perf_counter()
            call.first = call.first or call.end
            call.timings = self.inner.last_timings

    def prefetch(self, prompt: ChatPrompt) -> None:
        self.inner.prefetch(prompt)  # between rounds: not a round's call

    def stream(self, prompt: ChatPrompt) -> Iterator[str]:
        call = Call(time.perf_counter())
        self.calls.append(call)
        try:
            for chunk in self.inner.stream(prompt):
                handed = time.perf_counter()
                if call.first is None:
                    call.first = handed
                yield chunk
                call.caller += time.perf_counter() - handed
        finally:
            call.end = time.perf_counter()
            call.timings = self.inner.last_timings


class StreamingRenderer:
    """What a streaming UI does: consume `render_streaming`, noting when text first appears."""

    def __init__(self, inner: ModelRenderer) -> None:
        self.inner = inner
        self.first_shown: list[float] = []
        self.lines: list[RenderedLine] = []

    def render(self, request: LineRequest) -> RenderedLine:
        final = None
        for event in self.inner.render_streaming(request):
            if event.kind == "delta" and event.text:
                self.first_shown.append(time.perf_counter())
            elif event.kind == "final":
                final = event.line
        assert final is not None
        self.lines.append(final)
        return final

    def stream(self, request: LineRequest) -> Iterator[str]:
        yield self.render(request).text


@dataclass
class Round:
    lines: int
    total: float
    first_token: float | None
    first_shown: float | None
    model_wall: float
    model_compute: float
    sources: list[str] = field(default_factory=list)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = q * (len(ordered) - 1)
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def probe_floor(model: EmbeddedChatModel, repeats: int = 3) -> tuple[float, float]:
    """The model alone: prefill tok/s on an uncached ~400-token prompt, decode tok/s over 64 tokens."""
    text = " ".join(f"Member {i} said the week was long and the nights were hard." for i in range(30))
    prefill, decode = [], []
    for i in range(repeats):
        prompt = ChatPrompt(
            (ChatMessage("user", f"{i}. {text}"),), options=GenerationOptions(max_tokens=1, temperature=0.0)
        )
        body = model._body(prompt, stream=False)
        body["cache_prompt"] = False
        data = model._post(body)
        prefill.append(Timings.from_json(data.get("timings")).prompt_per_second)
        prompt = ChatPrompt(
            (ChatMessage("user", "Tell a long story about a lighthouse keeper."),),
            options=GenerationOptions(max_tokens=64, temperature=0.7, seed=i),
        )
        body = model._body(prompt, stream=False)
        body["ignore_eos"] = True
        data = model._post(body)
        decode.append(Timings.from_json(data.get("timings")).predicted_per_second)
    return statistics.median(prefill), statistics.median(decode)


def prefetch_members(session: object, renderer: ModelRenderer) -> float:
    """What a session could do after each round: warm every present member's prompt. Returns seconds."""
    t0 = time.perf_counter()
    personas = session.personas  # type: ignore[attr-defined]
    members = session.state.members  # type: ignore[attr-defined]
    recent = tuple(session.utterances[-8:])  # type: ignore[attr-defined]
    for name, persona in personas.items():
        if name in members and not getattr(members[name], "present", True):
            continue
        renderer.prefetch(
            LineRequest(
                speaker=name,
                persona=persona,
                intent="answer",
                others=tuple(n for n in personas if n != name),
                recent=recent,
                facilitator_reply="",
                said_before=tuple(session.said.get(name, ())),  # type: ignore[attr-defined]
            )
        )
    return time.perf_counter() - t0


def play(
    rounds_wanted: int, model: TimedModel, renderer: StreamingRenderer, prefetch: bool = False
) -> tuple[list[Round], str, list[float]]:
    from holdspace.engine.session import GroupSession

    library, problems = load_library(ROOT)
    scenarios = sorted(library.scenarios.values(), key=lambda s: s.id)
    if not scenarios:
        raise SystemExit(f"no playable scenarios: {problems[:3]}")
    rounds: list[Round] = []
    think: list[float] = []
    sessions = 0
    while len(rounds) < rounds_wanted:
        scenario = scenarios[sessions % len(scenarios)]
        session = GroupSession(scenario, library.personas_for(scenario), seed=sessions, renderer=renderer)
        sessions += 1
        if prefetch:  # the trainee reads the briefing: the members' prompts are warmed meanwhile
            think.append(prefetch_members(session, renderer.inner))
        for turn in range(scenario.max_turns):
            if session.ended or len(rounds) >= rounds_wanted:
                break
            reply = REPLIES[turn % len(REPLIES)]
            calls_before, shown_before, lines_before = len(model.calls), len(renderer.first_shown), len(renderer.lines)
            t0 = time.perf_counter()
            for _event in session.stream_turn(reply):
                pass
            total = time.perf_counter() - t0
            calls = model.calls[calls_before:]
            lines = renderer.lines[lines_before:]
            if not lines:
                continue  # the director let the silence sit: no persona spoke this round
            firsts = [c.first for c in calls if c.first is not None]
            shown = renderer.first_shown[shown_before:]
            rounds.append(
                Round(
                    lines=len(lines),
                    total=total,
                    first_token=(min(firsts) - t0) if firsts else None,
                    first_shown=(shown[0] - t0) if shown else None,
                    model_wall=sum((c.end or t0) - c.start - c.caller for c in calls),
                    model_compute=sum(
                        (c.timings.prompt_ms + c.timings.predicted_ms) / 1000 for c in calls if c.timings
                    ),
                    sources=[line.source for line in lines],
                )
            )
            if prefetch and not session.ended:  # while the trainee types the next reply
                think.append(prefetch_members(session, renderer.inner))
    return rounds, f"{sessions} sessions over {len(scenarios)} scenarios", think


@dataclass
class Run:
    label: str
    rounds: list[Round]
    calls: list[Call]
    how: str
    think: list[float] = field(default_factory=list)


def summarise(run: Run) -> dict[str, str]:
    rounds, calls = run.rounds, run.calls
    first_tokens = [r.first_token for r in rounds if r.first_token is not None]
    shown = [r.first_shown for r in rounds if r.first_shown is not None]
    totals = [r.total for r in rounds]
    model_share = sum(r.model_wall for r in rounds) / sum(totals)
    compute_share = sum(r.model_compute for r in rounds) / sum(totals)
    timings = [c.timings for c in calls if c.timings]
    prompt_tps = sum(t.prompt_tokens for t in timings) / max(1e-9, sum(t.prompt_ms for t in timings) / 1000)
    decode_tps = sum(t.predicted_tokens for t in timings) / max(1e-9, sum(t.predicted_ms for t in timings) / 1000)
    cached = sum(t.prompt_total - t.prompt_tokens for t in timings) / max(1, sum(t.prompt_total for t in timings))
    new_tokens = statistics.fmean(t.prompt_tokens for t in timings) if timings else 0.0
    lines_n = [r.lines for r in rounds]
    sources = [src for r in rounds for src in r.sources]

    def pq(values: list[float]) -> str:
        return f"{quantile(values, 0.5):.2f} s / {quantile(values, 0.95):.2f} s"

    return {
        "rounds measured (a member spoke)": f"{len(rounds)} ({run.how}); lines per round {min(lines_n)}-"
        f"{max(lines_n)}, mean {statistics.fmean(lines_n):.2f}",
        "lines: model / authored fallback / key beat": " / ".join(
            str(sources.count(src)) for src in ("model", "authored", "beat")
        ),
        "**first persona token, p50 / p95** (the model's first streamed token)": f"**{pq(first_tokens)}**",
        "first words shown, p50 / p95 (first guard-passed sentence, or an authored line)": pq(shown),
        "**end of round, p50 / p95**": f"**{pq(totals)}**",
        "round time waiting on the model server (HTTP wall)": f"{100 * model_share:.1f}%",
        "round time that is llama.cpp's own compute (prompt + decode)": f"{100 * compute_share:.1f}%",
        "**engine overhead share** (moves, state, director, prompt, guard, relevance)": (
            f"**{100 * (1 - model_share):.1f}%**"
        ),
        "model requests (per member line)": f"{len(calls)} ({len(calls) / max(1, len(sources)):.2f})",
        "prompt tokens served from llama.cpp's cache": f"{100 * cached:.0f}% (mean {new_tokens:.0f} new per request)",
        "prefill speed in the run (uncached prompt tokens/s)": f"{prompt_tps:.0f} tok/s",
        "decode speed in the run": f"{decode_tps:.0f} tok/s",
        "prefetch time between rounds, p50 / p95 (must fit in the trainee's typing time)": (
            pq(run.think) if run.think else "n/a"
        ),
    }


def report(runs: list[Run], floor: tuple[float, float], started: datetime, load: str, threads: int) -> str:
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        uname = "unknown"
    tables = [summarise(run) for run in runs]
    lines = [
        f"## {SECTION}",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC on `{uname}`, nproc {os.cpu_count()}, load average at start "
        f"{load} (other work was running on the machine), by `.venv/bin/python benchmarks/bench_latency.py`. "
        f"Embedded SmolLM2-135M-Instruct Q4_1 in llama.cpp (xllamacpp wheel), {threads} thread(s). Rounds are "
        "played through `GroupSession.stream_turn` with the production `ModelRenderer` (guard, resampling, "
        "authored fallback), streaming as a UI would, timed from the moment the reply is submitted; the wrapper "
        "that times them makes the session write a round's lines one after another and not prefetch (the app "
        "does both: see Web round latency for its rounds). Second "
        "column: the same, but after each round (and at session start) every present member's prompt is "
        "prefetched with `ModelRenderer.prefetch`, as a session could do while the trainee types. "
        "Targets (issue 3): first token within 1.0 s p50; engine overhead at most 10% of a round.",
        "",
        "| metric | " + " | ".join(run.label for run in runs) + " |",
        "|---|" + "---|" * len(runs),
        *[f"| {key} | " + " | ".join(t[key] for t in tables) + " |" for key in tables[0]],
        f"| model floor, probe: prefill of an uncached ~400-token prompt | {floor[0]:.0f} tok/s |"
        + " |" * (len(runs) - 1),
        f"| model floor, probe: decode of 64 tokens | {floor[1]:.0f} tok/s |" + " |" * (len(runs) - 1),
        "",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=36, help="rounds with at least one member line")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()

    from holdspace.settings import get_settings

    threads = get_settings().llm_threads
    started = datetime.now(UTC)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    embedding_relevance("warm up", ["the embedder loads once per process"])  # as the app does at start
    runs: list[Run] = []
    floor = (0.0, 0.0)
    for label, prefetch in (("lines one after another", False), ("with prefetch while typing", True)):
        server = EmbeddedServer(threads=threads)  # a fresh server: no cache carried between the modes
        server.start()
        inner = EmbeddedChatModel(server.base_url, timeout_s=30)
        model = TimedModel(inner)
        renderer = StreamingRenderer(ModelRenderer(model))
        rounds, how, think = play(args.rounds, model, renderer, prefetch)
        runs.append(Run(label, rounds, model.calls, how, think))
        if not prefetch:
            floor = probe_floor(inner)
        server.stop()
    section = report(runs, floor, started, load, threads)
    print(section)
    if not args.no_write:
        update_results(section, SECTION, RESULTS)
        print(f"updated {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
