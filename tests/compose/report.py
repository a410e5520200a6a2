"""The compose test's one table: each check, whether it held, and the figures it saw."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


class CheckFailedError(Exception):
    """A check saw something other than what the system promises."""


class ScenarioStoppedError(Exception):
    """A check failed, so the checks after it in its scenario cannot run."""


def expect(condition: bool, message: str) -> None:
    """Fail the current check with `message` unless `condition` holds."""
    if not condition:
        raise CheckFailedError(message)


@dataclass(frozen=True)
class Row:
    check: str
    passed: bool
    figures: str
    seconds: float
    """How long the check took, waits included."""


@dataclass
class Report:
    """The rows in the order the checks ran."""

    rows: list[Row] = field(default_factory=list)

    @asynccontextmanager
    async def check(self, name: str) -> AsyncIterator[list[str]]:
        """A row for the block: passed with the figures it appends, or failed with what it
        raised, which then stops the scenario (`ScenarioStoppedError`)."""
        figures: list[str] = []
        started = time.monotonic()
        try:
            yield figures
        except Exception as exc:  # whatever went wrong, the row says it and the table prints
            self.failed(name, exc, time.monotonic() - started)
            raise ScenarioStoppedError(name) from exc
        self.rows.append(Row(name, True, "; ".join(figures), time.monotonic() - started))

    def failed(self, name: str, error: BaseException, seconds: float = 0.0) -> None:
        reason = " ".join(f"{type(error).__name__}: {error}".split())
        self.rows.append(Row(name, False, reason[:600], seconds))

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.passed for row in self.rows)

    def render(self) -> str:
        lines = ["| check | result | s | figures |", "|---|---|---:|---|"]
        lines += [
            f"| {row.check} | {'pass' if row.passed else 'FAIL'} | {row.seconds:.0f} "
            f"| {row.figures} |"
            for row in self.rows
        ]
        passed = sum(row.passed for row in self.rows)
        lines.append(f"compose: {passed} passed, {len(self.rows) - passed} failed")
        return "\n".join(lines)
