"""A supervised child: output streamed by line, restarted with backoff, stopped within a bound."""

import asyncio
import io
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from funnel.local.console import Console
from funnel.local.process import (
    Backoff,
    ProcessState,
    ProcessStateError,
    ServiceProcess,
    describe_exit,
)

_FAST = Backoff(initial=0.05, cap=0.1)


def _python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-u", "-c", code)


async def _until(predicate: Callable[[], bool], what: str, within: float = 20.0) -> None:
    """Poll a condition with a bound; the bound fails the test instead of hanging it."""
    try:
        async with asyncio.timeout(within):
            while True:
                if predicate():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"no {what} within {within:g}s")


def _child(
    name: str,
    code: str,
    out: io.StringIO,
    *,
    restart: bool = True,
    backoff: Backoff | None = None,
    stop_timeout: float = 30.0,
) -> ServiceProcess:
    return ServiceProcess(
        name,
        _python(code),
        env={},
        console=Console(out),
        restart=restart,
        backoff=backoff,
        stop_timeout=stop_timeout,
    )


async def test_output_lines_are_prefixed_and_kept() -> None:
    """Both stdout and stderr lines appear behind the name and in `last_lines`."""
    out = io.StringIO()
    child = _child(
        "one-shot",
        "import sys; print('to out'); print('to err', file=sys.stderr); sys.exit(4)",
        out,
        restart=False,
    )
    child.start()
    assert await child.wait() == 4
    assert child.exits == 1
    assert set(child.last_lines) == {"to out", "to err"}
    assert "one-shot      | to out" in out.getvalue().splitlines()


async def test_a_crashing_child_is_restarted(tmp_path: Path) -> None:
    """A child that exits on its own is started again, after a backoff, until stopped."""
    starts = tmp_path / "starts"
    code = f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"
    child = _child("crasher", code, io.StringIO(), backoff=_FAST)
    child.start()
    await _until(lambda: starts.exists() and len(starts.read_text()) >= 3, "three starts")
    await child.stop()
    assert child.exits >= 2
    # Stopped while waiting to restart (3), or just after a restart (SIGTERM).
    assert child.returncode in (3, -signal.SIGTERM)
    assert child.state is ProcessState.STOPPED


async def test_stop_lets_the_child_finish_on_sigterm() -> None:
    """Stop sends SIGTERM and waits for the child's own clean exit."""
    code = (
        "import signal, sys, time\n"
        "def bye(*_):\n    print('bye'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\nprint('up')\ntime.sleep(60)\n"
    )
    child = _child("polite", code, io.StringIO(), stop_timeout=20.0)
    child.start()
    await _until(lambda: "up" in child.last_lines, "the child to start")
    assert await child.stop() == 0
    assert not child.killed
    assert child.last_lines[-1] == "bye"


async def test_stop_kills_a_child_that_ignores_sigterm() -> None:
    """Past `stop_timeout` a child still running after SIGTERM gets SIGKILL."""
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up')\ntime.sleep(60)\n"
    )
    child = _child("stubborn", code, io.StringIO(), stop_timeout=0.3)
    child.start()
    await _until(lambda: "up" in child.last_lines, "the child to start")
    assert await child.stop() == -signal.SIGKILL
    assert child.killed


async def test_starting_twice_is_an_error() -> None:
    """A process object runs one supervision; a second start is refused loudly."""
    child = _child("once", "pass", io.StringIO(), restart=False)
    child.start()
    with pytest.raises(ProcessStateError):
        child.start()
    await child.wait()


async def test_a_missing_program_is_reported() -> None:
    """When the program cannot be started, the reason is in its last lines."""
    child = ServiceProcess(
        "ghost", ("/nonexistent/ghost",), env={}, console=Console(io.StringIO()), restart=False
    )
    child.start()
    assert await child.wait() is None
    assert "cannot start /nonexistent/ghost" in child.last_lines[-1]


@pytest.mark.parametrize(
    ("reset_after", "delays"), [(60.0, [0.05, 0.1, 0.1]), (0.0, [0.05, 0.05, 0.05])]
)
async def test_restarts_back_off_until_a_run_stays_up(
    reset_after: float, delays: list[float]
) -> None:
    """Quick exits in a row double the wait up to the cap; a run that stayed up
    `reset_after` seconds starts the doubling over."""
    backoff = Backoff(initial=0.05, cap=0.1, reset_after=reset_after)
    child = _child("crasher", "raise SystemExit(3)", io.StringIO(), backoff=backoff)
    with capture_logs() as logs:
        child.start()
        await _until(lambda: child.exits >= 4, "four exits")
        await child.stop()
    exited = [line for line in logs if line["event"] == "service_exited"]
    assert [line["restart_in_s"] for line in exited][:3] == delays
    assert [line["restarts"] for line in exited][:3] == [1, 2, 3]


async def test_a_stop_ends_the_wait_before_a_restart() -> None:
    """A stop during a long backoff returns at once instead of waiting it out."""
    child = _child("crasher", "raise SystemExit(3)", io.StringIO(), backoff=Backoff(initial=60))
    child.start()
    await _until(lambda: child.state is ProcessState.BACKOFF, "the backoff")
    async with asyncio.timeout(5):
        assert await child.stop() == 3
    assert child.exits == 1


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (0, "exited with status 0"),
        (3, "exited with status 3"),
        (-signal.SIGTERM, "killed by SIGTERM"),
        (-signal.SIGKILL, "killed by SIGKILL"),
        (None, "did not start"),
    ],
)
def test_an_exit_is_told_in_words(code: int | None, words: str) -> None:
    """Exit statuses read as what happened: a status, or the signal's name."""
    assert describe_exit(code) == words


def test_backoff_doubles_up_to_its_cap() -> None:
    """Delays double from the initial one and stop growing at the cap."""
    backoff = Backoff(initial=1.0, cap=5.0)
    assert [backoff.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


async def test_giving_up_on_a_wait_leaves_the_child_supervised() -> None:
    """Cancelling a `wait()` does not cancel supervision; `stop()` still ends the child."""
    code = "import time; print('up'); time.sleep(60)"
    child = _child("long", code, io.StringIO(), restart=False, stop_timeout=5.0)
    child.start()
    await _until(lambda: "up" in child.last_lines, "the child to start")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(child.wait(), 0.1)
    assert child.state is ProcessState.RUNNING
    assert await child.stop() == -signal.SIGTERM
