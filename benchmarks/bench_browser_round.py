"""Web round latency, measured from the browser: the time from pressing Enter on a facilitator reply until
every member who answers has finished and the page is idle again.

Run from the checkout: `.venv/bin/python benchmarks/bench_browser_round.py` (`--rounds N`, `--no-write` to
only print, `--backend scripted` to see the app's own overhead). It starts `streamlit run app.py` on a free
loopback port with a fresh data folder and the shipped scenarios, on the default persona backend (the
embedded SmolLM2 unless told otherwise), signs a trainee in through Debian's Chromium (Playwright, never a
downloaded browser) and plays the core scenarios in turn, starting a new session whenever one ends. One
warm-up round (model server start, caches) is not counted.

The clock runs in the page: a keydown listener stamps `performance.now()` when Enter goes down, and a
MutationObserver on the app root stamps the moment Streamlit's script state goes from `running` back to
`notRunning` — after the last member's line is on screen. The first member line's appearance is stamped
too. The figures replace this benchmark's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "Web round latency"
TARGET_P50_S = 4.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCENARIOS = ("dominating-member", "silent-group", "escalating-conflict", "relapse-disclosure")
REPLIES = (
    "Welcome, everyone. What would you like to talk about tonight?",
    "{a}, thank you. Let me pause you there so others get some time too. {b}, how has your week been?",
    "It sounds like this week has been heavy for a few of you.",
    "I'd like to hear from someone we haven't heard from yet.",
    "{b}, what was that like for you?",
    "Let's take a breath together. What do people need from the group right now?",
    "Thank you for saying that. That took courage. How are you doing right now?",
    "What helps you get through the hard days?",
    "I'm noticing it got quiet after that. What came up for people?",
    "Before we close, what's one thing you'll take with you this week?",
)

OBSERVE = """(box) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const count = () => [...document.querySelectorAll('[data-testid="stChatMessageContent"]')]
      .filter(e => !e.innerText.includes('is typing')).length;
  const before = count();
  const run = window.__hsRound = {start: null, firstLine: null, end: null, sawRunning: false};
  box.addEventListener('keydown', e => { if (e.key === 'Enter') run.start = performance.now(); },
                       {capture: true, once: true});
  const watch = new MutationObserver(() => {
    if (run.start === null) return;
    if (run.firstLine === null && count() >= before + 2) run.firstLine = performance.now();
    const state = app.dataset.testScriptState;
    if (state === 'running') run.sawRunning = true;
    else if (run.sawRunning && state === 'notRunning' && run.end === null) {
      run.end = performance.now(); watch.disconnect();
    }
  });
  watch.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


@dataclass
class Round:
    total_s: float
    first_line_s: float | None
    members: int
    scenario: str


def uname() -> str:
    try:
        return subprocess.run(["uname", "-a"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return " ".join(platform.uname())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def start_app(data_dir: Path, backend: str | None, port: int) -> subprocess.Popen:
    env = {**os.environ, "HOLDSPACE_DATA_DIR": str(data_dir)}
    if backend:
        env["HOLDSPACE_PERSONA_BACKEND"] = backend
    streamlit = Path(sys.executable).with_name("streamlit")
    server = subprocess.Popen(
        [
            str(streamlit),
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=(data_dir / "streamlit.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    import httpx

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).text == "ok":
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("the app did not start; see " + str(data_dir / "streamlit.log"))


def run(rounds: int, backend: str | None) -> tuple[list[Round], Round, str]:
    data_dir = Path(tempfile.mkdtemp(prefix="holdspace-bench-web-"))
    os.environ["HOLDSPACE_DATA_DIR"] = str(data_dir)
    if backend:
        os.environ["HOLDSPACE_PERSONA_BACKEND"] = backend
    from playwright.sync_api import sync_playwright

    from holdspace.content import get_library
    from holdspace.engine.moves import RuleMoveDetector
    from holdspace.engine.rendering import AuthoredRenderer
    from holdspace.services import accounts, practice, sessions_service
    from holdspace.settings import get_settings, reset_settings_cache
    from holdspace.storage import upgrade_database

    # Sessions are created here and played in the app, which rebuilds each from the database with its own
    # detector, scorer and persona model; this process needs none of them (a persona model here would start
    # a second llama.cpp server and prefetch prompts on the same two cores as the app's).
    practice.default_detector = RuleMoveDetector  # type: ignore[assignment]
    practice.default_scorer = lambda: None  # type: ignore[assignment]
    practice.make_renderer = lambda backend=None: AuthoredRenderer()  # type: ignore[assignment]
    reset_settings_cache()
    upgrade_database()
    trainee = accounts.add_user("trainee", "a timing passphrase")
    token = accounts.issue_token(trainee.id)
    library = get_library()
    backend_name = backend or get_settings().persona_backend
    port = free_port()
    server = start_app(data_dir, backend, port)
    measured: list[Round] = []
    warmup: Round | None = None
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(120_000)
            scenario_index, session_id, turn = -1, None, 0
            while len(measured) < rounds:
                if session_id is None:
                    scenario_index += 1
                    scenario_id = SCENARIOS[scenario_index % len(SCENARIOS)]
                    # Created through the service the Home page's Start button calls.
                    session_id = sessions_service.start_session(trainee.id, scenario_id, seed=scenario_index).id
                    names = [m.name for m in library.scenario(scenario_id).members]
                    page.goto(f"http://127.0.0.1:{port}/practice?s={session_id}&t={token}")
                    turn = 0
                box = page.get_by_role("textbox", name="Your reply to the group")
                box.wait_for()
                page.wait_for_function(
                    "() => document.querySelector('[data-testid=\"stApp\"]').dataset.testScriptState === 'notRunning'"
                )
                reply = REPLIES[turn % len(REPLIES)].format(a=names[0], b=names[-1])
                before = len(sessions_service.get_transcript(session_id, trainee).records)
                box.fill(reply)
                box.evaluate(OBSERVE)
                box.press("Enter")
                page.wait_for_function("() => window.__hsRound && window.__hsRound.end !== null")
                timing = page.evaluate("() => window.__hsRound")
                transcript = sessions_service.get_transcript(session_id, trainee)
                members = sum(1 for r in transcript.records[before:] if r["role"] == "member")
                first = (timing["firstLine"] - timing["start"]) / 1000 if timing["firstLine"] else None
                result = Round((timing["end"] - timing["start"]) / 1000, first, members, scenario_id)
                if warmup is None:
                    warmup = result
                else:
                    measured.append(result)
                    print(
                        f"round {len(measured):2d} {scenario_id:20s} {result.total_s:6.2f} s  "
                        f"first line {first if first is None else round(first, 2)} s  members {members}",
                        flush=True,
                    )
                turn += 1
                if transcript.info.finished:
                    session_id = None
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert warmup is not None
    return measured, warmup, backend_name


def render(
    measured: list[Round],
    warmup: Round,
    backend: str,
    started: datetime,
    load: tuple[float, ...],
    baseline: list[Round] | None = None,
) -> str:
    totals = [r.total_s for r in measured]
    firsts = [r.first_line_s for r in measured if r.first_line_s is not None]
    answered = [r for r in measured if r.members]
    per_member = [r.total_s / r.members for r in answered]
    p50 = statistics.median(totals)
    scenarios = ", ".join(sorted({r.scenario for r in measured}))
    verdict = "met" if p50 <= TARGET_P50_S else "NOT met"
    lines = [
        f"## {SECTION}",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC on `{uname()}` (`uname -a`), nproc "
        f"{os.cpu_count()}, load average at start {', '.join(f'{x:.1f}' for x in load)}, by "
        f"`.venv/bin/python benchmarks/bench_browser_round.py`. Persona backend: `{backend}`. The app ran "
        "with `streamlit run app.py` on loopback and was driven from Debian's Chromium (headless, "
        "Playwright); a round is timed in the page from the Enter keypress to the script run ending after "
        "the last member's line is shown. One warm-up round is not counted "
        f"({warmup.total_s:.2f} s). Target: p50 <= {TARGET_P50_S:.0f} s — **{verdict}**.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| rounds measured (scenarios: {scenarios}) | {len(measured)} |",
        f"| round latency p50 | {p50:.2f} s |",
        f"| round latency p95 | {percentile(totals, 0.95):.2f} s |",
        f"| round latency min / max | {min(totals):.2f} s / {max(totals):.2f} s |",
        f"| first member line on screen p50 | {statistics.median(firsts):.2f} s |"
        if firsts
        else "| first member line on screen p50 | - |",
        f"| members answering per round (mean) | {statistics.mean(r.members for r in measured):.2f} |",
        f"| seconds per member line (p50, rounds with answers) | {statistics.median(per_member):.2f} s |"
        if per_member
        else "| seconds per member line | - |",
    ]
    if baseline:
        lines.append(
            f"| the same rounds on the `scripted` backend (the app's own share: storage, scoring, page), p50 | "
            f"{statistics.median(r.total_s for r in baseline):.2f} s |"
        )
    return "\n".join(lines) + "\n"


def update_results(section: str, path: Path = RESULTS) -> None:
    """Replace this benchmark's section of RESULTS.md (or append it), leaving other sections alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=24, help="measured rounds (at least 20 are recorded)")
    parser.add_argument(
        "--backend",
        choices=["embedded", "openai", "scripted"],
        default=None,
        help="persona backend (default: the settings', i.e. embedded)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the scripted run that shows the app's own overhead"
    )
    args = parser.parse_args()
    started = datetime.now(UTC)
    load = os.getloadavg()
    measured, warmup, backend = run(max(1, args.rounds), args.backend)
    baseline = None
    if backend != "scripted" and not args.no_baseline:
        baseline, _, _ = run(max(1, args.rounds), "scripted")
    section = render(measured, warmup, backend, started, load, baseline)
    print(section)
    if not args.no_write and len(measured) >= 20:
        update_results(section)
        print(f"updated {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
