"""Hybrid search over the guide: dense cosine from chroma fused with BM25 keywords.

Dense retrieval finds paraphrases ("talks over everyone" ~ "dominating member"); BM25 rescues the exact
words trainees use ("relapse", "confidentiality", "Zoom"). Which mix to use was decided by measuring
recall@3 and MRR on evaluation/retrieval_eval.yaml; see evaluation/RETRIEVAL_REPORT.md.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from holdspace.embeddings import Embedder, get_embedder
from holdspace.retrieval._corpus import Chunk, content_hash, corpus_dirs, corpus_files, load_corpus
from holdspace.retrieval._index import SENTENCE_SEP, entries_for, make_client, open_collection, parent_of
from holdspace.retrieval._passage import Passage
from holdspace.settings import Settings, get_settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from rank_bm25 import BM25Okapi

Mode = Literal["hybrid", "dense", "bm25"]

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


@dataclass(frozen=True)
class SearchConfig:
    """How the rankers are combined; the defaults were chosen on evaluation/retrieval_eval.yaml.

    - `chunk_weight`: dense score = w * cos(query, whole chunk) + (1 - w) * max cos(query, its sentences).
    - `rrf_k`, `bm25_weight`: reciprocal rank fusion of the dense and BM25 rankings; a small k trusts the
      top of each list, and BM25 gets half a vote because its misses are more often unrelated chunks.
    - `repeat_discount`: a document's second passage has its score multiplied by this (its third by the
      square, ...), so the first few citations cover distinct parts of the guide unless one document is
      far ahead; 1.0 turns it off.
    """

    chunk_weight: float = 0.5
    rrf_k: int = 5
    bm25_weight: float = 0.5
    repeat_discount: float = 0.5
    max_dense_results: int = 3000


class Retriever:
    """Loads the corpus, opens (or builds) the chroma index and answers searches from memory.

    Loading is lazy and happens once; afterwards a search is one query embedding, one chroma query
    (chunk and sentence vectors) and one BM25 pass over chunks held in memory.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        dirs: Sequence[Path] | None = None,
        client: ClientAPI | None = None,
        mode: Mode = "hybrid",
        config: SearchConfig | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.dirs = list(dirs) if dirs is not None else corpus_dirs(self.settings)
        self.mode: Mode = mode
        self.config = config or SearchConfig()
        self._embedder = embedder
        self._client = client
        self._lock = threading.Lock()
        self._loaded = False
        self.chunks: list[Chunk] = []
        self.corpus_hash = ""
        #: True when loading this retriever (re)built the chroma collection rather than reusing it.
        self.built_index = False
        self._collection: Collection | None = None
        self._n_sentences = 0
        self._bm25: BM25Okapi | None = None
        self._position: dict[str, int] = {}

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def load(self, on_build: Callable[[int], None] | None = None) -> Retriever:
        """Open the index (building it if the corpus changed) and the in-memory BM25; idempotent.

        `on_build(n)` is called before `n` texts are embedded, so a command can say why it is slow.
        """
        if self._loaded:
            return self
        with self._lock:
            if self._loaded:
                return self
            from rank_bm25 import BM25Okapi

            files = corpus_files(self.dirs)
            chunks = load_corpus(self.dirs)
            corpus_hash = content_hash(files, self.embedder.model_id)
            entries = entries_for(chunks)
            client = self._client or make_client(self.settings)
            self._collection, self.built_index = open_collection(
                client,
                corpus_hash,
                self.embedder.model_id,
                entries,
                self.embedder.encode,
                prune=not self.settings.chroma_url,
                on_build=on_build,
            )
            self._client = client
            self.chunks = chunks
            self.corpus_hash = corpus_hash
            self._n_sentences = sum(1 for e in entries if e.kind == "sentence")
            self._position = {c.chunk_id: i for i, c in enumerate(chunks)}
            docs = [tokenize(f"{c.title} {c.section} {' '.join(c.topics)} {c.text}") for c in chunks]
            self._bm25 = BM25Okapi(docs) if chunks else None
            self._loaded = True
        return self

    # -- the two rankers: full score arrays over all chunks ----------------------------------------------

    def dense_scores(self, query: str, config: SearchConfig | None = None) -> np.ndarray:
        """Per chunk: weighted cosine of the whole chunk and of its best sentence, from one chroma query.

        Chunks (or sentences) beyond the results returned get the lowest similarity seen, which only
        matters once the corpus holds more vectors than `max_dense_results`.
        """
        self.load()
        n = len(self.chunks)
        if not n or self._collection is None:
            return np.zeros(0, dtype=np.float32)
        cfg = config or self.config
        vector = self.embedder.encode_one(query)
        result = self._collection.query(
            query_embeddings=[vector],
            n_results=min(n + self._n_sentences, cfg.max_dense_results),
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = (result.get("distances") or [[1.0] * len(ids)])[0]
        whole = np.full(n, np.nan, dtype=np.float32)
        best = np.full(n, np.nan, dtype=np.float32)
        for entry_id, distance in zip(ids, distances, strict=True):
            sentence = SENTENCE_SEP in entry_id
            pos = self._position.get(parent_of(entry_id) if sentence else entry_id)
            if pos is None:
                continue
            target = best if sentence else whole
            sim = 1.0 - float(distance)
            if np.isnan(target[pos]) or target[pos] < sim:
                target[pos] = sim
        whole = _fill(whole)
        if not self._n_sentences:
            return whole
        return cfg.chunk_weight * whole + (1.0 - cfg.chunk_weight) * _fill(best)

    def keyword_scores(self, query: str) -> np.ndarray:
        """Per chunk BM25 score (0 when the chunk shares no query term)."""
        self.load()
        terms = tokenize(query)
        if self._bm25 is None or not terms:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    # -- search ---------------------------------------------------------------------------------------

    def ranked(
        self, query: str, n: int = 10, mode: Mode | None = None, config: SearchConfig | None = None
    ) -> list[tuple[int, float]]:
        """(chunk index, score) for the top `n` chunks under the given mode (and config, for evaluation)."""
        self.load()
        if not self.chunks:
            return []
        mode = mode or self.mode
        cfg = config or self.config
        if mode == "dense":
            scores = self.dense_scores(query, cfg)
        elif mode == "bm25":
            scores = self.keyword_scores(query)
            if not scores.any():
                return []
        else:
            dense = self.dense_scores(query, cfg)
            keyword = self.keyword_scores(query)
            scores = 1.0 / (cfg.rrf_k + 1 + _ranks(dense))
            scores += np.where(keyword > 0, cfg.bm25_weight / (cfg.rrf_k + 1 + _ranks(keyword)), 0.0)
            scores /= (1.0 + cfg.bm25_weight) / (cfg.rrf_k + 1)  # first in both lists scores 1.0
        order = [int(i) for i in np.argsort(-scores, kind="stable")]
        if mode == "bm25":
            order = [i for i in order if scores[i] > 0]
        if cfg.repeat_discount < 1.0:
            return _diversified(order, scores, self.chunks, n, cfg.repeat_discount)
        return [(i, float(scores[i])) for i in order[:n]]

    def search(
        self, query: str, k: int = 4, mode: Mode | None = None, config: SearchConfig | None = None
    ) -> list[Passage]:
        """The `k` passages of the guide that best answer `query`, best first."""
        if not query.strip() or k <= 0:
            return []
        passages = []
        for idx, score in self.ranked(query, k, mode, config):
            c = self.chunks[idx]
            passages.append(
                Passage(source=c.source, section=c.section, title=c.title, text=c.text, score=round(score, 4))
            )
        return passages

    def cite(self, query: str, k: int = 2) -> list[dict[str, str]]:
        """Citations for coaching: `{"source", "section", "title", "excerpt"}` for the top `k` passages."""
        return [p.citation() for p in self.search(query, k)]


def _fill(sims: np.ndarray) -> np.ndarray:
    """Replace missing similarities with the lowest one present (0 if none)."""
    present = ~np.isnan(sims)
    floor = float(sims[present].min()) if present.any() else 0.0
    return np.where(present, sims, floor).astype(np.float32)


def _ranks(scores: np.ndarray) -> np.ndarray:
    """0-based rank of each score, best first."""
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores), dtype=np.float32)
    return ranks


def _diversified(
    order: list[int], scores: np.ndarray, chunks: Sequence[Chunk], n: int, discount: float
) -> list[tuple[int, float]]:
    """Greedy top-n where each further chunk of an already chosen document has its score multiplied by
    `discount` per chunk already taken; scores stay in descending order."""
    pool = order[: max(n * 8, 50)]
    rank = {i: r for r, i in enumerate(pool)}
    taken: dict[str, int] = {}
    chosen: list[tuple[int, float]] = []
    while pool and len(chosen) < n:
        best = max(pool, key=lambda i: (scores[i] * discount ** taken.get(chunks[i].source, 0), -rank[i]))
        pool.remove(best)
        source = chunks[best].source
        chosen.append((best, float(scores[best] * discount ** taken.get(source, 0))))
        taken[source] = taken.get(source, 0) + 1
    return chosen


_retrievers: dict[tuple[str, ...], Retriever] = {}
_retrievers_lock = threading.Lock()


def _key(settings: Settings) -> tuple[str, ...]:
    return (str(settings.data_dir), str(settings.content_dir), settings.chroma_url or "")


def get_retriever(on_build: Callable[[int], None] | None = None) -> Retriever:
    """The process-wide retriever for the current settings, loaded on first use (see `Retriever.load`)."""
    settings = get_settings()
    key = _key(settings)
    with _retrievers_lock:
        retriever = _retrievers.get(key)
        if retriever is None:
            retriever = _retrievers[key] = Retriever(settings)
    return retriever.load(on_build)


def reset_retriever() -> None:
    """Forget loaded retrievers, e.g. after `ingest` changed the corpus or a test changed settings."""
    with _retrievers_lock:
        _retrievers.clear()
