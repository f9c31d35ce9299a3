"""Fixtures for retrieval tests: a temporary data dir and a small guide corpus written on the fly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from textwrap import dedent

import pytest

from holdspace.retrieval import reset_retriever
from holdspace.settings import Settings, get_settings, reset_settings_cache

SMALL_CORPUS = {
    "dominating-members.md": """\
        ---
        id: dominating-members
        title: When one member dominates
        topics: [monologue, interrupting, airtime]
        ---
        # When one member dominates

        ## Interrupting a monologue kindly
        When a member talks over others or keeps the floor for a long time, thank them, name the time
        and open the floor: "Thanks, Sam. Let's hear from someone who hasn't spoken yet."

        ## Talking privately afterwards
        If the pattern continues, speak with the member one to one after the meeting.
        """,
    "relapse.md": """\
        ---
        id: relapse
        title: Responding to a relapse disclosure
        topics: [relapse, using again, shame]
        ---
        # Responding to a relapse disclosure

        ## Thanking them for honesty
        When someone says they used again, thank them for telling the group, keep a warm tone and do
        not lecture. Shame keeps people away; honesty deserves respect.

        ## Checking safety
        Ask privately about immediate safety and overdose risk after a break from use.
        """,
    "ground-rules.md": """\
        ---
        id: ground-rules
        title: Setting ground rules together
        topics: [agreements, confidentiality]
        ---
        # Setting ground rules together

        ## Agreeing the rules as a group
        At the first meeting invite members to propose agreements: one voice at a time, what is said
        here stays here, the right to pass.

        ## Limits of confidentiality
        Explain that confidentiality has limits: a risk of serious harm to self or others must be
        shared with the people who can help.
        """,
}


def write_corpus(root: Path, files: dict[str, str] | None = None) -> Path:
    """Write `files` (default: SMALL_CORPUS) into root/guide_corpus and return that folder."""
    corpus = root / "guide_corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, text in (SMALL_CORPUS if files is None else files).items():
        (corpus / name).write_text(dedent(text), encoding="utf-8")
    return corpus


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh HOLDSPACE_DATA_DIR; never the checkout's data/ folder."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("HOLDSPACE_DATA_DIR", str(path))
    monkeypatch.delenv("HOLDSPACE_CHROMA_URL", raising=False)
    monkeypatch.delenv("HOLDSPACE_CONTENT_DIR", raising=False)
    reset_settings_cache()
    reset_retriever()
    yield path
    reset_settings_cache()
    reset_retriever()


@pytest.fixture
def small_corpus(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose content_dir holds the three-document SMALL_CORPUS."""
    content = tmp_path / "content"
    write_corpus(content)
    monkeypatch.setenv("HOLDSPACE_CONTENT_DIR", str(content))
    reset_settings_cache()
    reset_retriever()
    return get_settings()


@pytest.fixture
def make_corpus() -> Callable[..., Path]:
    """The `write_corpus` helper, as a fixture so test modules need not import conftest."""
    return write_corpus
