"""Opening a nats-py client: each attempt bounded, retried with backoff, then reconnecting
forever with capped, jittered backoff.

Batches are up to 1 MB and the gateway keeps dozens in flight: the client's default 2 MiB
write buffer would force a flush every few messages and refuse publishes while reconnecting,
so it holds `_PENDING_BYTES`; a reconnect within the publish timeout then loses nothing.
"""

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable
from typing import Any, Final

import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.client import Server as _Server
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_never,
    wait_exponential,
    wait_random,
)

from funnel.jetstream.errors import NotConnectedError

_log = structlog.get_logger(__name__)

_PENDING_BYTES: Final = 64 * 1024 * 1024
_PING_INTERVAL: Final = 20  # seconds; a dead server is noticed within ~3 pings


async def connect_client(
    url: str,
    name: str,
    *,
    connect_timeout: float,
    max_attempts: int | None,
    reconnect_wait_max: float,
    drain_timeout: float,
    error_cb: Callable[[Exception], Awaitable[None]],
    disconnected_cb: Callable[[], Awaitable[None]],
    reconnected_cb: Callable[[], Awaitable[None]],
    last_error: Callable[[], str | None],
) -> Client:
    """A connected client, after `max_attempts` attempts at most (None: forever); raises
    `NotConnectedError` naming the reason, the last one `error_cb` saw when there is one."""
    retrying = AsyncRetrying(
        stop=stop_never if max_attempts is None else stop_after_attempt(max_attempts),
        wait=wait_exponential(multiplier=0.2, max=reconnect_wait_max) + wait_random(0, 0.2),
        retry=retry_if_exception_type(NotConnectedError),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            client = Client()
            try:
                # The client's own connect loop retries forever (max_reconnect_attempts=-1, so
                # reconnects never give up later); the timeout bounds this one attempt.
                await asyncio.wait_for(
                    client.connect(
                        url,
                        name=name,
                        connect_timeout=max(1, int(connect_timeout)),
                        reconnect_time_wait=1,
                        max_reconnect_attempts=-1,
                        reconnect_to_server_handler=functools.partial(
                            _reconnect_delay, reconnect_wait_max
                        ),
                        ping_interval=_PING_INTERVAL,
                        pending_size=_PENDING_BYTES,
                        drain_timeout=max(1, int(drain_timeout)),
                        error_cb=error_cb,
                        disconnected_cb=disconnected_cb,
                        reconnected_cb=reconnected_cb,
                    ),
                    connect_timeout,
                )
            except (TimeoutError, nats.errors.Error, OSError) as exc:
                await client.close()
                reason = last_error() or str(exc) or type(exc).__name__
                number = attempt.retry_state.attempt_number
                _log.warning("nats_connect_failed", url=url, attempt=number, error=reason)
                raise NotConnectedError(f"cannot connect to NATS at {url}: {reason}") from exc
            return client
    raise AssertionError("unreachable: tenacity re-raises the last error")


def _reconnect_delay(
    wait_max: float, servers: list[_Server], _info: dict[str, Any]
) -> tuple[_Server | None, float]:
    """Capped exponential backoff with jitter, from the server's failed-attempt count."""
    attempts = min((server.reconnects for server in servers), default=0)
    delay = min(wait_max, 0.1 * 2**attempts)
    return None, delay * random.uniform(0.5, 1.0)
