"""One supervised child process: its output streamed by line, restarts with backoff, a bounded stop.

A child runs in a session of its own, so a terminal's Ctrl-C reaches only `funnel up`, which
then stops the children in its order. On Linux a child also gets SIGTERM should `funnel up`
itself die, so no service outlives its runner holding a port.
"""

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_result

from funnel.local.console import Console

_LINE_LIMIT: Final = 1 << 20
_LAST_LINES: Final = 30
_PUMP_GRACE_SECONDS: Final = 5.0
_PR_SET_PDEATHSIG: Final = 1
_EXIT_POLL_SECONDS: Final = 0.1

_log = structlog.get_logger(__name__)
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: one system call, no allocation to speak of.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def _exit_status(process: asyncio.subprocess.Process) -> int:
    # Python 3.11's `Process.wait()` also waits for the child's pipes to close, which a
    # grandchild may hold open for ever; the exit status itself is known at once.
    while True:
        if (code := process.returncode) is not None:
            return code
        await asyncio.sleep(_EXIT_POLL_SECONDS)


def _signal(process: asyncio.subprocess.Process, sig: int) -> None:
    """Send `sig` unless the child is known to have exited. Not `Process.send_signal`: it
    first polls the child with `waitpid`, so a child that has just exited is reaped behind
    asyncio's child watcher, which then reports its exit status as 255."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)


def describe_exit(returncode: int | None) -> str:
    """A child's end in words a person reads at a glance: "exited with status 3",
    "killed by SIGKILL", or "did not start" when it never ran."""
    if returncode is None:
        return "did not start"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


class ProcessState(Enum):
    IDLE = "idle"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    STOPPED = "stopped"


class ProcessStateError(RuntimeError):
    """A `ServiceProcess` was started twice."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before restarting a child that died: doubling from `initial` up to `cap`.

    A child that had stayed up for `reset_after` seconds starts again from `initial`.
    """

    initial: float = 1.0
    cap: float = 30.0
    reset_after: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.initial * 2.0 ** max(failures - 1, 0))


class ServiceProcess:
    """A child process under supervision: `start`, then `stop` (or `wait` for a one-shot)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        console: Console,
        stop_timeout: float = 30.0,
        backoff: Backoff | None = None,
        restart: bool = True,
    ) -> None:
        self.name = name
        self.argv = tuple(argv)
        self._env = dict(env)
        self._console = console
        self._stop_timeout = stop_timeout
        self._backoff = backoff or Backoff()
        self._restart = restart
        self._state = ProcessState.IDLE
        self._stop_requested = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._last_lines: deque[str] = deque(maxlen=_LAST_LINES)
        self._quick_exits = 0
        self.exits = 0
        """How many times the child ended on its own (crashes, or a one-shot's end)."""
        self.returncode: int | None = None
        """The last run's exit status; negative for a signal, None while none has ended."""
        self.killed = False
        """Whether the last stop had to use SIGKILL."""

    @property
    def state(self) -> ProcessState:
        return self._state

    @property
    def pid(self) -> int | None:
        running = self._process is not None and self._process.returncode is None
        return self._process.pid if running and self._process is not None else None

    @property
    def last_lines(self) -> tuple[str, ...]:
        """The child's most recent output lines, for reports when it will not start."""
        return tuple(self._last_lines)

    def start(self) -> None:
        if self._state is not ProcessState.IDLE:
            raise ProcessStateError(f"{self.name} was already started ({self._state.value})")
        self._state = ProcessState.RUNNING
        self._task = asyncio.create_task(self._supervise(), name=f"supervise-{self.name}")

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after `stop_timeout`; no restart after. Returns the exit status."""
        self._stop_requested.set()
        if self._task is not None:
            # Shielded: a caller giving up on the stop must not cancel the supervision itself.
            await asyncio.shield(self._task)
        self._state = ProcessState.STOPPED
        return self.returncode

    async def wait(self) -> int | None:
        """Until a child started with `restart=False` has ended; its exit status."""
        if self._task is not None:
            await asyncio.shield(self._task)
        return self.returncode

    async def _supervise(self) -> None:
        restarts = AsyncRetrying(
            retry=retry_if_result(self._should_restart),
            wait=self._restart_delay,
            sleep=self._sleep_unless_stopped,
            before_sleep=self._report_exit,
        )
        try:
            await restarts(self._run_if_wanted)
        finally:
            # Only when supervision itself is cancelled is a child still running here.
            if self._process is not None:
                _signal(self._process, signal.SIGKILL)
            self._state = ProcessState.STOPPED

    async def _run_if_wanted(self) -> float:
        """Run the child once unless a stop came first; how long it ran, in seconds."""
        if self._stop_requested.is_set():
            return 0.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._state = ProcessState.RUNNING
        await self._run_once()
        self.exits += not self._stop_requested.is_set()
        return loop.time() - started

    def _should_restart(self, _uptime: float) -> bool:
        return self._restart and not self._stop_requested.is_set()

    def _restart_delay(self, state: RetryCallState) -> float:
        """The backoff's delay for this exit: a run that stayed up `reset_after` seconds
        starts the doubling over."""
        uptime = state.outcome.result() if state.outcome is not None else 0.0
        self._quick_exits = 1 if uptime >= self._backoff.reset_after else self._quick_exits + 1
        return self._backoff.delay(self._quick_exits)

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        """The wait before a restart; a stop ends it at once."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    def _report_exit(self, state: RetryCallState) -> None:
        _log.warning(
            "service_exited",
            service=self.name,
            outcome=describe_exit(self.returncode),
            code=self.returncode,
            restarts=self.exits,
            restart_in_s=state.upcoming_sleep,
        )
        self._state = ProcessState.BACKOFF

    async def _run_once(self) -> None:
        try:
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                limit=_LINE_LIMIT,
            )
        except OSError as exc:
            self._record(f"cannot start {self.argv[0]}: {exc}")
            self.returncode = None
            return
        self._process = process
        assert process.stdout is not None
        assert process.stderr is not None
        pumps = [
            asyncio.create_task(self._pump(process.stdout)),
            asyncio.create_task(self._pump(process.stderr)),
        ]
        ended = asyncio.create_task(_exit_status(process))
        stop = asyncio.create_task(self._stop_requested.wait())
        await asyncio.wait({ended, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not ended.done():
            await self._terminate(process, ended)
        self.returncode = await ended
        # A grandchild may hold the pipes open; its output is not worth hanging for.
        _, late = await asyncio.wait(pumps, timeout=_PUMP_GRACE_SECONDS)
        for pump in late:
            pump.cancel()

    async def _terminate(
        self, process: asyncio.subprocess.Process, ended: asyncio.Task[int]
    ) -> None:
        self._state = ProcessState.STOPPING
        self.killed = False
        _signal(process, signal.SIGTERM)
        await asyncio.wait({ended}, timeout=self._stop_timeout)
        if not ended.done():
            _log.warning("service_killed", service=self.name, after_s=self._stop_timeout)
            self.killed = True
            _signal(process, signal.SIGKILL)

    async def _pump(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:
                # Longer than the limit: the reader dropped it; say so rather than stall.
                self._record(f"[a line over {_LINE_LIMIT} bytes was dropped]")
                continue
            if not raw:
                return
            self._record(raw.decode(errors="replace").rstrip("\r\n"))

    def _record(self, text: str) -> None:
        self._last_lines.append(text)
        self._console.line(self.name, text)
