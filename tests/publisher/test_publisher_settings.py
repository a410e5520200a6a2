"""The emulator's settings: upstream defaults, `EVENT_ENDPOINT`, and reasons for refusals."""

import pytest
from pydantic import ValidationError

from funnel.publisher import PublisherSettings


def test_the_url_comes_from_event_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Like the real image, the webhook is `EVENT_ENDPOINT`; without it, the local gateway."""
    monkeypatch.delenv("EVENT_ENDPOINT", raising=False)
    assert PublisherSettings().url == "http://127.0.0.1:3000/webhook"
    monkeypatch.setenv("EVENT_ENDPOINT", "http://gateway:3000/webhook")
    assert PublisherSettings().url == "http://gateway:3000/webhook"


def test_knobs_read_prefixed_variables_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """`PUBLISHER_SEED` sets the seed; a bare `SEED` or `URL` in the environment does not."""
    monkeypatch.delenv("EVENT_ENDPOINT", raising=False)
    monkeypatch.setenv("SEED", "1")
    monkeypatch.setenv("URL", "http://elsewhere/")
    monkeypatch.setenv("PUBLISHER_MAX_EVENTS", "7000")
    settings = PublisherSettings()
    assert settings.seed is None
    assert settings.url == "http://127.0.0.1:3000/webhook"
    assert settings.max_events == 7000


def test_fields_are_set_by_name_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Code builds settings with field names, and they win over the environment."""
    monkeypatch.setenv("EVENT_ENDPOINT", "http://from-env/")
    settings = PublisherSettings(url="http://given/", min_events=1, max_events=2, seed=5)
    assert (settings.url, settings.min_events, settings.max_events, settings.seed) == (
        "http://given/",
        1,
        2,
        5,
    )


@pytest.mark.parametrize(
    ("knobs", "reason"),
    [
        ({"min_events": 10, "max_events": 5}, "must be at least min_events"),
        ({"interval_seconds": 0}, "greater than 0"),
        ({"corrupt_ratio": 1.5}, "less than or equal to 1"),
        ({"duration_seconds": -1}, "greater than 0"),
    ],
)
def test_inconsistent_knobs_are_refused_with_a_reason(knobs: dict[str, float], reason: str) -> None:
    """Sizes out of order, a zero interval, a ratio above 1 are refused, saying why."""
    with pytest.raises(ValidationError, match=reason):
        PublisherSettings(**knobs)  # type: ignore[arg-type]
