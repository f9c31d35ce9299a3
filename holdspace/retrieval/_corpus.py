"""Loading the guide corpus: front matter validated by pydantic, bodies chunked by heading.

Chunks are the unit that is embedded, searched and cited, so each one carries its document id, title and
section heading. Errors name the file and line, like every other content error in holdspace.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from holdspace.settings import Settings, get_settings

#: Chunking parameters; they are part of the index's content hash, so changing them rebuilds the index.
MAX_CHUNK_CHARS = 900
CHUNK_OVERLAP = 120
CHUNKER_VERSION = f"md-h1h2h3/rc{MAX_CHUNK_CHARS}-{CHUNK_OVERLAP}/sentences/v2"

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class CorpusError(ValueError):
    """A corpus file that cannot be used; reads as `file:line: message`, like every content error."""

    def __init__(self, file: Path | str, line: int, message: str, more: list[tuple[int, str]] | None = None) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        #: further problems in the same file, so `holdspace validate` can report every one
        self.more = more or []
        super().__init__(f"{self.file}:{line}: {message}")


class GuideDocMeta(BaseModel):
    """The front matter every guide document starts with."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    topics: list[str]

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError("must be lowercase letters, digits and hyphens (e.g. 'ground-rules')")
        return value

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("topics")
    @classmethod
    def _topics_clean(cls, value: list[str]) -> list[str]:
        return [t.strip() for t in value if t and t.strip()]


@dataclass(frozen=True)
class GuideDoc:
    """One parsed Markdown document: its metadata, body and where it came from."""

    meta: GuideDocMeta
    body: str
    path: Path
    body_line: int  # 1-based line of the body's first line in the file


@dataclass(frozen=True)
class Chunk:
    """A searchable piece of one section, with the context needed to cite it."""

    chunk_id: str
    source: str  # document id
    title: str
    section: str
    text: str
    topics: tuple[str, ...] = field(default_factory=tuple)

    @property
    def embed_text(self) -> str:
        """What gets embedded: title, heading and topics give short sections enough context to match."""
        head = self.title if self.section == self.title else f"{self.title} — {self.section}"
        topics = f"\nTopics: {', '.join(self.topics)}." if self.topics else ""
        return f"{head}.{topics}\n{self.text}"

    @property
    def sentence_texts(self) -> list[str]:
        """The chunk's sentences, each prefixed with its heading, embedded as extra vectors.

        A trainee's question usually matches one sentence of a section ("says they used again") better
        than the whole section's average meaning; scoring a section by its best sentence as well as by
        its whole text measurably improves retrieval (see evaluation/RETRIEVAL_REPORT.md).
        """
        return [f"{self.section}: {s}" for s in split_sentences(self.text)]


_SENTENCE_END = re.compile(r"(?<=[.!?:])[\"')\u201d]?\s+(?=[\"'\u201c(]?[A-Z0-9])|\n+")
MIN_SENTENCE_CHARS = 20


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a passage; fragments too short to mean anything are merged forward."""
    plain = re.sub(r"\*\*|__|`", "", text)
    out: list[str] = []
    carry = ""
    for part in _SENTENCE_END.split(plain):
        part = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", part).strip()
        if not part:
            continue
        part = f"{carry} {part}".strip() if carry else part
        if len(part) < MIN_SENTENCE_CHARS:
            carry = part
            continue
        carry = ""
        out.append(part)
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def _key_line(front_lines: Sequence[str], key: str) -> int | None:
    """1-based offset within the front matter of the line that sets `key`, if any."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*:")
    for i, line in enumerate(front_lines, start=1):
        if pattern.match(line):
            return i
    return None


def parse_guide_text(text: str, path: Path) -> GuideDoc:
    """Parse `---` front matter and body; raises CorpusError naming `path:line`."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise CorpusError(path, 1, "missing front matter (the file must start with a '---' line)")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise CorpusError(path, 1, "front matter is not closed (no second '---' line)") from None
    front = lines[1:end]
    try:
        data = yaml.safe_load("\n".join(front)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise CorpusError(path, line, f"front matter is not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise CorpusError(path, 2, "front matter must be a mapping of id, title and topics")
    try:
        meta = GuideDocMeta.model_validate(data)
    except ValidationError as exc:
        found: list[tuple[int, str]] = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            key = loc[0] if loc else ""
            offset = _key_line(front, key) if key else None
            line = offset + 1 if offset else 1
            where = ".".join(loc) or "front matter"
            if err["type"] == "missing":
                msg = f"front matter is missing '{where}'"
            elif err["type"] == "extra_forbidden":
                msg = f"unknown front matter field '{where}' (allowed: id, title, topics)"
            else:
                msg = f"front matter '{where}': {err['msg']}"
            found.append((line, msg))
        raise CorpusError(path, found[0][0], found[0][1], found[1:]) from None
    body = "\n".join(lines[end + 1 :])
    if not body.strip():
        raise CorpusError(path, end + 1, "the document has no text after its front matter")
    return GuideDoc(meta=meta, body=body, path=path, body_line=end + 2)


def parse_guide_file(path: Path) -> GuideDoc:
    """Read and parse one Markdown guide document."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(path, 1, f"cannot read the file: {exc}") from None
    return parse_guide_text(text, path)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _clean(text: str) -> str:
    """Undo the splitter's line joining ('  \\n') and trim blank runs."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def chunk_document(doc: GuideDoc) -> list[Chunk]:
    """Split by `#`/`##`/`###` headings, then split any section too long for the embedder's window."""
    from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

    headers = [("#", "h1"), ("##", "h2"), ("###", "h3")]
    by_heading = MarkdownHeaderTextSplitter(headers, strip_headers=True).split_text(doc.body)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=MAX_CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP, separators=["\n\n", "\n", ". ", " ", ""]
    )
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for part in by_heading:
        text = _clean(part.page_content)
        if not text:
            continue
        h2, h3 = part.metadata.get("h2"), part.metadata.get("h3")
        section = f"{h2} › {h3}" if h2 and h3 else (h2 or h3 or doc.meta.title)
        pieces = [text] if len(text) <= MAX_CHUNK_CHARS else [_clean(p) for p in splitter.split_text(text)]
        base = f"{doc.meta.id}#{_slug(section)}"
        for piece in pieces:
            if not piece:
                continue
            n = seen.get(base, 0)
            seen[base] = n + 1
            chunks.append(
                Chunk(
                    chunk_id=f"{base}#{n}",
                    source=doc.meta.id,
                    title=doc.meta.title,
                    section=section,
                    text=piece,
                    topics=tuple(doc.meta.topics),
                )
            )
    return chunks


def corpus_dirs(settings: Settings | None = None) -> list[Path]:
    """The folders the corpus is read from: the shipped guide, then trainer-ingested documents."""
    settings = settings or get_settings()
    return [settings.content_dir / "guide_corpus", settings.data_dir / "ingested"]


def corpus_files(dirs: Iterable[Path]) -> list[Path]:
    """Markdown files of the corpus, in a stable order (the content hash depends on it)."""
    files: list[Path] = []
    for d in dirs:
        if d.is_dir():
            files.extend(sorted(p for p in d.glob("*.md") if p.is_file() and not p.name.startswith(".")))
    return files


def content_hash(files: Sequence[Path], embedder_id: str) -> str:
    """sha256 over every file's name and bytes, the embedder and the chunker: what the index depends on."""
    digest = hashlib.sha256()
    digest.update(f"embedder={embedder_id}\nchunker={CHUNKER_VERSION}\n".encode())
    for path in files:
        digest.update(f"{path.parent.name}/{path.name}\n".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _duplicate_id(doc: GuideDoc, first: Path) -> CorpusError:
    front = doc.path.read_text(encoding="utf-8").splitlines()[1 : doc.body_line - 2]
    line = (_key_line(front, "id") or 0) + 1
    return CorpusError(doc.path, line, f"id '{doc.meta.id}' is already used by {first}")


def load_corpus(dirs: Iterable[Path] | None = None) -> list[Chunk]:
    """Parse and chunk every document; raises CorpusError on a bad file or a duplicated id."""
    files = corpus_files(corpus_dirs() if dirs is None else dirs)
    chunks: list[Chunk] = []
    owner: dict[str, Path] = {}
    for path in files:
        doc = parse_guide_file(path)
        if doc.meta.id in owner:
            raise _duplicate_id(doc, owner[doc.meta.id])
        owner[doc.meta.id] = path
        chunks.extend(chunk_document(doc))
    return chunks


def validate_corpus(paths: Iterable[Path]) -> list[CorpusError]:
    """Every problem in the given guide files (duplicate ids too); each reads `file:line: message`."""
    problems: list[CorpusError] = []
    owner: dict[str, Path] = {}
    for path in paths:
        try:
            doc = parse_guide_file(path)
        except CorpusError as exc:
            problems.append(exc)
            continue
        if doc.meta.id in owner:
            problems.append(_duplicate_id(doc, owner[doc.meta.id]))
        owner.setdefault(doc.meta.id, path)
    return problems


def check_front_matter(path: Path) -> list[tuple[str, int, str]]:
    """(file, line, message) for each front matter problem of one guide file; [] when it is valid.

    This is the hook `holdspace validate` calls for every file in guide_corpus/.
    """
    try:
        parse_guide_file(path)
    except CorpusError as exc:
        return [(exc.file, exc.line, exc.message)] + [(exc.file, line, msg) for line, msg in exc.more]
    return []
