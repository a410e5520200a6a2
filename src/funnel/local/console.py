"""What `funnel up` prints on standard output: the services' lines, prefixed, and its tables.

Every child's line is written whole, behind its service's name padded to one width and, on a
terminal, in that service's colour, so interleaved logs stay readable. The runner's own log
lines go through structlog to standard error.
"""

import sys
from collections.abc import Sequence
from typing import Final, TextIO

_COLOURS: Final = ("36", "33", "35", "32", "34", "31", "96", "93")
_RESET: Final = "\x1b[0m"


class Console:
    """Line-oriented output shared by every child; one `write` is one line."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        colour: bool | None = None,
        width: int = 13,
    ) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._colour = self._stream.isatty() if colour is None else colour
        self._width = width
        self._colours: dict[str, str] = {}
        self._gone = False

    def _paint(self, name: str, text: str) -> str:
        if not self._colour:
            return text
        code = self._colours.setdefault(name, _COLOURS[len(self._colours) % len(_COLOURS)])
        return f"\x1b[{code}m{text}{_RESET}"

    def line(self, name: str, text: str) -> None:
        """One line of a child's output, behind its name."""
        self._write(f"{self._paint(name, name.ljust(self._width))} | {text}\n")

    def say(self, text: str = "") -> None:
        """A line of the runner's own, unprefixed (readiness, the table of URLs)."""
        self._write(text + "\n")

    def _write(self, text: str) -> None:
        if self._gone:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            # The reader went away (a pager quit, `| tee` got Ctrl-C): the system must still
            # stop in order, so output ends here instead of raising in the middle of it.
            self._gone = True

    def table(self, rows: Sequence[Sequence[str]]) -> None:
        """Aligned columns, with a rule above and below."""
        columns = max((len(row) for row in rows), default=0)
        widths = [max(len(row[i]) for row in rows if len(row) > i) for i in range(columns)]
        rule = "-" * (sum(widths) + 2 * max(columns - 1, 0))
        self.say(rule)
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.say("  ".join(cells).rstrip())
        self.say(rule)
