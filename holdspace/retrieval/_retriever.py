"""Hybrid search over the guide: dense cosine from chroma fused with BM25 keywords.

Dense retrieval finds paraphrases ("talks over everyone" ~ "dominating member"); BM25 rescues the exact
words trainees use ("relapse", "confidentiality", "Zoom"). Which mix to use was decided by measuring
recall@3 and MRR on evaluation/retrieval_eval.yaml; see evaluation/RETRIEVAL_REPORT.md.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from holdspace.embeddings import Embedder, get_embedder
from holdspace.retrieval._corpus import Chunk, content_hash, corpus_dirs, corpus_files, load_corpus
from holdspace.retrieval._index import make_client, open_collection
from holdspace.retrieval._passage import Passage
from holdspace.settings import Settings, get_settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from rank_bm25 import BM25Okapi

Mode = Literal["hybrid", "dense", "bm25"]

#: How many candidates each ranker contributes before fusion.
CANDIDATES = 30
#: Reciprocal rank fusion constant and weights (dense, bm25); chosen on the evaluation set.
RRF_K = 60
DENSE_WEIGHT = 1.0
BM25_WEIGHT = 1.0

_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves i'm it's don't what's how's i've we're they're let's""".split()
)
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _stem(word: str) -> str:
    """A deliberately small suffix stripper: enough to match 'interrupting', 'interrupts', 'interrupted'."""
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    elif word.endswith("ly") and len(word) > 5:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens without stopwords, lightly stemmed; shared by index and query."""
    words = _TOKEN_RE.findall(text.lower().replace("’", "'"))
    return [_stem(w.split("'")[0]) for w in words if w not in _STOPWORDS and len(w) > 1]


class Retriever:
    """Loads the corpus, opens (or builds) the chroma index and answers searches from memory.

    Loading is lazy and happens once; afterwards a search is one query embedding, one chroma query and
    one BM25 scoring pass over chunks held in memory.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        dirs: Sequence[Path] | None = None,
        client: ClientAPI | None = None,
        mode: Mode = "hybrid",
    ) -> None:
        self.settings = settings or get_settings()
        self.dirs = list(dirs) if dirs is not None else corpus_dirs(self.settings)
        self.mode: Mode = mode
        self._embedder = embedder
        self._client = client
        self._lock = threading.Lock()
        self._loaded = False
        self.chunks: list[Chunk] = []
        self.corpus_hash = ""
        #: True when loading this retriever (re)built the chroma collection rather than reusing it.
        self.built_index = False
        self._collection: Collection | None = None
        self._bm25: BM25Okapi | None = None
        self._position: dict[str, int] = {}

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def load(self) -> Retriever:
        """Open the index (building it if the corpus changed) and the in-memory BM25; idempotent."""
        if self._loaded:
            return self
        with self._lock:
            if self._loaded:
                return self
            from rank_bm25 import BM25Okapi

            files = corpus_files(self.dirs)
            chunks = load_corpus(self.dirs)
            corpus_hash = content_hash(files, self.embedder.model_id)
            client = self._client or make_client(self.settings)
            self._collection, self.built_index = open_collection(
                client,
                corpus_hash,
                self.embedder.model_id,
                chunks,
                self.embedder.encode,
                prune=not self.settings.chroma_url,
            )
            self._client = client
            self.chunks = chunks
            self.corpus_hash = corpus_hash
            self._position = {c.chunk_id: i for i, c in enumerate(chunks)}
            docs = [tokenize(f"{c.title} {c.section} {' '.join(c.topics)} {c.text}") for c in chunks]
            self._bm25 = BM25Okapi(docs) if chunks else None
            self._loaded = True
        return self

    # -- the two rankers ------------------------------------------------------------------------------

    def dense(self, query: str, n: int = CANDIDATES) -> list[tuple[int, float]]:
        """(chunk index, cosine similarity) best first, from chroma."""
        self.load()
        if not self.chunks or self._collection is None:
            return []
        vector = self.embedder.encode_one(query)
        result = self._collection.query(
            query_embeddings=[vector], n_results=min(n, len(self.chunks)), include=["distances"]
        )
        ids = result["ids"][0]
        distances = (result.get("distances") or [[1.0] * len(ids)])[0]
        return [(self._position[i], 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def keyword(self, query: str, n: int = CANDIDATES) -> list[tuple[int, float]]:
        """(chunk index, BM25 score) best first; chunks sharing no query term are left out."""
        self.load()
        terms = tokenize(query)
        if self._bm25 is None or not terms:
            return []
        scores = self._bm25.get_scores(terms)
        top = np.argsort(-scores)[:n]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    # -- search ---------------------------------------------------------------------------------------

    def ranked(self, query: str, n: int = 10, mode: Mode | None = None) -> list[tuple[int, float]]:
        """(chunk index, score) for the top `n` chunks under the given mode."""
        mode = mode or self.mode
        if mode == "dense":
            return self.dense(query, max(n, 1))[:n]
        if mode == "bm25":
            return self.keyword(query, max(n, 1))[:n]
        fused: dict[int, float] = {}
        for weight, ranking in (
            (DENSE_WEIGHT, self.dense(query)),
            (BM25_WEIGHT, self.keyword(query)),
        ):
            for rank, (idx, _score) in enumerate(ranking):
                fused[idx] = fused.get(idx, 0.0) + weight / (RRF_K + rank + 1)
        best = (DENSE_WEIGHT + BM25_WEIGHT) / (RRF_K + 1)  # a chunk first in both lists scores 1.0
        order = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:n]
        return [(idx, score / best) for idx, score in order]

    def search(self, query: str, k: int = 4, mode: Mode | None = None) -> list[Passage]:
        """The `k` passages of the guide that best answer `query`, best first."""
        if not query.strip() or k <= 0:
            return []
        passages = []
        for idx, score in self.ranked(query, k, mode):
            c = self.chunks[idx]
            passages.append(
                Passage(source=c.source, section=c.section, title=c.title, text=c.text, score=round(score, 4))
            )
        return passages

    def cite(self, query: str, k: int = 2) -> list[dict[str, str]]:
        """Citations for coaching: `{"source", "section", "title", "excerpt"}` for the top `k` passages."""
        return [p.citation() for p in self.search(query, k)]


_retrievers: dict[tuple[str, ...], Retriever] = {}
_retrievers_lock = threading.Lock()


def _key(settings: Settings) -> tuple[str, ...]:
    return (str(settings.data_dir), str(settings.content_dir), settings.chroma_url or "")


def get_retriever() -> Retriever:
    """The process-wide retriever for the current settings, loaded on first use."""
    settings = get_settings()
    key = _key(settings)
    with _retrievers_lock:
        retriever = _retrievers.get(key)
        if retriever is None:
            retriever = _retrievers[key] = Retriever(settings)
    return retriever.load()


def reset_retriever() -> None:
    """Forget loaded retrievers, e.g. after `ingest` changed the corpus or a test changed settings."""
    with _retrievers_lock:
        _retrievers.clear()
