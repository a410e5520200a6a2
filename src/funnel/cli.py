"""The `funnel` command: one sub-command per service, plus the local runner and tools.

Each command builds its service's settings from the environment and hands them to the
service's `run` function; service modules are imported inside the commands so that
`funnel --help` stays fast.
"""

import typer

app = typer.Typer(
    name="funnel",
    help="Ad-funnel event pipeline: webhooks -> NATS JetStream -> PostgreSQL -> reports.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Funnel's services and tools."""


def main() -> None:
    app()
