"""nats-py's failures become `funnel.jetstream`'s errors: an outage is told from a bug."""

import pytest

from funnel.jetstream import NotConnectedError
from funnel.jetstream.errors import translated


def test_a_write_to_a_closed_transport_is_a_lost_connection() -> None:
    """A publish that races the connection's loss meets uvloop's RuntimeError on the closed
    transport: an outage to retry (and answer 503), not a bug (a 500)."""
    closed = RuntimeError(
        "unable to perform operation on <TCPTransport closed=True reading=False>; "
        "the handler is closed"
    )
    lost = pytest.raises(NotConnectedError, match="connection to NATS was lost")
    with lost as caught, translated("publish to x.events.facebook"):
        raise closed
    assert caught.value.__cause__ is closed
    assert "publish to x.events.facebook" in str(caught.value)


def test_other_exceptions_are_not_taken_for_outages() -> None:
    with pytest.raises(KeyError), translated("publish to x.events.facebook"):
        raise KeyError("a bug stays a bug")
