"""Persona quality, measured: how often model lines stay in character, per backend.

Run from the checkout: `.venv/bin/python benchmarks/bench_personas.py` (`--no-write` to only print,
`--limit N` for a quick look). A fixed set of beats is built deterministically from the persona library:
every persona x every intent it has authored lines for x two facilitator replies from a fixed list, in a
group of three other personas (the first of them is the target of escalate/support). Each beat is rendered
by `ModelRenderer` (guard, resampling, authored fallback) and we report, per backend:

- raw pass rate: share of all model samples the guard accepts (and of first samples alone)
- role swaps: samples rejected for speaking as the facilitator, for another member, as the wrong speaker,
  or counselling; and how many role swaps reached the output (must be 0)
- an independent audit: the engine's own move detector run over the delivered member lines, flagging
  facilitator-only moves (ground rules, summary, invite, redirect, referral, safety check, advice); the
  same audit over the authored lines gives its baseline
- mean length in words, repetition (rejected as repeats; delivered near-duplicates), and the share
  delivered by authored fallback.

The embedded backend always runs; the openai backend runs when HOLDSPACE_OPENAI_BASE_URL is set (model
from HOLDSPACE_PERSONA_MODEL). The figures replace this benchmark's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from holdspace.content.loader import load_library  # noqa: E402
from holdspace.content.models import INTENTS, Persona  # noqa: E402
from holdspace.engine.guard import ROLE_SWAPS, check_line, jaccard, words  # noqa: E402
from holdspace.engine.model_rendering import ModelRenderer  # noqa: E402
from holdspace.engine.moves import RuleMoveDetector  # noqa: E402
from holdspace.engine.rendering import fill_target  # noqa: E402
from holdspace.engine.types import LineRequest, RenderedLine, Utterance  # noqa: E402
from holdspace.models.base import ChatModel  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "Persona quality"
#: fixed facilitator replies; each (persona, intent) gets two of them, chosen by position
REPLIES = (
    "What has this week been like for you?",
    "It sounds like things have been heavy lately. What's been on your mind?",
    "I'd like to hear from someone we haven't heard from yet.",
    "Let's pause for a second. How is everyone feeling right now?",
    "What helps you get through the hard days?",
    "I noticed it got quiet after that. What came up for people?",
)
OPENING = "Welcome back, everyone. Let's start with a quick check-in."
#: moves a member has no business making; the audit flags them in delivered lines
FACILITATOR_MOVES = frozenset({"ground_rules", "summary", "invite", "redirect", "referral", "safety_check", "advice"})


def first_name(persona: Persona) -> str:
    return persona.name.split()[0]


def build_beats(limit: int | None = None) -> list[LineRequest]:
    """The fixed benchmark set: persona x intent x 2 replies, deterministic."""
    library, problems = load_library(ROOT)
    personas = sorted(library.personas.values(), key=lambda p: p.id)
    if not personas:
        raise SystemExit(f"no personas found under {ROOT / 'personas'}: {problems[:3]}")
    beats: list[LineRequest] = []
    for index, persona in enumerate(personas):
        group = [personas[(index + k) % len(personas)] for k in (1, 2, 3)]
        others = tuple(first_name(p) for p in group)
        neighbour = group[-1]
        speaker = first_name(persona)
        intents = [i for i in INTENTS if i in persona.lines]
        for j, intent in enumerate(intents):
            for k in range(2):
                reply = REPLIES[(index + j * 2 + k) % len(REPLIES)]
                target = others[0] if intent in {"escalate", "support"} else None
                neighbour_line = fill_target(neighbour.lines["answer"][k % len(neighbour.lines["answer"])], speaker)
                recent = (
                    Utterance("facilitator", "facilitator", OPENING),
                    Utterance(first_name(neighbour), "member", neighbour_line),
                    Utterance("facilitator", "facilitator", reply),
                )
                beats.append(
                    LineRequest(
                        speaker=speaker,
                        persona=persona,
                        intent=intent,
                        others=others,
                        recent=recent,
                        facilitator_reply=reply,
                        target=target,
                        said_before=(persona.lines["answer"][0],),
                        seed=index * 100 + j * 10 + k,
                    )
                )
    return beats[:limit] if limit else beats


@dataclass
class Tally:
    backend: str
    beats: int = 0
    samples: int = 0
    passed: int = 0
    first_samples: int = 0
    first_passed: int = 0
    reasons: Counter = field(default_factory=Counter)
    role_swaps: int = 0
    role_swaps_delivered: int = 0
    audit_flags: list[str] = field(default_factory=list)
    sample_words: list[int] = field(default_factory=list)
    delivered_words: list[int] = field(default_factory=list)
    delivered: Counter = field(default_factory=Counter)
    notices: int = 0
    duplicate_deliveries: int = 0
    seconds: list[float] = field(default_factory=list)
    examples: list[tuple[str, str, str]] = field(default_factory=list)


def audit(text: str, request: LineRequest, detector: RuleMoveDetector) -> list[str]:
    moves = detector.detect(text, list(request.recent), list(request.others))
    return sorted({m.label for m in moves if m.label in FACILITATOR_MOVES and m.confidence >= 0.6})


def run_backend(
    name: str, model: ChatModel, beats: list[LineRequest], *, capable: bool = False, verbose: bool = False
) -> Tally:
    renderer = ModelRenderer(model, capable=capable)
    detector = RuleMoveDetector()
    tally = Tally(name)
    delivered_by_speaker: dict[str, list[str]] = {}
    for request in beats:
        t0 = time.perf_counter()
        line: RenderedLine = renderer.render(request)
        tally.seconds.append(time.perf_counter() - t0)
        tally.beats += 1
        model_samples = [(text, reason) for text, reason in line.rejected]
        if line.source == "model":
            model_samples.append((line.text, ""))
        if line.notice:
            tally.notices += 1
        for n, (text, reason) in enumerate(model_samples):
            tally.samples += 1
            tally.sample_words.append(len(words(text)))
            if n == 0:
                tally.first_samples += 1
                tally.first_passed += not reason
            if reason:
                tally.reasons[reason] += 1
                tally.role_swaps += reason in ROLE_SWAPS
                if len(tally.examples) < 400:
                    tally.examples.append((request.speaker, reason, text))
            else:
                tally.passed += 1
        tally.delivered[line.source] += 1
        tally.delivered_words.append(len(words(line.text)))
        # Re-check what reached the trainee with the guard itself (no history: a pure role check).
        verdict = check_line(line.text, request)
        if line.source == "model" and verdict.role_swap:
            tally.role_swaps_delivered += 1
        flags = audit(line.text, request, detector) if line.source == "model" else []
        if flags:
            tally.audit_flags.append(f"{request.speaker}/{request.intent} {flags}: {line.text}")
        earlier = delivered_by_speaker.setdefault(request.speaker, [])
        if any(jaccard(line.text, e) >= 0.7 for e in earlier):
            tally.duplicate_deliveries += 1
        earlier.append(line.text)
        if not verbose and tally.beats % 20 == 0:
            print(f"  {name}: {tally.beats}/{len(beats)} beats", flush=True)
        if verbose:
            mark = line.source if not line.rejected else f"{line.source} after {[r for _, r in line.rejected]}"
            print(f"  {request.speaker:8} {request.intent:9} {mark}: {line.text}")
    return tally


def authored_audit_baseline(beats: list[LineRequest]) -> tuple[int, int]:
    """How often the audit flags the authors' own lines (its false-positive baseline)."""
    detector = RuleMoveDetector()
    seen: set[tuple[str, str]] = set()
    flagged = total = 0
    for request in beats:
        if (request.persona.id, request.intent) in seen:
            continue
        seen.add((request.persona.id, request.intent))
        for line in request.persona.lines.get(request.intent, []):
            total += 1
            flagged += bool(audit(fill_target(line, request.target), request, detector))
    return flagged, total


def pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def report(
    tallies: list[Tally], beats: list[LineRequest], started: datetime, load: str, openai_beats: list[LineRequest]
) -> str:
    flagged, total = authored_audit_baseline(beats)
    personas = len({b.persona.id for b in beats})
    intents = len({b.intent for b in beats})
    uname = " ".join(platform.uname())
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    lines = [
        f"## {SECTION}",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC on `{uname}`, nproc {os.cpu_count()}, load average at start "
        f"{load}, by `.venv/bin/python benchmarks/bench_personas.py`. {len(beats)} beats: {personas} personas x "
        f"their authored intents ({intents} intents in all) x 2 fixed facilitator replies. Target (issue 3): "
        "at least 70% of raw embedded lines pass the guard, and no role swap reaches the trainee."
        + (
            f" The openai column ran on an evenly spaced subset of {len(openai_beats)} of the beats."
            if len(tallies) > 1 and len(openai_beats) < len(beats)
            else ""
        ),
        "",
        "| metric | " + " | ".join(t.backend for t in tallies) + " |",
        "|---|" + "---|" * len(tallies),
    ]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("raw model lines (all samples, incl. resamples)", [str(t.samples) for t in tallies])
    row("**raw lines passing the guard**", [f"**{pct(t.passed, t.samples)}**" for t in tallies])
    row("first samples passing the guard", [pct(t.first_passed, t.first_samples) for t in tallies])
    row(
        "role swaps among raw lines (facilitator voice, other member, wrong speaker, counselling)",
        [f"{t.role_swaps} ({pct(t.role_swaps, t.samples)})" for t in tallies],
    )
    row("**role swaps reaching the trainee**", [f"**{t.role_swaps_delivered}**" for t in tallies])
    row(
        f"audit: delivered model lines with a facilitator-only move (authored baseline {pct(flagged, total)})",
        [f"{len(t.audit_flags)} ({pct(len(t.audit_flags), t.delivered['model'])})" for t in tallies],
    )
    row("rejections by reason", [", ".join(f"{k} {v}" for k, v in t.reasons.most_common()) or "none" for t in tallies])
    row(
        "mean length of raw lines (words)",
        [f"{statistics.fmean(t.sample_words):.1f}" if t.sample_words else "n/a" for t in tallies],
    )
    row("mean length of delivered lines (words)", [f"{statistics.fmean(t.delivered_words):.1f}" for t in tallies])
    row("repetition: raw lines rejected as repeats", [pct(t.reasons["repeats"], t.samples) for t in tallies])
    row(
        "repetition: delivered near-duplicates (same member, Jaccard >= 0.7)",
        [pct(t.duplicate_deliveries, t.beats) for t in tallies],
    )
    row("delivered by the model", [pct(t.delivered["model"], t.beats) for t in tallies])
    row("**delivered by authored fallback**", [f"**{pct(t.delivered['authored'], t.beats)}**" for t in tallies])
    row("lines with a model-down notice", [str(t.notices) for t in tallies])
    row(
        "time per line, mean / p95 (s)",
        [
            f"{statistics.fmean(t.seconds):.2f} / {sorted(t.seconds)[int(0.95 * (len(t.seconds) - 1))]:.2f}"
            for t in tallies
        ],
    )
    lines.append("")
    for t in tallies:
        if t.audit_flags:
            lines.append(f"Audit flags ({t.backend}), for a human to judge:")
            lines += [f"- {flag}" for flag in t.audit_flags[:8]]
            lines.append("")
    return "\n".join(lines) + "\n"


def update_results(section: str, heading: str, path: Path = RESULTS) -> None:
    """Replace this benchmark's section of RESULTS.md (or append it), leaving other sections alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--limit", type=int, default=None, help="only the first N beats (a quick look)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every delivered line")
    parser.add_argument(
        "--openai-limit",
        type=int,
        default=None,
        help="run the openai backend on every k-th beat only, to at most this many beats (it is slower)",
    )
    parser.add_argument(
        "--openai-self",
        action="store_true",
        help="also run the openai backend against a llama.cpp server started here (its /v1 endpoint), "
        "when HOLDSPACE_OPENAI_BASE_URL is not set",
    )
    args = parser.parse_args()

    started = datetime.now(UTC)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    beats = build_beats(args.limit)
    print(f"{len(beats)} beats")

    from holdspace.models.embedded import EmbeddedChatModel, EmbeddedServer
    from holdspace.settings import get_settings

    settings = get_settings()
    server = EmbeddedServer(threads=settings.llm_threads)
    server.start()
    tallies = [run_backend("embedded (SmolLM2-135M)", EmbeddedChatModel(server.base_url), beats, verbose=args.verbose)]
    openai_beats = beats
    if args.openai_limit and len(beats) > args.openai_limit:
        step = -(-len(beats) // args.openai_limit)
        openai_beats = beats[::step]
    if args.openai_self and not settings.openai_base_url:
        from holdspace.models.openai_backend import OpenAIChatModel

        model = OpenAIChatModel("smollm2-135m-instruct", base_url=server.base_url + "/v1", timeout_s=60)
        tallies.append(
            run_backend(
                "openai SDK -> llama.cpp /v1 (SmolLM2, treated as capable)",
                model,
                openai_beats,
                capable=True,
                verbose=args.verbose,
            )
        )
    server.stop()
    if settings.openai_base_url:
        from holdspace.models.openai_backend import OpenAIChatModel

        model = OpenAIChatModel(
            settings.persona_model,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            timeout_s=settings.llm_timeout_s,
        )
        # Production treats a server behind the openai backend as capable (see get_persona_renderer).
        tallies.append(
            run_backend(f"openai ({settings.persona_model})", model, openai_beats, capable=True, verbose=args.verbose)
        )

    section = report(tallies, beats, started, load, openai_beats)
    print(section)
    for t in tallies:
        print(f"rejected samples ({t.backend}):")
        for speaker, reason, text in t.examples[:40]:
            print(f"  [{reason}] {speaker}: {text}")
    if not args.no_write:
        update_results(section, SECTION)
        print(f"updated {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
