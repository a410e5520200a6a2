"""`funnel dlq list|show|replay`: inspect and replay dead letters from the command line.

The connection comes from `NATS_URL`, else from the `funnel up` whose data dir is
`FUNNEL_DATA_DIR` (./.funnel), else the default address; the names from `FUNNEL_NAMESPACE`,
as for the services. The options override them. Heavy imports happen inside the commands so
that `funnel --help` stays fast.
"""

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from funnel.events import Subjects
    from funnel.jetstream import DeadLetter, JetStreamConnection

app = typer.Typer(
    name="dlq",
    help="Inspect and replay dead letters (rejected input, batches collectors gave up on).",
    no_args_is_help=True,
)

_T = TypeVar("_T")

NatsUrl = Annotated[
    str | None,
    typer.Option(
        "--nats-url", help="NATS server (default: NATS_URL, else the local run's, else 4222)."
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="FUNNEL_DATA_DIR",
        help="Without NATS_URL: the NATS of `funnel up` on this dir (./.funnel).",
    ),
]
Namespace = Annotated[
    str | None,
    typer.Option("--namespace", help="Stream/subject prefix (default: FUNNEL_NAMESPACE)."),
]
Origin = Annotated[
    str | None,
    typer.Option(
        "--origin", help="Only letters from this origin: gateway, fb-collector, ttk-collector."
    ),
]

_ERROR_WIDTH = 60


def _run(
    nats_url: str | None,
    namespace: str | None,
    data_dir: Path | None,
    work: "Callable[[JetStreamConnection, Subjects], Awaitable[_T]]",
) -> _T:
    from funnel.events import Subjects
    from funnel.jetstream import JetStreamConnection, JetStreamError
    from funnel.local.addresses import DEFAULT_DATA_DIR, local_nats_url
    from funnel.settings import NatsSettings

    settings = NatsSettings()
    url = nats_url or local_nats_url(settings, data_dir or DEFAULT_DATA_DIR)
    subjects = Subjects(namespace if namespace is not None else settings.funnel_namespace)

    async def main() -> _T:
        async with JetStreamConnection(
            url, "funnel-dlq", connect_timeout=5, max_connect_attempts=2
        ) as conn:
            return await work(conn, subjects)

    try:
        with _warnings_to_stderr():
            return asyncio.run(main())
    except (JetStreamError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@contextlib.contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Stdout is for the answer: only warnings are logged, to stderr, while a command runs."""
    import structlog

    previous = structlog.get_config()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        structlog.configure(**previous)


def _summary(letter: "DeadLetter") -> dict[str, Any]:
    return {
        "seq": letter.sequence,
        "subject": letter.subject,
        "time": letter.stored.time.isoformat(),
        "kind": letter.kind,
        "origin": letter.origin,
        "events": letter.event_count,
        "correlationId": letter.correlation_id,
        "originalSubject": letter.original_subject,
        "deliveries": letter.deliveries,
        "error": letter.error,
    }


@app.command("list")
def list_command(
    origin: Origin = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    nats_url: NatsUrl = None,
    namespace: Namespace = None,
    data_dir: DataDir = None,
) -> None:
    """List dead letters: sequence, subject, time, events, correlation id, error."""
    import orjson

    from funnel.dlq.inventory import list_dead_letters

    letters = _run(
        nats_url, namespace, data_dir, lambda conn, s: list_dead_letters(conn, s, origin)
    )
    if as_json:
        for letter in letters:
            typer.echo(orjson.dumps(_summary(letter)).decode())
        return
    if not letters:
        typer.echo("no dead letters")
        return
    typer.echo(
        f"{'SEQ':>7}  {'STORED':<20}  {'SUBJECT':<18}  {'EVENTS':>6}  {'CORRELATION ID':<32}  ERROR"
    )
    for letter in letters:
        error = letter.error
        if len(error) > _ERROR_WIDTH:
            error = error[: _ERROR_WIDTH - 3] + "..."
        stored = letter.stored.time.strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(
            f"{letter.sequence:>7}  {stored:<20}  {letter.subject:<18}  "
            f"{letter.event_count if letter.event_count is not None else '-':>6}  "
            f"{letter.correlation_id or '-':<32}  {error}"
        )
    typer.echo(f"{len(letters)} dead letter(s)")


@app.command("show")
def show_command(
    sequence: Annotated[int, typer.Argument(min=1, help="The dead letter's stream sequence.")],
    nats_url: NatsUrl = None,
    namespace: Namespace = None,
    data_dir: DataDir = None,
) -> None:
    """Show one dead letter: its headers and its full body."""
    import orjson

    from funnel.dlq.inventory import get_dead_letter

    letter = _run(nats_url, namespace, data_dir, lambda conn, s: get_dead_letter(conn, s, sequence))
    for key, value in _summary(letter).items():
        typer.echo(f"{key + ':':<17}{value if value is not None else '-'}")
    typer.echo("body:")
    try:
        body = orjson.loads(letter.body)
    except orjson.JSONDecodeError:
        typer.echo(repr(letter.body))
        return
    typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())


@app.command("replay")
def replay_command(
    sequences: Annotated[
        list[int] | None, typer.Argument(help="Sequences of the dead letters to replay.")
    ] = None,
    origin: Origin = None,
    replay_all: Annotated[
        bool, typer.Option("--all", help="Replay every dead letter (of --origin, if given).")
    ] = False,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file",
            exists=True,
            dir_okay=False,
            help="A JSON array of fixed events replacing those of one rejected-input letter.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be published; change nothing.")
    ] = False,
    nats_url: NatsUrl = None,
    namespace: Namespace = None,
    data_dir: DataDir = None,
) -> None:
    """Republish dead letters where they belong, then remove them.

    Rejected input is validated again and only its now-valid events are published.
    """
    import orjson

    from funnel.dlq.inventory import Selection
    from funnel.dlq.replay import replay

    chosen = tuple(sequences or ())
    if not chosen and not origin and not replay_all:
        typer.echo("error: name sequences, --origin, or --all", err=True)
        raise typer.Exit(2)
    fixed: list[object] | None = None
    if from_file is not None:
        loaded = orjson.loads(from_file.read_bytes())
        fixed = loaded if isinstance(loaded, list) else [loaded]
    selection = Selection(sequences=chosen, origin=origin)
    outcomes = _run(
        nats_url,
        namespace,
        data_dir,
        lambda conn, s: replay(conn, s, selection, fixed_events=fixed, dry_run=dry_run),
    )
    if not outcomes:
        typer.echo("nothing to replay")
    for outcome in outcomes:
        action = "would republish" if dry_run else "republished"
        line = (
            f"{outcome.sequence}: {outcome.kind}: {action} {outcome.events} event(s) in "
            f"{outcome.messages} message(s)"
        )
        if outcome.still_invalid:
            line += f", {outcome.still_invalid} still invalid"
        if outcome.note:
            line += f" ({outcome.note})"
        typer.echo(line)
