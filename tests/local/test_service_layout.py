"""The services' ports follow one base, and the publisher's shape becomes its flags."""

from funnel.local.services import (
    PublisherShape,
    address_rows,
    publisher_command,
    services,
)


def test_ports_follow_the_base() -> None:
    """Gateway on the base, then fb-collector, ttk-collector and reporter."""
    layout = services(4000)
    assert [(s.name, s.port) for s in layout.values()] == [
        ("gateway", 4000),
        ("fb-collector", 4001),
        ("ttk-collector", 4002),
        ("reporter", 4003),
    ]
    assert layout["fb-collector"].argv[-3:] == ("collector", "--source", "facebook")


def test_a_steady_rate_is_min_equal_max_each_second() -> None:
    """`--rate N` runs the emulator with N events per POST, one POST per second."""
    command = publisher_command(services()["gateway"], PublisherShape.steady(250))
    assert command[-9:] == (
        "publish",
        "--url",
        "http://127.0.0.1:3000/webhook",
        "--min",
        "250",
        "--max",
        "250",
        "--interval",
        "1",
    )
    assert PublisherShape().args() == ()


def test_address_table_names_every_endpoint() -> None:
    """Webhook, the three reports, docs, and metrics and health of each service are listed."""
    rows = address_rows(
        services(),
        nats_url="nats://n",
        nats_monitor_url=None,
        database_url="postgresql://d",
        data_dir="/d",
    )
    addresses = [address for _, _, address in rows]
    assert "POST http://127.0.0.1:3000/webhook" in addresses
    assert "http://127.0.0.1:3003/reports/demographics" in addresses
    assert "http://127.0.0.1:3003/docs" in addresses
    assert "http://127.0.0.1:3002/metrics" in addresses
    assert "http://127.0.0.1:3001/health/ready" in addresses
