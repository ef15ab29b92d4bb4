"""`supervise()`: restart what must keep running, give up when it keeps failing."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from typing import Any

import pytest
import trio
from service_program import PROGRAM, run_service, spawn_line

from unguarded_workers import Failure, supervise
from unguarded_workers.runtime import supervision as supervise_module


class Flaky:
    """Fails `failures` times, then returns "done"."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise TimeoutError(f"attempt {self.calls}")
        return f"done {args} {kwargs}"


class FakeClock:
    """time.monotonic and time.sleep for the supervise module: sleeping advances the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(supervise_module, "time", fake)
    return fake


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="unguarded_workers")
    return caplog


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "unguarded_workers"]


def test_a_worker_that_fails_twice_then_succeeds_is_restarted(clock: FakeClock, logged: Any) -> None:
    flaky = Flaky(2)
    assert supervise(flaky, backoff=1.0)("a", k=1) == "done ('a',) {'k': 1}"
    assert flaky.calls == 3
    first, second = _messages(logged)
    assert "TimeoutError: attempt 1; restarting in " in first
    assert "(1 failure in 60 s, restarts=5)" in first
    assert "(2 failures in 60 s, restarts=5)" in second
    # Exponential backoff with jitter: each wait between half and all of backoff * 2**(n-1).
    assert 0.5 <= clock.sleeps[0] <= 1.0
    assert 1.0 <= clock.sleeps[1] <= 2.0


def test_backoff_is_capped(clock: FakeClock) -> None:
    supervise(Flaky(8), restarts=10, backoff=1.0, max_backoff=4.0, on_error=lambda f: None)()
    assert len(clock.sleeps) == 8
    assert all(s <= 4.0 for s in clock.sleeps)
    assert clock.sleeps[-1] >= 2.0


def test_failures_outside_the_window_do_not_count(clock: FakeClock) -> None:
    """Six failures, each more than `within` after the one before: never more than one at a time."""
    flaky = Flaky(6)
    supervise(flaky, restarts=1, within=10.0, backoff=22.0, max_backoff=22.0, on_error=lambda f: None)()
    assert flaky.calls == 7  # the window never held two: no give-up


def test_more_than_restarts_within_the_window_gives_up(clock: FakeClock, logged: Any) -> None:
    flaky = Flaky(100)
    with pytest.raises(TimeoutError, match="attempt 4"):
        supervise(flaky, restarts=3, within=60.0, backoff=0.1, on_give_up="raise")()
    assert flaky.calls == 4
    assert "giving up after 4 failures in 60 s (more than restarts=3): raising" in _messages(logged)[-1]


def test_a_give_up_callable_gets_the_failure_and_returns_for_the_worker(clock: FakeClock) -> None:
    seen: list[Failure] = []

    def gave_up(failure: Failure) -> str:
        seen.append(failure)
        return "fallback"

    assert supervise(Flaky(100), restarts=0, on_give_up=gave_up, on_error=lambda f: None)() == "fallback"
    (failure,) = seen
    assert str(failure.exception) == "attempt 1"
    assert failure.caught_by == "supervise"
    assert failure.spawn_site is not None
    assert failure.spawn_site.function == "test_a_give_up_callable_gets_the_failure_and_returns_for_the_worker"


def test_keyboard_interrupt_and_system_exit_stop_it_at_once(clock: FakeClock) -> None:
    calls: list[int] = []

    def interrupted() -> None:
        calls.append(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        supervise(interrupted)()
    assert calls == [1]
    assert clock.sleeps == []


async def _failing_then_ok(flaky: Flaky) -> str:
    return flaky()


def test_async_worker_on_asyncio(logged: Any) -> None:
    flaky = Flaky(2)
    guarded = supervise(_failing_then_ok, backoff=0.001)
    assert asyncio.iscoroutinefunction(guarded)
    assert asyncio.run(guarded(flaky)) == "done () {}"
    assert flaky.calls == 3
    assert len(_messages(logged)) == 2
    assert "in task " in _messages(logged)[0]


def test_async_worker_on_trio() -> None:
    flaky = Flaky(2)
    assert trio.run(supervise(_failing_then_ok, backoff=0.001, on_error=lambda f: None), flaky) == "done () {}"
    assert flaky.calls == 3


def test_cancellation_during_the_backoff_stops_it_at_once() -> None:
    flaky = Flaky(100)

    async def main() -> None:
        task = asyncio.create_task(supervise(_failing_then_ok, backoff=30.0, on_error=lambda f: None)(flaky))
        await asyncio.sleep(0.05)  # it failed once and waits 15-30 s
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.monotonic()
    asyncio.run(main())
    assert flaky.calls == 1
    assert time.monotonic() - started < 10


def test_what_cannot_be_supervised_is_refused_with_the_reason() -> None:
    async def worker() -> None:
        pass

    coro = worker()
    with pytest.raises(TypeError, match=r"cannot restart the coroutine object .*supervise\(worker\)\(arg\)"):
        supervise(coro)
    coro.close()
    with pytest.raises(ValueError, match="restarts"):
        supervise(Flaky(0), restarts=-1)
    with pytest.raises(ValueError, match="on_give_up"):
        supervise(Flaky(0), on_give_up="retry")
    with pytest.raises(ValueError, match="within"):
        supervise(Flaky(0), within="60")  # type: ignore[arg-type]


def test_as_a_decorator_on_a_method(clock: FakeClock) -> None:
    class Poller:
        def __init__(self) -> None:
            self.flaky = Flaky(1)

        @supervise(on_error=lambda f: None)
        def poll(self) -> str:
            return self.flaky()

    poller = Poller()
    assert poller.poll() == "done () {}"
    assert poller.poll.__name__ == "poll"


# -- real programs --------------------------------------------------------------------------


def test_a_supervised_thread_that_recovers_keeps_the_service_running() -> None:
    result = run_service("supervised")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "flaky succeeded on attempt 3\nservice still running\n"
    reports = [line for line in result.stderr.splitlines() if "worker __main__.flaky failed" in line]
    assert len(reports) == 2
    assert f"(spawned at {PROGRAM}:{spawn_line('supervised')} in supervised_recovers)" in reports[0]


def test_a_worker_that_always_fails_ends_the_process_non_zero_after_the_main_threads_shutdown() -> None:
    started = time.monotonic()
    result = run_service("gives-up", timeout=30)
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.stderr
    assert "giving up after 3 failures in 60 s (more than restarts=2): ending the process" in result.stderr
    assert result.stdout == "main thread shut down cleanly\n"  # its `finally` ran; "still running" never printed


def test_giving_up_in_the_main_threads_event_loop_exits_through_system_exit(tmp_path: Any) -> None:
    program = tmp_path / "service.py"
    program.write_text(
        "import asyncio, atexit\n"
        "from unguarded_workers import supervise\n"
        "atexit.register(print, 'atexit ran')\n"
        "async def broken():\n"
        "    raise ValueError('no')\n"
        "async def main():\n"
        "    try:\n"
        "        await asyncio.create_task(supervise(broken, restarts=1, backoff=0.001)())\n"
        "    finally:\n"
        "        print('cleanup ran')\n"
        "asyncio.run(main())\n"
        "print('not reached')\n"
    )
    result = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 1, result.stderr
    assert result.stdout == "cleanup ran\natexit ran\n"


def test_system_exit_stops_it_at_once(clock: FakeClock) -> None:
    calls: list[int] = []

    def exits() -> None:
        calls.append(1)
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        supervise(exits)()
    assert calls == [1]


def test_a_supervised_process_target_that_keeps_failing_exits_1() -> None:
    """The guard pickles like its target (the spawn start method), and giving up in a child
    process's main thread ends that process with status 1."""
    import multiprocessing

    from runtime_workers import fail

    ctx = multiprocessing.get_context("spawn")
    process = ctx.Process(target=supervise(fail, restarts=1, backoff=0.001, on_error=_quiet))
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 1


def _quiet(failure: Failure) -> None:
    """A picklable handler that reports nothing."""
