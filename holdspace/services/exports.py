"""Export a scored transcript as Markdown, PDF or JSON, for a trainee's own records or a supervisor.

Trainee and model text is escaped in Markdown (it is never markup), and the PDF uses DejaVu Sans (Debian's
fonts-dejavu-core) when present so any language prints; without it, the PDF falls back to a core font and
replaces what that font cannot show.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from holdspace.services.reports import Report, dimension_title, interrupt_cue, profile_text

DEJAVU_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&=])")


def escape_markdown(text: str) -> str:
    """Backslash-escape every Markdown-significant character, so text shows exactly as written."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _annotations(record: dict[str, Any]) -> list[tuple[str, str]]:
    """What an export shows under a facilitator reply, as (label, plain text); each format escapes its own."""
    rows: list[tuple[str, str]] = []
    if record.get("moves"):
        rows.append(("Moves", _moves_text(record)))
    if _scores_text(record):
        rows.append(("Scores", _scores_text(record)))
    if record.get("feedback"):
        rows.append(("Feedback", str(record["feedback"])))
    if record.get("alternative"):
        rows.append(("A better alternative", str(record["alternative"])))
    for citation in record.get("citations") or []:
        rows.append(("Guide", _citation_text(citation)))
    return rows


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _speaker(record: dict[str, Any]) -> str:
    role = record.get("role")
    if role == "facilitator":
        return "You (facilitator)"
    if role == "system":
        return "Session"
    return str(record.get("speaker", ""))


def _heading(report: Report, index: int) -> str:
    """ "Turn 2 · Marcus (talks over Dana)": who spoke, and how when it matters."""
    records = report.transcript.records
    record = records[index]
    cue = interrupt_cue(records, index, bool(report.scenario and report.scenario.crosstalk))
    return f"Turn {record.get('turn', 0)} · {_speaker(record)}" + (f" ({cue})" if cue else "")


def _moves_text(record: dict[str, Any]) -> str:
    parts = []
    for move in record.get("moves") or []:
        label = str(move.get("label", "")).replace("_", " ")
        if move.get("depth"):
            label += f" ({move['depth']})"
        parts.append(f"{label} {float(move.get('confidence', 0)):.2f}")
    return ", ".join(parts)


def _scores_text(record: dict[str, Any]) -> str:
    scores = record.get("scores") or {}
    return ", ".join(f"{dimension_title(d)} {v}" for d, v in scores.items() if v is not None)


def _citation_text(citation: dict[str, Any]) -> str:
    where = " › ".join(x for x in (citation.get("title"), citation.get("section")) if x)
    excerpt = citation.get("excerpt") or citation.get("text") or ""
    return f"{where}: {excerpt}" if excerpt else where


# ------------------------------------------------------------------------------------------ JSON
def to_json(report: Report) -> bytes:
    info = report.info
    notes = []
    for entry in report.transcript.entries:
        for note in entry.notes:
            notes.append(
                {
                    "index": entry.idx,
                    "turn": entry.record.get("turn"),
                    "text": note.text,
                    "created_at": note.created_at.isoformat(),
                }
            )
    document = {
        "format": "holdspace-session",
        "version": 1,
        "session": {
            "id": info.id,
            "user": info.username,
            "scenario": info.scenario_id,
            "title": info.scenario_title,
            "seed": info.seed,
            "backend": info.backend,
            "status": info.status,
            "started_at": info.started_at.isoformat(),
            "ended_at": info.ended_at.isoformat() if info.ended_at else None,
            "turns": info.turns_taken,
            "overall": info.overall,
        },
        "transcript": [*report.transcript.records, report.summary],
        "notes": notes,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------------------ Markdown
def to_markdown(report: Report) -> str:
    info = report.info
    esc = escape_markdown
    out = [f"# {esc(info.scenario_title)}", ""]
    out += [
        f"- Trainee: {esc(info.username)}",
        f"- Started: {_when(info.started_at)}",
        f"- Status: {info.status.replace('_', ' ')}",
        f"- Facilitator turns: {info.turns_taken}",
        f"- Overall: {info.overall:.2f}" if info.overall is not None else "- Overall: not scored",
        "",
    ]
    if report.dimension_scores:
        out += ["## Rubric scores", "", "| Dimension | Mean (1-5) |", "|---|---|"]
        out += [f"| {esc(dimension_title(d))} | {v:.2f} |" for d, v in report.dimension_scores.items()]
        out.append("")
    if report.objectives:
        out += ["## Objectives", ""]
        for o in report.objectives:
            box = "x" if o.met else " "
            suffix = "" if o.met is not None else " (not assessed yet)"
            out.append(f"- [{box}] {esc(o.description)}{suffix}")
        out.append("")
    review = report.review
    for title, items in (
        ("Strengths", review.strengths),
        ("Growth areas", review.growth_areas),
        ("Key moments", review.key_moments),
    ):
        if items:
            out += [f"## {title}", ""]
            for item in items:
                prefix = f"Turn {item.turn}: " if item.turn is not None else ""
                out.append(f"- {prefix}{esc(item.text)}")
                if item.citation:
                    out.append(f"  - Guide: {esc(_citation_text(item.citation))}")
            out.append("")
    if profile_text(review.profile):
        out += [esc(profile_text(review.profile)), ""]
    out += ["## Transcript", ""]
    for index, entry in enumerate(report.transcript.entries):
        record = entry.record
        out.append(f"**{esc(_heading(report, index))}**")
        out.append("")
        for line in str(record.get("text", "")).splitlines() or [""]:
            out.append(f"> {esc(line)}")
        out.append("")
        if record.get("role") == "facilitator":
            out.extend(f"- {label}: {esc(value)}" for label, value in _annotations(record))
        for note in entry.notes:
            out.append(f"- Note ({_when(note.created_at)}): {esc(note.text)}")
        if out[-1] != "":
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------------------------------ PDF
def dejavu_fonts() -> tuple[Path, Path] | None:
    for folder in DEJAVU_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


def to_pdf(report: Report) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(f"holdspace: {report.info.scenario_title}")
    pdf.set_creator("holdspace")
    fonts = dejavu_fonts()
    if fonts is not None:
        pdf.add_font("DejaVu", "", str(fonts[0]))
        pdf.add_font("DejaVu", "B", str(fonts[1]))
        family = "DejaVu"
    else:
        family = "Helvetica"
    pdf.add_page()

    def safe(text: str) -> str:
        text = text.replace("\t", "    ")
        if fonts is None:
            text = text.replace("›", ">").replace("·", "-").replace("—", "-").replace("–", "-")
            text = text.replace("‘", "'").replace("’", "'").replace("“", '"').replace("”", '"').replace("…", "...")
            return text.encode("latin-1", "replace").decode("latin-1")
        cmap = getattr(pdf.current_font, "cmap", None) or {}
        return "".join(c if c == "\n" or ord(c) in cmap else "?" for c in text) if cmap else text

    def write(text: str, size: float = 10, bold: bool = False, gap: float = 1.5) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        pdf.multi_cell(0, size * 0.5, safe(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    info = report.info
    write(info.scenario_title, 16, bold=True, gap=2)
    overall = f"{info.overall:.2f}" if info.overall is not None else "not scored"
    write(
        f"Trainee: {info.username}    Started: {_when(info.started_at)}    Status: "
        f"{info.status.replace('_', ' ')}    Turns: {info.turns_taken}    Overall: {overall}",
        9,
        gap=3,
    )
    if report.dimension_scores:
        write("Rubric scores", 13, bold=True)
        for dim, value in report.dimension_scores.items():
            write(f"{dimension_title(dim)}: {value:.2f}", 10, gap=0.5)
        pdf.ln(2)
    if report.objectives:
        write("Objectives", 13, bold=True)
        for o in report.objectives:
            mark = "met" if o.met else ("not met" if o.met is not None else "not assessed yet")
            write(f"[{mark}] {o.description}", 10, gap=0.5)
        pdf.ln(2)
    review = report.review
    for title, items in (
        ("Strengths", review.strengths),
        ("Growth areas", review.growth_areas),
        ("Key moments", review.key_moments),
    ):
        if items:
            write(title, 13, bold=True)
            for item in items:
                prefix = f"Turn {item.turn}: " if item.turn is not None else ""
                write(f"- {prefix}{item.text}", 10, gap=0.5)
            pdf.ln(2)
    write("Transcript", 13, bold=True)
    for index, entry in enumerate(report.transcript.entries):
        record = entry.record
        write(_heading(report, index), 10, bold=True, gap=0.5)
        write(str(record.get("text", "")), 10, gap=1)
        if record.get("role") == "facilitator":
            for label, value in _annotations(record):
                write(f"{label}: {value}", 8.5, gap=0.3)
        for note in entry.notes:
            write(f"Note: {note.text}", 8.5, gap=0.3)
        pdf.ln(2)
    return bytes(pdf.output())


def export_name(report: Report, extension: str) -> str:
    stamp = report.info.started_at.strftime("%Y%m%d-%H%M")
    return f"holdspace-{report.info.scenario_id}-{stamp}-{report.info.id}.{extension}"
