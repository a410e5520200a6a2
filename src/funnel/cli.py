"""The `funnel` command: one sub-command per service, plus the local runner and tools.

Each command builds its service's settings from the environment and hands them to the
service's `run` function; service modules are imported inside the commands so that
`funnel --help` stays fast.
"""

from pathlib import Path
from typing import Annotated, Any

import typer

from funnel.dlq import app as dlq_app

app = typer.Typer(
    name="funnel",
    help="Ad-funnel event pipeline: webhooks -> NATS JetStream -> PostgreSQL -> reports.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Funnel's services and tools."""


@app.command()
def up(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="FUNNEL_DATA_DIR", help="Where NATS and PostgreSQL keep data (./.funnel)."
        ),
    ] = None,
    no_publisher: Annotated[
        bool, typer.Option("--no-publisher", help="Do not start the publisher emulator.")
    ] = False,
    rate: Annotated[
        int | None, typer.Option(min=1, help="A steady N events per second (min=max=N, 1 s).")
    ] = None,
    min_events: Annotated[
        int | None, typer.Option("--min", min=1, help="Fewest events per POST.")
    ] = None,
    max_events: Annotated[
        int | None, typer.Option("--max", min=1, help="Most events per POST.")
    ] = None,
    port_base: Annotated[
        int,
        typer.Option(
            envvar="FUNNEL_PORT_BASE",
            min=1,
            max=65532,
            help="Gateway port; fb-collector, ttk-collector, reporter take the next three.",
        ),
    ] = 3000,
    config_dir: Annotated[
        Path | None,
        typer.Option(help="Where <APP_ENV>.env lives (default ./config, else the checkout's)."),
    ] = None,
    ready_timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for every service to be ready.")
    ] = 120.0,
    drain_timeout: Annotated[
        float, typer.Option(min=0, help="Seconds the collectors get to drain at shutdown.")
    ] = 30.0,
) -> None:
    """The whole system on this machine: servers, migrations, services, publisher."""
    from funnel.local import PublisherShape, UpOptions
    from funnel.local import up as run_up
    from funnel.local.addresses import DEFAULT_DATA_DIR

    shape = PublisherShape.steady(rate) if rate else PublisherShape(min_events, max_events)
    options = UpOptions(
        data_dir=data_dir or DEFAULT_DATA_DIR,
        publisher=not no_publisher,
        shape=shape,
        port_base=port_base,
        config_dir=config_dir,
        ready_timeout=ready_timeout,
        drain_timeout=drain_timeout,
    )
    raise typer.Exit(run_up(options))


@app.command()
def gateway() -> None:
    """The gateway: POST /webhook -> JetStream (settings from PORT, NATS_URL, ...)."""
    from funnel.gateway import GatewaySettings, run

    run(GatewaySettings())


@app.command()
def collector(
    source: Annotated[
        str | None,
        typer.Option(
            envvar="COLLECTOR_SOURCE",
            help="facebook or tiktok: which events this collector stores.",
        ),
    ] = None,
) -> None:
    """One collector: pulls its source's batches from JetStream into PostgreSQL."""
    from funnel.collector import CollectorSettings, run

    overrides = {"collector_source": source} if source is not None else {}
    run(CollectorSettings(**overrides))  # type: ignore[arg-type]


@app.command()
def reporter() -> None:
    """The reporter: the report API over PostgreSQL (port 3003 unless PORT says otherwise)."""
    from funnel.reporter import ReporterSettings, run

    run(ReporterSettings())


@app.command()
def migrate(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="FUNNEL_DATA_DIR",
            help="Without DATABASE_URL: the database of `funnel up` on this dir (./.funnel).",
        ),
    ] = None,
) -> None:
    """Bring the database at DATABASE_URL (else the local run's) to the latest schema."""
    import asyncio

    from funnel.db import run_migrations
    from funnel.local.addresses import DEFAULT_DATA_DIR, local_database_url
    from funnel.observability import configure_logging
    from funnel.settings import DatabaseSettings, ServiceSettings

    service = ServiceSettings()
    configure_logging("migrate", service.log_level, service.effective_log_format)
    url = local_database_url(DatabaseSettings(), data_dir or DEFAULT_DATA_DIR)
    asyncio.run(run_migrations(url, timeout=60))


@app.command()
def raw(
    event_id: Annotated[str, typer.Argument(help="The event's eventId.")],
) -> None:
    """Print a stored event exactly as it came (one line per timestamp it was stored with),
    from the database at DATABASE_URL."""
    import asyncio

    import asyncpg

    from funnel.db.raw import find_event, read_raw_events
    from funnel.settings import DatabaseSettings

    async def show() -> int:
        conn = await asyncpg.connect(DatabaseSettings().database_url)
        try:
            keys = await find_event(conn, event_id)
            found = await read_raw_events(conn, keys)
        finally:
            await conn.close()
        for key in keys:
            typer.echo(found[key].decode())
        return 0 if keys else 1

    if (code := asyncio.run(show())) != 0:
        typer.echo(f"funnel raw: no stored event has the id {event_id}", err=True)
    raise typer.Exit(code)


@app.command()
def publish(
    url: Annotated[
        str | None,
        typer.Option(help="Webhook to POST to (default: EVENT_ENDPOINT, else port 3000 here)."),
    ] = None,
    min_events: Annotated[
        int | None, typer.Option("--min", min=0, help="Fewest events per POST (1000).")
    ] = None,
    max_events: Annotated[
        int | None, typer.Option("--max", min=0, help="Most events per POST (50000).")
    ] = None,
    interval: Annotated[float | None, typer.Option(help="Seconds between POSTs (1).")] = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (never).")
    ] = None,
    corrupt_ratio: Annotated[
        float | None,
        typer.Option(help="Probability of one corrupted event at a POST's end (0.1)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible runs.")] = None,
) -> None:
    """The publisher emulator: what the upstream image sends, with knobs; prints a summary."""
    from pydantic import ValidationError

    from funnel.publisher import PublisherSettings, run

    options: dict[str, Any] = {
        "url": url,
        "min_events": min_events,
        "max_events": max_events,
        "interval_seconds": interval,
        "duration_seconds": duration,
        "corrupt_ratio": corrupt_ratio,
        "seed": seed,
    }
    try:
        settings = PublisherSettings(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            typer.echo(f"funnel publish: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    run(settings)


# The group module imports only typer; its commands import the rest when they run.
app.add_typer(dlq_app, name="dlq")


def main() -> None:
    app()
