"""The collector's settings: the source picks the port, and bad knobs are refused."""

import pydantic
import pytest

from funnel.collector import CollectorSettings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "COLLECTOR_SOURCE", "ACK_WAIT_SECONDS"):
        monkeypatch.delenv(name, raising=False)


def test_port_follows_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without PORT, facebook listens on 3001 and tiktok on 3002; PORT wins when set."""
    assert CollectorSettings(collector_source="facebook").port == 3001
    monkeypatch.setenv("COLLECTOR_SOURCE", "tiktok")
    assert CollectorSettings().port == 3002
    monkeypatch.setenv("PORT", "4000")
    assert CollectorSettings().port == 4000


def test_source_is_required_and_exact() -> None:
    """A missing or unknown source is refused."""
    with pytest.raises(pydantic.ValidationError):
        CollectorSettings()
    with pytest.raises(pydantic.ValidationError):
        CollectorSettings(collector_source="Facebook")


def test_cpu_nice_yields_to_intake_and_is_bounded() -> None:
    """By default a collector lowers its CPU priority by 10; only 0..19 is accepted."""
    assert CollectorSettings(collector_source="facebook").cpu_nice == 10
    assert CollectorSettings(collector_source="facebook", cpu_nice=0).cpu_nice == 0
    with pytest.raises(pydantic.ValidationError):
        CollectorSettings(collector_source="facebook", cpu_nice=20)
