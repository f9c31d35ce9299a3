"""The chroma index: built on first use, reused afterwards, rebuilt (incrementally) when the corpus changes.

Also the search behaviour on a small corpus written by the fixtures."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from holdspace.embeddings import get_embedder
from holdspace.retrieval import Passage, Retriever, get_retriever, reset_retriever
from holdspace.settings import Settings


def _guide(settings: Settings) -> Path:
    return settings.content_dir / "guide_corpus"


def test_index_is_built_once_and_reused(small_corpus: Settings) -> None:
    embedder = get_embedder()
    start = embedder.texts_encoded
    first = Retriever(small_corpus).load()
    assert first.built_index
    assert len(first.chunks) == 6
    # One vector per chunk and one per sentence.
    n_vectors = len(first.chunks) + sum(len(c.sentence_texts) for c in first.chunks)
    assert embedder.texts_encoded - start == n_vectors
    assert (small_corpus.chroma_path).is_dir()

    before = embedder.texts_encoded
    second = Retriever(small_corpus).load()  # as a new process would: same data dir, nothing changed
    assert not second.built_index
    assert embedder.texts_encoded == before
    assert second.corpus_hash == first.corpus_hash


def test_index_is_rebuilt_when_a_file_changes(small_corpus: Settings) -> None:
    embedder = get_embedder()
    first = Retriever(small_corpus).load()
    path = _guide(small_corpus) / "relapse.md"
    path.write_text(path.read_text() + "\n## Coming back next week\nInvite them back warmly.\n")

    before = embedder.texts_encoded
    second = Retriever(small_corpus).load()
    assert second.built_index and second.corpus_hash != first.corpus_hash
    assert len(second.chunks) == len(first.chunks) + 1
    # Unchanged chunks keep their vectors: only the new section (chunk + its one sentence) is embedded.
    assert embedder.texts_encoded - before == 2
    assert second.search("invite them back next week", k=1)[0].section == "Coming back next week"
    # The previous version's collection is pruned from the embedded store.
    assert len(second._client.list_collections()) == 1  # type: ignore[union-attr]


def test_search_ranks_the_answering_section_first(small_corpus: Settings) -> None:
    retriever = get_retriever()
    top = retriever.search("a member keeps interrupting others", k=3)
    assert isinstance(top[0], Passage)
    assert (top[0].source, top[0].section) == ("dominating-members", "Interrupting a monologue kindly")
    assert top[0].title == "When one member dominates"
    assert [p.score for p in top] == sorted((p.score for p in top), reverse=True)
    assert retriever.search("someone told us they used again", k=1)[0].source == "relapse"
    assert retriever.search("what is said here stays here", k=1)[0].source == "ground-rules"
    assert retriever.search("   ", k=3) == []


def test_modes_all_answer(small_corpus: Settings) -> None:
    retriever = get_retriever()
    for mode in ("dense", "bm25", "hybrid"):
        assert retriever.search("overdose risk", k=1, mode=mode)[0].source == "relapse"


def test_cite_gives_citation_dicts(small_corpus: Settings) -> None:
    citations = get_retriever().cite("limits of confidentiality", k=2)
    assert len(citations) == 2
    assert set(citations[0]) == {"source", "section", "title", "excerpt"}
    assert citations[0]["source"] == "ground-rules"
    assert len(citations[0]["excerpt"]) <= 201


def test_get_retriever_is_cached_per_settings(small_corpus: Settings) -> None:
    assert get_retriever() is get_retriever()
    retriever = get_retriever()
    reset_retriever()
    assert get_retriever() is not retriever


def test_empty_corpus_searches_to_nothing(data_dir: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=data_dir, content_dir=tmp_path / "nothing-here")
    assert Retriever(settings).search("anything", k=3) == []


def test_excerpt_is_short_and_whole_words() -> None:
    text = "Confidentiality is never absolute. " + "Members deserve to know where its edges are " * 10
    passage = Passage(source="c", section="s", title="t", text=text, score=1.0)
    assert len(passage.excerpt) <= 201
    assert passage.excerpt.startswith("Confidentiality is never absolute.")
    assert passage.model_dump()["excerpt"] == passage.excerpt


def test_building_and_searching_never_touch_the_network(
    small_corpus: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline by construction: no embedding function download, no telemetry."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"network access attempted: {address!r}")
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    retriever = Retriever(small_corpus).load()
    assert retriever.built_index
    assert retriever.search("overdose risk", k=1)[0].source == "relapse"
