"""The bound on the webhook bodies the gateway holds at once (`MAX_IN_FLIGHT_BYTES`).

A request holds its body's bytes from before the body is read until it is answered: its
`Content-Length` up front, or, for a body of unknown length, the bytes as they arrive. The
parsed events of a body take a few times its bytes, so bounding the bodies bounds the memory
of requests in flight. A request that would take the total past the bound is refused 503
`overloaded` before (more of) its body is read; `funnel_gateway_in_flight_bytes` shows it.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Gauge

from funnel.gateway.errors import OverloadedError


class InFlightBytes:
    """Bytes of webhook bodies held now, never more than `limit`."""

    def __init__(self, limit: int, gauge: Gauge) -> None:
        self.limit = limit
        self._held = 0
        self._gauge = gauge

    @property
    def held(self) -> int:
        return self._held

    @contextmanager
    def hold(self, size: int) -> Iterator["BodyHold"]:
        """Hold `size` bytes for one request (more as its body grows) until the block ends.

        Raises `OverloadedError`, holding nothing, when `size` bytes do not fit now.
        """
        body = BodyHold(self)
        body.grow_to(size)
        try:
            yield body
        finally:
            self._change(-body.size)

    def _take(self, size: int) -> None:
        if self._held + size > self.limit:
            raise OverloadedError(
                f"the gateway holds {self._held:,} bytes of webhook bodies; {size:,} more would "
                f"pass its bound of {self.limit:,}: try again shortly"
            )
        self._change(size)

    def _change(self, size: int) -> None:
        self._held += size
        self._gauge.set(self._held)


class BodyHold:
    """The bytes one request holds; `grow_to` takes more as its body turns out larger."""

    def __init__(self, pool: InFlightBytes) -> None:
        self._pool = pool
        self.size = 0

    def grow_to(self, size: int) -> None:
        """Hold `size` bytes in all; raises `OverloadedError`, holding what it held, when the
        difference does not fit."""
        if size > self.size:
            self._pool._take(size - self.size)
            self.size = size
