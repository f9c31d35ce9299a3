"""Wrappers that make any ChatModel safe to call from the turn loop.

A model server can be down, slow or confused. `ResilientChatModel` adds, without touching the backend:
a deadline per call, a bounded number of retries with exponential backoff, and a circuit breaker so a dead
server costs one quick failure per line instead of a timeout per line. Every failure surfaces as
`ModelError`, which the persona renderer turns into an authored line with a visible notice.

Time comes from a `Clock`, so tests drive backoff and the breaker with a fake one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Literal, Protocol, TypeVar

from holdspace.models.base import BaseChatModel, ChatModel, ChatPrompt, ModelError, T

R = TypeVar("R")
BreakerState = Literal["closed", "open", "half_open"]


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class CircuitOpenError(ModelError):
    """Refused without calling the server: it failed repeatedly and is being left alone for a while."""


class CircuitBreaker:
    """closed -> (`failure_threshold` failures in a row) -> open -> (after `reset_after_s`) -> half-open.

    Half-open lets one trial call through: success closes the circuit, failure opens it again.
    Thread-safe; share one breaker between everything that talks to the same server.
    """

    def __init__(self, failure_threshold: int = 3, reset_after_s: float = 30.0, clock: Clock | None = None):
        self.failure_threshold = max(1, failure_threshold)
        self.reset_after_s = reset_after_s
        self.clock = clock or SystemClock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self.clock.monotonic() - self._opened_at >= self.reset_after_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call go through now? In half-open state only one trial call is allowed at a time."""
        with self._lock:
            state = self._state_locked()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False
            self.last_error = None

    def release(self) -> None:
        """A call was let through but abandoned before it told us anything: free the trial slot."""
        with self._lock:
            self._trial_in_flight = False

    def record_failure(self, error: str = "") -> None:
        with self._lock:
            self._failures += 1
            self.last_error = error or self.last_error
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                self._opened_at = self.clock.monotonic()
            self._trial_in_flight = False


class ResilientChatModel(BaseChatModel):
    """Deadline + bounded retries with exponential backoff + circuit breaker around another ChatModel.

    `stream` retries only until the first chunk has been yielded: once text is out it cannot be taken
    back, so a failure after that is raised (as ModelError) for the caller to handle.
    """

    def __init__(
        self,
        inner: ChatModel,
        *,
        retries: int = 2,
        backoff_s: float = 0.25,
        max_backoff_s: float = 2.0,
        deadline_s: float | None = 20.0,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.deadline_s = deadline_s
        self.clock = clock or SystemClock()
        self.breaker = breaker or CircuitBreaker(clock=self.clock)

    def _delay(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * (2**attempt))

    def _call(self, fn: Callable[[], R]) -> R:
        start = self.clock.monotonic()
        last: ModelError | None = None
        for attempt in range(self.retries + 1):
            if not self.breaker.allow():
                raise CircuitOpenError(
                    f"{self.name} is not being called for now: it failed repeatedly"
                    + (f" ({self.breaker.last_error})" if self.breaker.last_error else "")
                )
            try:
                result = fn()
            except ModelError as exc:
                last = exc
            except Exception as exc:  # noqa: BLE001 - a backend bug must not crash a session
                last = ModelError(f"{self.name} failed: {type(exc).__name__}: {exc}")
            else:
                if self.deadline_s is not None and self.clock.monotonic() - start > self.deadline_s:
                    self.breaker.record_failure("too slow")
                    raise ModelError(f"{self.name} took longer than {self.deadline_s:.0f} s")
                self.breaker.record_success()
                return result
            self.breaker.record_failure(str(last))
            if attempt == self.retries:
                break
            delay = self._delay(attempt)
            if self.deadline_s is not None and self.clock.monotonic() - start + delay >= self.deadline_s:
                break
            self.clock.sleep(delay)
        assert last is not None
        raise last

    def complete(self, prompt: ChatPrompt) -> str:
        return self._call(lambda: self.inner.complete(prompt))

    def structured(self, prompt: ChatPrompt, schema: type[T]) -> T:
        return self._call(lambda: self.inner.structured(prompt, schema))

    def stream(self, prompt: ChatPrompt) -> Iterator[str]:
        start = self.clock.monotonic()
        attempt = 0
        while True:
            if not self.breaker.allow():
                raise CircuitOpenError(f"{self.name} is not being called for now: it failed repeatedly")
            yielded = False
            try:
                for chunk in self.inner.stream(prompt):
                    if self.deadline_s is not None and self.clock.monotonic() - start > self.deadline_s:
                        raise ModelError(f"{self.name} took longer than {self.deadline_s:.0f} s")
                    yielded = True
                    yield chunk
            except GeneratorExit:
                # The caller stopped reading (e.g. the guard had seen enough): the server did answer.
                if yielded:
                    self.breaker.record_success()
                else:
                    self.breaker.release()
                raise
            except Exception as exc:  # noqa: BLE001 - see _call
                error = exc if isinstance(exc, ModelError) else ModelError(f"{self.name} failed: {exc}")
                self.breaker.record_failure(str(error))
                delay = self._delay(attempt)
                out_of_time = self.deadline_s is not None and (
                    self.clock.monotonic() - start + delay >= self.deadline_s
                )
                if yielded or attempt >= self.retries or out_of_time:
                    raise error from exc
                attempt += 1
                self.clock.sleep(delay)
                continue
            self.breaker.record_success()
            return

    def __getattr__(self, item: str) -> object:
        # Expose backend extras (e.g. the embedded model's `last_timings`) through the wrapper.
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)
