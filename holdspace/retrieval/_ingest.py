"""Adding a trainer's own documents (Markdown, plain text, PDF) to the corpus.

Each file is converted to a Markdown guide document with front matter and written atomically into
`data_dir/ingested/`, so a failed or interrupted ingest never leaves a half-written document behind.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from holdspace.retrieval._corpus import CorpusError, GuideDocMeta, corpus_files, parse_guide_text
from holdspace.settings import Settings, get_settings

SUPPORTED = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".pdf": "pdf"}


class IngestError(ValueError):
    """A file that cannot be added; the message names the file and says why in one line."""


@dataclass(frozen=True)
class IngestResult:
    """One document that was added (or replaced) in the corpus."""

    source: Path
    target: Path
    doc_id: str
    title: str
    replaced: bool


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80].strip("-")


def _title_from_name(path: Path) -> str:
    words = re.sub(r"[_\-.]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.stem


def _decode(path: Path, raw: bytes) -> str:
    if b"\0" in raw[:4096]:
        raise IngestError(f"{path}: looks like a binary file, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError(f"{path}: cannot decode the text (save it as UTF-8)")


def _pdf_pages(path: Path) -> tuple[list[str], str | None]:
    """Text of each page and the document's own title, if its metadata has one."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"{path}: the PDF is password-protected")
        pages = [(page.extract_text() or "") for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or None
    except IngestError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise IngestError(f"{path}: not a readable PDF ({exc.__class__.__name__}: {exc})") from None
    if not pages:
        raise IngestError(f"{path}: the PDF has no pages")
    if not any(p.strip() for p in pages):
        raise IngestError(f"{path}: the PDF has no extractable text (scanned pages? run OCR on it first)")
    return pages, (str(meta_title).strip() or None) if meta_title else None


def _first_heading(body: str) -> str | None:
    for line in body.splitlines():
        match = re.match(r"^#\s+(.+?)\s*#*\s*$", line)
        if match:
            return match.group(1).strip()
    return None


def _normalise_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.split("\n"))).strip()


def convert(path: Path) -> tuple[GuideDocMeta, str]:
    """Read one file and return its metadata and Markdown body (with a `# Title` line)."""
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        allowed = ", ".join(sorted(SUPPORTED))
        raise IngestError(f"{path}: unsupported file type '{path.suffix or '(none)'}' (use {allowed})")
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not raw.strip():
        raise IngestError(f"{path}: the file is empty")

    name_title = _title_from_name(path)
    if kind == "pdf":
        pages, meta_title = _pdf_pages(path)
        title = meta_title or name_title
        sections = [
            f"## Page {n}\n\n{_no_headings(_normalise_text(text))}"
            for n, text in enumerate(pages, start=1)
            if text.strip()
        ]
        body = f"# {title}\n\n" + "\n\n".join(sections)
        return GuideDocMeta(id=_slug(path.stem) or "document", title=title, topics=[]), body

    text = _normalise_text(_decode(path, raw))
    if not text:
        raise IngestError(f"{path}: the file is empty")
    if kind == "markdown" and text.startswith("---"):
        try:
            doc = parse_guide_text(text, path)
        except CorpusError as exc:
            raise IngestError(str(exc)) from None
        body = doc.body.strip()
        if not _first_heading(body):
            body = f"# {doc.meta.title}\n\n{body}"
        return doc.meta, body
    if kind == "markdown":
        title = _first_heading(text) or name_title
        body = text if _first_heading(text) else f"# {title}\n\n{text}"
    else:
        title = name_title
        body = f"# {title}\n\n" + _no_headings(text)
    return GuideDocMeta(id=_slug(path.stem) or "document", title=title, topics=[]), body


def _no_headings(text: str) -> str:
    """Plain and PDF text has no headings; a line that happens to start with '#' must not become one."""
    return re.sub(r"(?m)^(\s*)(#+)", r"\1\\\2", text)


def _render(meta: GuideDocMeta, body: str) -> str:
    front = yaml.safe_dump(meta.model_dump(), sort_keys=False, allow_unicode=True, width=1000).strip()
    return f"---\n{front}\n---\n{body.strip()}\n"


def _atomic_write(target: Path, content: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _shipped_ids(settings: Settings) -> dict[str, Path]:
    """Ids of the shipped guide's documents, which an ingested document may not take."""
    ids: dict[str, Path] = {}
    for f in corpus_files([settings.content_dir / "guide_corpus"]):
        try:
            data = yaml.safe_load(f.read_text(encoding="utf-8").split("---", 2)[1]) or {}
            ids[str(data.get("id", f.stem))] = f
        except (OSError, UnicodeDecodeError, IndexError, yaml.YAMLError, AttributeError):
            ids[f.stem] = f
    return ids


def _prepare(path: Path, settings: Settings, shipped: dict[str, Path]) -> tuple[GuideDocMeta, Path, str]:
    meta, body = convert(path)
    if meta.id in shipped:
        raise IngestError(
            f"{path}: its id '{meta.id}' is already used by the guide ({shipped[meta.id]}); rename the file"
        )
    content = _render(meta, body)
    target = settings.data_dir / "ingested" / f"{meta.id}.md"
    parse_guide_text(content, target)  # what we write must load back
    return meta, target, content


def ingest_paths(
    paths: list[Path], settings: Settings | None = None
) -> tuple[list[IngestResult], list[IngestError]]:
    """Add every file that can be used and report the rest; the retriever reloads on its next use.

    A file that fails is not written at all, and each written file appears atomically; re-ingesting a
    file with the same name replaces the earlier copy.
    """
    from holdspace.retrieval._retriever import reset_retriever

    settings = settings or get_settings()
    shipped = _shipped_ids(settings)
    done: list[IngestResult] = []
    failed: list[IngestError] = []
    claimed: dict[str, Path] = {}
    for path in paths:
        try:
            meta, target, content = _prepare(path, settings, shipped)
            if meta.id in claimed:
                raise IngestError(
                    f"{path}: gives the same document id '{meta.id}' as {claimed[meta.id]}; rename one"
                )
            replaced = target.exists()
            _atomic_write(target, content)
        except IngestError as exc:
            failed.append(exc)
            continue
        except OSError as exc:
            failed.append(IngestError(f"{path}: cannot write it to the corpus ({exc.strerror or exc})"))
            continue
        claimed[meta.id] = path
        done.append(IngestResult(path, target, meta.id, meta.title, replaced))
    if done:
        reset_retriever()
    return done, failed
