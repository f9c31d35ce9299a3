"""The chroma side of retrieval: which client, and building the collection only when the corpus changed.

Embeddings are always computed by holdspace's own embedder and passed to chroma explicitly; chroma's
default embedding function would download a model, so it is never attached to a collection.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from holdspace.retrieval._corpus import Chunk
from holdspace.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "holdspace-guide-"


def make_client(settings: Settings) -> ClientAPI:
    """A Chroma server client when `chroma_url` is set (shared corpus), else an embedded on-disk one."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(
            settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}"
        )
        ssl = url.scheme == "https"
        return chromadb.HttpClient(
            host=url.hostname or "localhost",
            port=url.port or (443 if ssl else 8000),
            ssl=ssl,
            settings=chroma_settings,
        )
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def collection_name(corpus_hash: str) -> str:
    """One collection per corpus version: instances on different versions never clobber each other."""
    return f"{COLLECTION_PREFIX}{corpus_hash[:24]}"


def _existing(client: ClientAPI, name: str) -> Collection | None:
    try:
        return client.get_collection(name, embedding_function=None)
    except Exception:  # chroma raises NotFoundError / ValueError / InvalidCollectionException by version
        return None


@dataclass(frozen=True)
class Entry:
    """One vector in the collection: a whole chunk, or one sentence of it (`kind`)."""

    entry_id: str
    kind: str  # "chunk" | "sentence"
    embed_text: str
    document: str
    metadata: dict[str, str]

    @property
    def embed_sha(self) -> str:
        return hashlib.sha256(self.embed_text.encode()).hexdigest()[:24]


SENTENCE_SEP = "~s"


def entries_for(chunks: Sequence[Chunk]) -> list[Entry]:
    """Every vector the index holds: one per chunk, then one per sentence (id `<chunk id>~s<n>`)."""
    entries: list[Entry] = []
    for c in chunks:
        meta = {"kind": "chunk", "source": c.source, "title": c.title, "section": c.section}
        entries.append(Entry(c.chunk_id, "chunk", c.embed_text, c.text, meta))
    for c in chunks:
        for n, sentence in enumerate(c.sentence_texts):
            meta = {"kind": "sentence", "source": c.source, "parent": c.chunk_id}
            entries.append(Entry(f"{c.chunk_id}{SENTENCE_SEP}{n}", "sentence", sentence, sentence, meta))
    return entries


def parent_of(entry_id: str) -> str:
    """The chunk id a sentence entry belongs to."""
    return entry_id.rsplit(SENTENCE_SEP, 1)[0]


def _names(client: ClientAPI) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]


def _vectors(
    client: ClientAPI,
    name: str,
    embedder_id: str,
    entries: Sequence[Entry],
    embed: Any,
    on_build: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Embeddings for every entry, reusing those of an earlier corpus version for unchanged texts.

    Adding one trainer document then embeds only that document, not the whole guide again.
    """
    known: dict[str, np.ndarray] = {}
    for other in _names(client):
        if not other.startswith(COLLECTION_PREFIX) or other == name:
            continue
        previous = _existing(client, other)
        if previous is None or (previous.metadata or {}).get("embedder") != embedder_id:
            continue
        got = previous.get(include=["embeddings", "metadatas"])
        vectors = got.get("embeddings")
        metas = got.get("metadatas") or []
        if vectors is None or len(vectors) != len(metas):
            continue
        for vector, meta in zip(vectors, metas, strict=True):
            if meta and meta.get("embed_sha"):
                known[str(meta["embed_sha"])] = np.asarray(vector, dtype=np.float32)
    shas = [e.embed_sha for e in entries]
    missing = [i for i, sha in enumerate(shas) if sha not in known]
    if on_build is not None and missing:
        on_build(len(missing))
    fresh: np.ndarray = embed([entries[i].embed_text for i in missing]) if missing else np.zeros((0, 0))
    rows = [known.get(sha) for sha in shas]
    for j, i in enumerate(missing):
        rows[i] = fresh[j]
    return np.vstack(rows).astype(np.float32)


def is_complete(collection: Collection, corpus_hash: str, n_entries: int) -> bool:
    """True when the collection holds exactly this corpus version and its build finished."""
    meta = collection.metadata or {}
    return (
        bool(meta.get("complete"))
        and meta.get("content_hash") == corpus_hash
        and collection.count() == n_entries
    )


def open_collection(
    client: ClientAPI,
    corpus_hash: str,
    embedder_id: str,
    entries: Sequence[Entry],
    embed: Any,
    *,
    prune: bool,
    on_build: Callable[[int], None] | None = None,
) -> tuple[Collection, bool]:
    """Return the collection for this corpus version, building it if needed; (collection, built)."""
    name = collection_name(corpus_hash)
    collection = _existing(client, name)
    if collection is not None and is_complete(collection, corpus_hash, len(entries)):
        return collection, False
    if collection is not None:  # a build that was interrupted: start it again
        client.delete_collection(name)
    metadata = {
        "content_hash": corpus_hash,
        "embedder": embedder_id,
        "entries": len(entries),
        "complete": False,
    }
    collection = client.create_collection(
        name,
        metadata=metadata,
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
    )
    if entries:
        vectors = _vectors(client, name, embedder_id, entries, embed, on_build)
        batch = max(1, min(len(entries), client.get_max_batch_size()))
        for start in range(0, len(entries), batch):
            part = entries[start : start + batch]
            collection.upsert(
                ids=[e.entry_id for e in part],
                embeddings=vectors[start : start + batch],
                documents=[e.document for e in part],
                metadatas=[{**e.metadata, "embed_sha": e.embed_sha} for e in part],
            )
    collection.modify(metadata={**metadata, "complete": True})
    if prune:
        for other_name in _names(client):
            if other_name.startswith(COLLECTION_PREFIX) and other_name != name:
                client.delete_collection(other_name)
    log.info("built guide index %s: %d vectors", name, len(entries))
    return collection, True
