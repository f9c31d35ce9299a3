"""The chroma side of retrieval: which client, and building the collection only when the corpus changed.

Embeddings are always computed by holdspace's own embedder and passed to chroma explicitly; chroma's
default embedding function would download a model, so it is never attached to a collection.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
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


def _embed_sha(chunk: Chunk) -> str:
    return hashlib.sha256(chunk.embed_text.encode()).hexdigest()[:24]


def _names(client: ClientAPI) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]


def _vectors(
    client: ClientAPI, name: str, embedder_id: str, chunks: Sequence[Chunk], embed: Any
) -> np.ndarray:
    """Embeddings for every chunk, reusing those of an earlier corpus version for unchanged chunks.

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
    shas = [_embed_sha(c) for c in chunks]
    missing = [i for i, sha in enumerate(shas) if sha not in known]
    fresh: np.ndarray = embed([chunks[i].embed_text for i in missing]) if missing else np.zeros((0, 0))
    rows = [known.get(sha) for sha in shas]
    for j, i in enumerate(missing):
        rows[i] = fresh[j]
    return np.vstack(rows).astype(np.float32)


def is_complete(collection: Collection, corpus_hash: str, n_chunks: int) -> bool:
    """True when the collection holds exactly this corpus version and its build finished."""
    meta = collection.metadata or {}
    return (
        bool(meta.get("complete"))
        and meta.get("content_hash") == corpus_hash
        and (collection.count() == n_chunks)
    )


def open_collection(
    client: ClientAPI,
    corpus_hash: str,
    embedder_id: str,
    chunks: Sequence[Chunk],
    embed: Any,
    *,
    prune: bool,
) -> tuple[Collection, bool]:
    """Return the collection for this corpus version, building it if needed; (collection, built)."""
    name = collection_name(corpus_hash)
    collection = _existing(client, name)
    if collection is not None and is_complete(collection, corpus_hash, len(chunks)):
        return collection, False
    if collection is not None:  # a build that was interrupted: start it again
        client.delete_collection(name)
    metadata = {
        "content_hash": corpus_hash,
        "embedder": embedder_id,
        "chunks": len(chunks),
        "complete": False,
    }
    collection = client.create_collection(
        name,
        metadata=metadata,
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
    )
    if chunks:
        vectors = _vectors(client, name, embedder_id, chunks, embed)
        batch = max(1, min(len(chunks), client.get_max_batch_size()))
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[start : start + batch],
                documents=[c.text for c in part],
                metadatas=[
                    {"source": c.source, "title": c.title, "section": c.section, "embed_sha": _embed_sha(c)}
                    for c in part
                ],
            )
    collection.modify(metadata={**metadata, "complete": True})
    if prune:
        for other_name in _names(client):
            if other_name.startswith(COLLECTION_PREFIX) and other_name != name:
                client.delete_collection(other_name)
    log.info("built guide index %s: %d chunks", name, len(chunks))
    return collection, True
