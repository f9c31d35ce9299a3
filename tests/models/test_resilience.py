"""Timeouts, bounded exponential backoff and the circuit breaker, driven by a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from holdspace.models.base import BaseChatModel, ChatMessage, ChatPrompt, ModelError
from holdspace.models.resilience import CircuitBreaker, CircuitOpenError, ResilientChatModel

PROMPT = ChatPrompt((ChatMessage("user", "hi"),))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Flaky(BaseChatModel):
    """Fails `failures` times, then answers; each call costs `cost` seconds of fake time."""

    name = "flaky"

    def __init__(self, clock: FakeClock, failures: int = 0, cost: float = 0.0, error: Exception | None = None):
        self.clock, self.failures, self.cost = clock, failures, cost
        self.error = error or ModelError("connection refused")
        self.calls = 0

    def complete(self, prompt: ChatPrompt) -> str:
        self.calls += 1
        self.clock.now += self.cost
        if self.calls <= self.failures:
            raise self.error
        return "ok"

    def stream(self, prompt: ChatPrompt) -> Iterator[str]:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        yield "o"
        yield "k"


def wrap(inner: BaseChatModel, clock: FakeClock, **kw: object) -> ResilientChatModel:
    kw.setdefault("breaker", CircuitBreaker(failure_threshold=3, reset_after_s=30.0, clock=clock))
    return ResilientChatModel(inner, clock=clock, **kw)  # type: ignore[arg-type]


def test_retries_with_exponential_backoff_then_succeeds() -> None:
    clock = FakeClock()
    inner = Flaky(clock, failures=2)
    model = wrap(inner, clock, retries=2, backoff_s=0.25, breaker=CircuitBreaker(5, clock=clock))
    assert model.complete(PROMPT) == "ok"
    assert inner.calls == 3
    assert clock.sleeps == [0.25, 0.5]


def test_backoff_is_bounded() -> None:
    clock = FakeClock()
    inner = Flaky(clock, failures=10)
    model = wrap(
        inner,
        clock,
        retries=5,
        backoff_s=1.0,
        max_backoff_s=3.0,
        deadline_s=None,
        breaker=CircuitBreaker(100, clock=clock),
    )
    with pytest.raises(ModelError):
        model.complete(PROMPT)
    assert clock.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert inner.calls == 6


def test_the_circuit_opens_and_a_dead_server_is_not_called_again() -> None:
    clock = FakeClock()
    inner = Flaky(clock, failures=100)
    model = wrap(inner, clock, retries=2)
    with pytest.raises(ModelError):
        model.complete(PROMPT)
    assert inner.calls == 3 and model.breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        model.complete(PROMPT)
    assert inner.calls == 3  # refused without a call


def test_half_open_trial_closes_the_circuit_on_success() -> None:
    clock = FakeClock()
    inner = Flaky(clock, failures=3)
    model = wrap(inner, clock, retries=2)
    with pytest.raises(ModelError):
        model.complete(PROMPT)
    clock.now += 31
    assert model.breaker.state == "half_open"
    assert model.complete(PROMPT) == "ok"
    assert model.breaker.state == "closed"


def test_half_open_trial_failure_opens_again_at_once() -> None:
    clock = FakeClock()
    inner = Flaky(clock, failures=100)
    model = wrap(inner, clock, retries=2)
    with pytest.raises(ModelError):
        model.complete(PROMPT)
    clock.now += 31
    calls = inner.calls
    with pytest.raises(ModelError):
        model.complete(PROMPT)
    assert inner.calls == calls + 1  # one trial, then refused
    assert model.breaker.state == "open"


def test_retries_stop_at_the_deadline() -> None:
    clock = FakeClock()
    inner = Flaky(clock, failures=100, cost=4.0)
    model = wrap(inner, clock, retries=5, backoff_s=1.0, deadline_s=10.0, breaker=CircuitBreaker(100, clock=clock))
    with pytest.raises(ModelError):
        model.complete(PROMPT)
    assert inner.calls == 2  # 4 s + 1 s backoff + 4 s; another try would end past 10 s


def test_a_slow_success_past_the_deadline_is_an_error() -> None:
    clock = FakeClock()
    model = wrap(Flaky(clock, cost=30.0), clock, deadline_s=20.0)
    with pytest.raises(ModelError, match="longer than"):
        model.complete(PROMPT)


def test_unexpected_exceptions_surface_as_model_errors() -> None:
    clock = FakeClock()
    model = wrap(Flaky(clock, failures=100, error=KeyError("choices")), clock, retries=0)
    with pytest.raises(ModelError, match="KeyError"):
        model.complete(PROMPT)


def test_stream_retries_before_the_first_chunk_only() -> None:
    clock = FakeClock()
    inner = Flaky(clock, failures=1)
    model = wrap(inner, clock, retries=1)
    assert "".join(model.stream(PROMPT)) == "ok"
    assert inner.calls == 2

    class DiesMidway(BaseChatModel):
        name = "dies"
        calls = 0

        def stream(self, prompt: ChatPrompt) -> Iterator[str]:
            DiesMidway.calls += 1
            yield "half"
            raise ModelError("server went away")

    model = wrap(DiesMidway(), clock, retries=3)
    chunks: list[str] = []
    with pytest.raises(ModelError, match="went away"):
        for chunk in model.stream(PROMPT):
            chunks.append(chunk)
    assert chunks == ["half"] and DiesMidway.calls == 1


def test_an_abandoned_stream_does_not_leave_the_breaker_stuck() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, reset_after_s=10, clock=clock)
    breaker.record_failure("x")
    clock.now += 11
    model = wrap(Flaky(clock), clock, breaker=breaker)
    stream = model.stream(PROMPT)
    next(stream)
    stream.close()
    assert breaker.state == "closed"


def test_breaker_is_shared_state() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(2, reset_after_s=5, clock=clock)
    assert breaker.allow()
    breaker.record_failure("a")
    assert breaker.state == "closed"
    breaker.record_failure("b")
    assert breaker.state == "open" and not breaker.allow() and breaker.last_error == "b"
    clock.now += 5
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_success()
    assert breaker.state == "closed"
