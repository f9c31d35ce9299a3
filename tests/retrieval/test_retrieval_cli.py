"""`holdspace retrieve`, `holdspace ingest` and `holdspace eval retrieval` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from holdspace.cli import app
from holdspace.retrieval import load_corpus, reset_retriever
from holdspace.settings import Settings

runner = CliRunner()


def _pdf(path: Path, pages: list[str | None], title: str | None = None) -> Path:
    """A PDF with one page per entry; None makes a page with a drawing but no text (like a scan)."""
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.rect(20, 20, 100, 60, style="F")
        else:
            pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def test_retrieve_json_contract(small_corpus: Settings) -> None:
    result = runner.invoke(app, ["retrieve", "a member keeps interrupting others", "--k", "2", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert len(records) == 2
    for record in records:
        assert list(record) == ["source", "section", "text", "score"]
        assert isinstance(record["score"], float)
    assert records[0]["source"] == "dominating-members"
    assert records[0]["section"] == "Interrupting a monologue kindly"
    assert "Indexing the guide" in result.stderr  # first use builds the index, and says so

    reset_retriever()  # as a new process would
    again = runner.invoke(app, ["retrieve", "a member keeps interrupting others", "--k", "2", "--json"])
    assert json.loads(again.stdout) == records
    assert "Indexing" not in again.stderr


def test_retrieve_plain_output_is_ranked(small_corpus: Settings) -> None:
    result = runner.invoke(app, ["retrieve", "limits of confidentiality", "-k", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1. Setting ground rules together — Limits of confidentiality")
    assert "[ground-rules, score" in result.stdout


def test_retrieve_reports_a_bad_corpus_file(small_corpus: Settings) -> None:
    bad = small_corpus.content_dir / "guide_corpus" / "broken.md"
    bad.write_text("---\nid: broken\ntitle: Broken\n---\n# Broken\ntext\n")
    result = runner.invoke(app, ["retrieve", "anything"])
    assert result.exit_code == 1
    assert f"{bad}:1: front matter is missing 'topics'" in result.output


def test_ingest_markdown_text_and_pdf(small_corpus: Settings, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "co-facilitation.md").write_text(
        "# Working with a co-facilitator\n\n## Dividing the roles\nAgree beforehand who watches the clock "
        "and who tracks the quieter members.\n"
    )
    (src / "breathing_exercise.txt").write_text("Slow breathing for four counts calms a tense room.\n")
    _pdf(
        src / "Trainer Handbook.pdf",
        ["Welcome to the handbook.", "Debriefing after a hard session: meet your co-lead for ten minutes."],
    )
    result = runner.invoke(app, ["ingest", *(str(p) for p in sorted(src.iterdir()))])
    assert result.exit_code == 0, result.output
    assert 'added co-facilitation: "Working with a co-facilitator"' in result.stdout
    assert 'added trainer-handbook: "Trainer Handbook"' in result.stdout

    ingested = small_corpus.data_dir / "ingested"
    assert sorted(p.name for p in ingested.iterdir()) == [
        "breathing-exercise.md",
        "co-facilitation.md",
        "trainer-handbook.md",
    ]
    chunks = load_corpus([ingested])
    sections = {(c.source, c.section) for c in chunks}
    assert ("co-facilitation", "Dividing the roles") in sections
    assert ("trainer-handbook", "Page 2") in sections
    assert ("breathing-exercise", "Breathing exercise") in sections

    found = json.loads(runner.invoke(app, ["retrieve", "debriefing with my co-lead", "--json"]).stdout)
    assert found[0]["source"] == "trainer-handbook" and found[0]["section"] == "Page 2"

    again = runner.invoke(app, ["ingest", str(src / "co-facilitation.md")])
    assert again.exit_code == 0 and again.stdout.startswith("replaced co-facilitation")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.md", b"", "the file is empty"),
        ("blank.txt", b"  \n\n ", "the file is empty"),
        ("notes.docx", b"PK\x03\x04 something", "unsupported file type '.docx'"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
        ("binary.txt", b"\x00\x01\x02 binary", "looks like a binary file"),
        ("bad-front.md", b"---\nid: x\ntitle: X\n---\n# X\ntext\n", "front matter is missing 'topics'"),
    ],
)
def test_ingest_errors_name_the_file(
    small_corpus: Settings, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(path) in lines[0] and message in lines[0]
    assert not (small_corpus.data_dir / "ingested").exists() or not any(
        (small_corpus.data_dir / "ingested").iterdir()
    )


def test_ingest_scanned_pdf_and_missing_file(small_corpus: Settings, tmp_path: Path) -> None:
    scanned = _pdf(tmp_path / "scan.pdf", [None, None])
    good = tmp_path / "good.txt"
    good.write_text("A usable note about check-ins.")
    missing = tmp_path / "missing.md"
    result = runner.invoke(app, ["ingest", str(scanned), str(good), str(missing)])
    assert result.exit_code == 1
    assert f"{scanned}: the PDF has no extractable text" in result.stderr
    assert f"{missing}: no such file" in result.stderr
    assert "added good" in result.stdout  # the usable file is still added
    names = sorted(p.name for p in (small_corpus.data_dir / "ingested").iterdir())
    assert names == ["good.md"]  # nothing half-written, no temp files left behind


def test_ingest_uses_pdf_title_and_never_invents_headings(small_corpus: Settings, tmp_path: Path) -> None:
    pdf = _pdf(tmp_path / "h1.pdf", ["Grounding exercises for anxious members."], title="Grounding Handbook")
    notes = tmp_path / "notes.txt"
    notes.write_text("# this hash line is not a heading\nSecond line.\n")
    result = runner.invoke(app, ["ingest", str(pdf), str(notes)])
    assert result.exit_code == 0, result.output
    chunks = load_corpus([small_corpus.data_dir / "ingested"])
    assert {(c.source, c.title, c.section) for c in chunks} == {
        ("h1", "Grounding Handbook", "Page 1"),
        ("notes", "Notes", "Notes"),
    }


def test_ingest_refuses_a_guide_id(small_corpus: Settings, tmp_path: Path) -> None:
    clash = tmp_path / "relapse.md"
    clash.write_text("# My relapse notes\n\ntext\n")
    result = runner.invoke(app, ["ingest", str(clash)])
    assert result.exit_code == 1
    assert "id 'relapse' is already used by the guide" in result.stderr


def test_eval_retrieval_reports_figures(small_corpus: Settings, tmp_path: Path) -> None:
    eval_file = tmp_path / "eval.yaml"
    eval_file.write_text(
        "questions:\n"
        "  - {query: 'a member keeps interrupting others', relevant: [dominating-members]}\n"
        "  - {query: 'someone used again last week', relevant: ['relapse#thanking-them']}\n"
        "  - {query: 'how do we bake bread', relevant: [no-such-doc]}\n"
    )
    report = tmp_path / "REPORT.md"
    result = runner.invoke(
        app, ["eval", "retrieval", "--json", "--eval-file", str(eval_file), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["mode"] == "hybrid" and figures["name"] == "hybrid (in use)" and figures["questions"] == 3
    assert figures["recall@3"] == pytest.approx(2 / 3, abs=1e-3)
    assert [m["query"] for m in figures["misses"]] == ["how do we bake bread"]
    assert {c["mode"] for c in figures["compare"]} == {"hybrid", "dense", "bm25"}
    assert len(figures["compare"]) >= 3
    text = report.read_text()
    assert "| hybrid (in use) |" in text and "how do we bake bread" in text

    plain = runner.invoke(app, ["eval", "retrieval", "--eval-file", str(eval_file), "--report", str(report)])
    assert (
        plain.exit_code == 0
        and "recall@3 0.667" in plain.stdout
        and "misses at 3 (hybrid (in use)): 1" in plain.stdout
    )
