"""Stream and subject names: the one place that spells them.

A non-empty namespace prefixes every name, so tests (or several deployments on one NATS
server) never see each other's messages.
"""

from dataclasses import dataclass

from funnel.events.source import COLLECTOR_NAMES, Source


@dataclass(frozen=True, slots=True)
class Subjects:
    namespace: str = ""

    def _subject(self, name: str) -> str:
        return f"{self.namespace}.{name}" if self.namespace else name

    def _stream(self, name: str) -> str:
        return f"{self.namespace}_{name}" if self.namespace else name

    @property
    def events_stream(self) -> str:
        return self._stream("EVENTS")

    @property
    def dead_letter_stream(self) -> str:
        return self._stream("DEAD_LETTERS")

    def events(self, source: Source) -> str:
        """Where validated batches of one source are published."""
        return self._subject(f"events.{source}")

    @property
    def all_events(self) -> str:
        return self._subject("events.*")

    @property
    def dlq_gateway(self) -> str:
        """Rejected webhook input: the raw event and its validation errors."""
        return self._subject("dlq.gateway")

    def dlq(self, consumer: str) -> str:
        """Messages a consumer gave up on after `max_deliver` attempts."""
        return self._subject(f"dlq.{consumer}")

    @property
    def all_dead_letters(self) -> str:
        return self._subject("dlq.>")

    @staticmethod
    def collector(source: Source) -> str:
        """The durable consumer name of a source's collector."""
        return COLLECTOR_NAMES[source]
