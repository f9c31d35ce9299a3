"""Retrieval: the facilitation guide, chunked by heading, embedded offline and searched by meaning and words.

Coaching and feedback cite what `Retriever.cite` returns. The index lives in chroma (embedded by default,
a server when `HOLDSPACE_CHROMA_URL` is set) and is rebuilt only when the corpus or the embedder changes.
"""

from holdspace.retrieval._corpus import (
    Chunk,
    CorpusError,
    GuideDoc,
    GuideDocMeta,
    check_front_matter,
    chunk_document,
    content_hash,
    corpus_dirs,
    corpus_files,
    load_corpus,
    parse_guide_file,
    parse_guide_text,
    validate_corpus,
)
from holdspace.retrieval._eval import EvalResult, evaluate, evaluate_variants, load_eval_set, render_report
from holdspace.retrieval._ingest import IngestError, IngestResult, ingest_paths
from holdspace.retrieval._passage import Passage, make_excerpt
from holdspace.retrieval._retriever import (
    Mode,
    Retriever,
    SearchConfig,
    get_retriever,
    reset_retriever,
    tokenize,
)

__all__ = [
    "Chunk",
    "CorpusError",
    "EvalResult",
    "GuideDoc",
    "GuideDocMeta",
    "IngestError",
    "IngestResult",
    "Mode",
    "Passage",
    "Retriever",
    "SearchConfig",
    "check_front_matter",
    "chunk_document",
    "content_hash",
    "corpus_dirs",
    "corpus_files",
    "evaluate",
    "evaluate_variants",
    "get_retriever",
    "ingest_paths",
    "load_corpus",
    "load_eval_set",
    "make_excerpt",
    "parse_guide_file",
    "parse_guide_text",
    "render_report",
    "reset_retriever",
    "tokenize",
    "validate_corpus",
]
