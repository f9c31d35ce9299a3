"""Front matter validation (errors name file:line) and chunking by heading."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from holdspace.retrieval import (
    CorpusError,
    check_front_matter,
    chunk_document,
    load_corpus,
    parse_guide_text,
    validate_corpus,
)
from holdspace.retrieval._corpus import MAX_CHUNK_CHARS


def _error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "doc.md"
    path.write_text(dedent(text), encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        load_corpus([tmp_path])
    return str(info.value)


def test_missing_front_matter_names_file_and_line(tmp_path: Path) -> None:
    assert _error("# Title\n\ntext\n", tmp_path) == f"{tmp_path / 'doc.md'}:1: missing front matter " + (
        "(the file must start with a '---' line)"
    )


def test_unknown_field_names_its_line(tmp_path: Path) -> None:
    message = _error(
        """\
        ---
        id: doc
        title: A doc
        topics: [a]
        author: someone
        ---
        # A doc
        text
        """,
        tmp_path,
    )
    assert message.startswith(f"{tmp_path / 'doc.md'}:5: unknown front matter field 'author'")


def test_missing_field_and_wrong_type(tmp_path: Path) -> None:
    missing = _error("---\nid: doc\ntitle: A doc\n---\n# A doc\ntext\n", tmp_path)
    assert missing == f"{tmp_path / 'doc.md'}:1: front matter is missing 'topics'"
    wrong = _error("---\nid: doc\ntitle: A doc\ntopics: just one\n---\n# A doc\ntext\n", tmp_path)
    assert wrong.startswith(f"{tmp_path / 'doc.md'}:4: front matter 'topics':")


def test_bad_id_and_bad_yaml(tmp_path: Path) -> None:
    bad_id = _error("---\ntitle: A doc\nid: Not A Slug\ntopics: []\n---\n# A doc\ntext\n", tmp_path)
    assert bad_id.startswith(f"{tmp_path / 'doc.md'}:3: front matter 'id':")
    bad_yaml = _error("---\nid: doc\ntitle: [unclosed\ntopics: []\n---\n# A doc\ntext\n", tmp_path)
    assert bad_yaml.startswith(f"{tmp_path / 'doc.md'}:") and "not valid YAML" in bad_yaml


def test_unclosed_front_matter_and_empty_body(tmp_path: Path) -> None:
    assert "not closed" in _error("---\nid: doc\ntitle: T\ntopics: []\n# T\n", tmp_path)
    assert _error("---\nid: doc\ntitle: T\ntopics: []\n---\n\n", tmp_path).endswith(
        ":5: the document has no text after its front matter"
    )


def test_duplicate_ids_are_reported(tmp_path: Path, make_corpus: Callable[..., Path]) -> None:
    make_corpus(tmp_path, {"a.md": "---\nid: same\ntitle: A\ntopics: []\n---\n# A\ntext\n"})
    make_corpus(tmp_path, {"b.md": "---\ntitle: B\nid: same\ntopics: []\n---\n# B\ntext\n"})
    with pytest.raises(CorpusError, match=r"b\.md:3: id 'same' is already used by .*a\.md"):
        load_corpus([tmp_path / "guide_corpus"])
    problems = validate_corpus(sorted((tmp_path / "guide_corpus").glob("*.md")))
    assert len(problems) == 1 and "b.md:3:" in str(problems[0]) and problems[0].line == 3


def test_chunks_keep_doc_title_and_section(tmp_path: Path, make_corpus: Callable[..., Path]) -> None:
    chunks = load_corpus([make_corpus(tmp_path)])
    sections = {(c.source, c.section) for c in chunks}
    assert ("relapse", "Thanking them for honesty") in sections
    assert ("ground-rules", "Limits of confidentiality") in sections
    chunk = next(c for c in chunks if c.section == "Checking safety")
    assert chunk.title == "Responding to a relapse disclosure"
    assert chunk.embed_text.startswith("Responding to a relapse disclosure — Checking safety.")
    assert "relapse, using again, shame" in chunk.embed_text
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_long_sections_are_split_and_intro_text_is_kept() -> None:
    body = "# Title\n\nIntro before any section.\n\n## Long one\n\n" + "\n\n".join(
        f"Paragraph {i} " + "about group facilitation and listening " * 8 for i in range(12)
    )
    doc = parse_guide_text(f"---\nid: long\ntitle: Title\ntopics: []\n---\n{body}\n", Path("long.md"))
    chunks = chunk_document(doc)
    assert chunks[0].section == "Title" and chunks[0].text == "Intro before any section."
    long_parts = [c for c in chunks if c.section == "Long one"]
    assert len(long_parts) > 2
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in long_parts)
    assert "Paragraph 11" in long_parts[-1].text


def test_check_front_matter_hook_for_validate(tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text("---\nid: good\ntitle: Good\ntopics: [a]\n---\n# Good\ntext\n")
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: bad\ntitle: Bad\ntopics: [a]\nextra: 1\n---\n# Bad\ntext\n")
    assert check_front_matter(good) == []
    assert check_front_matter(bad) == [
        (str(bad), 5, "unknown front matter field 'extra' (allowed: id, title, topics)")
    ]


def test_shipped_guide_passes_validate() -> None:
    from typer.testing import CliRunner

    from holdspace.cli import app

    result = CliRunner().invoke(app, ["validate"])
    assert "guide_corpus" not in result.output, result.output
