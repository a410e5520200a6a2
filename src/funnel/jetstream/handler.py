"""The seams of `PullConsumer`: the batch handler it calls and the observer it reports to."""

from collections.abc import Sequence
from typing import Protocol

from funnel.jetstream.message import Delivery, Failed


class BatchHandler(Protocol):
    async def __call__(self, deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        """Process the batch; return the deliveries that can never succeed (poison).

        Raise `TransientError` (or any exception) to have the whole batch retried later.
        """
        ...


class ConsumerObserver(Protocol):
    """Hooks for metrics; called from the consumer loop, so they must be quick."""

    def on_fetched(self, deliveries: Sequence[Delivery]) -> None: ...

    def on_acked(self, deliveries: Sequence[Delivery]) -> None: ...

    def on_nak(self, deliveries: Sequence[Delivery], error: str) -> None: ...

    def on_dead_letter(self, delivery: Delivery, error: str) -> None: ...


class NoObserver:
    """The observer of a consumer nobody watches."""

    def on_fetched(self, deliveries: Sequence[Delivery]) -> None:
        pass

    def on_acked(self, deliveries: Sequence[Delivery]) -> None:
        pass

    def on_nak(self, deliveries: Sequence[Delivery], error: str) -> None:
        pass

    def on_dead_letter(self, delivery: Delivery, error: str) -> None:
        pass
