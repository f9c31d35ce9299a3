"""The real app in Debian's Chromium: `streamlit run app.py` on a free loopback port with the test's own data
folder, the fixture library and scripted members (fast, deterministic), driven with Playwright.

Screenshots of each step are kept in memory and written to `test-artifacts/<test>/` when a test fails.
Chromium is never downloaded: the suite uses /usr/bin/chromium (`playwright install` is not needed).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from holdspace.settings import PROJECT_ROOT, reset_settings_cache
from holdspace.storage import dispose_engines, upgrade_database

CHROMIUM = Path(os.environ.get("HOLDSPACE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FIXTURE_CONTENT = PROJECT_ROOT / "tests" / "storage" / "fixture_content"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
STREAMLIT = Path(sys.executable).with_name("streamlit")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    return CHROMIUM


@pytest.fixture(scope="session")
def content_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("content")
    for folder in ("personas", "scenarios"):
        shutil.copytree(FIXTURE_CONTENT / folder, root / folder)
    for folder in ("guide_corpus", "evaluation"):
        (root / folder).symlink_to(PROJECT_ROOT / folder)
    return root


WARM_DATA_FOLDER = (
    "from holdspace.retrieval import get_retriever; get_retriever().load(); "
    "from holdspace.services import practice; practice.default_detector(); practice.default_scorer()"
)


@pytest.fixture(scope="session")
def seed_data(content_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding what the app builds on first use (the guide's search index, a move model
    trained when the shipped one does not fit), made once per test session and copied into each test's
    data folder, so no test waits for it."""
    seed = tmp_path_factory.mktemp("seed-data")
    env = {**os.environ, "HOLDSPACE_DATA_DIR": str(seed), "HOLDSPACE_CONTENT_DIR": str(content_root)}
    subprocess.run([sys.executable, "-c", WARM_DATA_FOLDER], env=env, capture_output=True, timeout=900)
    return seed


@pytest.fixture
def app_url(
    chromium: Path,
    fresh_data_dir: Path,
    content_root: Path,
    seed_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[str]:
    """The app served from a subprocess that shares this test's data folder (so a test may also call the
    services directly, e.g. to add an account)."""
    shutil.copytree(seed_data, fresh_data_dir, dirs_exist_ok=True)
    monkeypatch.setenv("HOLDSPACE_CONTENT_DIR", str(content_root))
    monkeypatch.setenv("HOLDSPACE_PERSONA_BACKEND", "scripted")
    monkeypatch.delenv("HOLDSPACE_DATABASE_URL", raising=False)
    reset_settings_cache()
    upgrade_database()
    port = _free_port()
    env = {
        **os.environ,
        "HOLDSPACE_DATA_DIR": str(fresh_data_dir),
        "HOLDSPACE_CONTENT_DIR": str(content_root),
        "HOLDSPACE_PERSONA_BACKEND": "scripted",
    }
    log = (tmp_path / "streamlit.log").open("w")
    server = subprocess.Popen(
        [
            str(STREAMLIT),
            "run",
            str(PROJECT_ROOT / "app.py"),
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
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app did not start:\n" + (tmp_path / "streamlit.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        dispose_engines()
        reset_settings_cache()


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Steps:
    """Screenshots of each step, written out only when the test fails."""

    def __init__(self, page: object):
        self.page = page
        self.shots: list[tuple[str, bytes]] = []

    def __call__(self, name: str) -> None:
        self.shots.append((name, self.page.screenshot(full_page=True)))

    def save(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)  # only this run's steps
        folder.mkdir(parents=True, exist_ok=True)
        for number, (name, data) in enumerate(self.shots, start=1):
            (folder / f"{number:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png").write_bytes(data)


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.steps = Steps(tab)
    yield tab
    failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))
    if failed:
        folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            tab.steps("final state at failure")
        except Exception:  # noqa: BLE001 - a closed page still leaves the earlier steps
            pass
        tab.steps.save(folder)
    context.close()
