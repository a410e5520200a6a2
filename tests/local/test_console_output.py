"""Children's lines are prefixed by a padded name; tables are aligned."""

import io

from funnel.local.console import Console


def test_lines_are_prefixed_and_padded() -> None:
    """Every line carries its service's name padded to one width, uncoloured off a tty."""
    out = io.StringIO()
    console = Console(out, width=8)
    console.line("gateway", "listening")
    console.line("db", "up")
    assert out.getvalue().splitlines() == ["gateway  | listening", "db       | up"]


def test_colour_codes_on_a_terminal() -> None:
    """With colour on, each name gets its own escape code and a reset."""
    out = io.StringIO()
    console = Console(out, colour=True, width=3)
    console.line("a", "x")
    console.line("b", "y")
    first, second = out.getvalue().splitlines()
    assert first.startswith("\x1b[")
    assert "\x1b[0m" in first
    assert first.split("m", 1)[0] != second.split("m", 1)[0]


def test_table_columns_line_up() -> None:
    """Each column starts at the same offset on every row, between two rules."""
    out = io.StringIO()
    Console(out).table([("webhook", "gateway", "POST u"), ("nats", "", "nats://x")])
    lines = out.getvalue().splitlines()
    assert lines[0] == lines[-1]
    assert set(lines[0]) == {"-"}
    assert lines[1].index("POST") == lines[2].index("nats://")


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError


def test_a_reader_gone_away_silences_output() -> None:
    """When stdout's reader has gone, writing stops quietly instead of raising."""
    console = Console(_ClosedPipe())
    console.line("gateway", "lost")
    console.say("also lost")
