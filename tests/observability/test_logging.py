"""Log lines carry timestamp, level, service, event and the bound correlation id."""

import json
import logging

import pytest
import structlog

from funnel.observability import bound_correlation_id, configure_logging


def test_json_lines_have_the_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """In json format every line is one JSON object with the fixed keys."""
    configure_logging("gateway", "INFO", "json")
    try:
        with bound_correlation_id("cid-1"):
            structlog.get_logger("t").info("batch_published", count=3)
        logging.getLogger("uvicorn.error").warning("library line")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        structlog.reset_defaults()
    ours, library = lines
    assert ours["event"] == "batch_published"
    assert ours["service"] == "gateway"
    assert ours["level"] == "info"
    assert ours["correlation_id"] == "cid-1"
    assert ours["count"] == 3
    assert "timestamp" in ours
    assert library["event"] == "library line"
    assert library["service"] == "gateway"
    assert "correlation_id" not in library


def test_uvicorn_color_copy_is_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    """uvicorn's colored duplicate of its message does not reach our lines."""
    configure_logging("reporter", "INFO", "json")
    try:
        logging.getLogger("uvicorn.error").info(
            "Finished server process [%d]",
            7,
            extra={"color_message": "Finished [\x1b[36m%d\x1b[0m]"},
        )
        (line,) = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    finally:
        structlog.reset_defaults()
    assert line["event"] == "Finished server process [7]"
    assert "color_message" not in line
