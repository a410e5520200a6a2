"""Database errors are sorted once: retry later, refused data, or a plain bug."""

import asyncpg
import pytest

from funnel.db import DatabaseUnavailableError, DataRefusedError, is_unavailable
from funnel.db.errors import translate_errors


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        TimeoutError(),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        asyncpg.InterfaceError("cannot call Connection.execute(): connection is closed"),
    ],
)
def test_transient_failures_mean_unavailable(error: Exception) -> None:
    """Outages, restarts and conflicts are reported as `DatabaseUnavailableError`."""
    assert is_unavailable(error)
    with pytest.raises(DatabaseUnavailableError), translate_errors():
        raise error


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.NumericValueOutOfRangeError("numeric field overflow"),
        asyncpg.exceptions.UntranslatableCharacterError("unsupported Unicode escape"),
        asyncpg.exceptions.CheckViolationError("violates check constraint"),
        asyncpg.exceptions.ProgramLimitExceededError("index row size exceeds btree maximum"),
    ],
)
def test_bad_data_is_refused(error: Exception) -> None:
    """Values the database will never take are reported as `DataRefusedError`."""
    assert not is_unavailable(error)
    with pytest.raises(DataRefusedError), translate_errors():
        raise error


def test_other_errors_pass_unchanged() -> None:
    """A missing table is neither an outage nor bad data: it surfaces as it is."""
    error = asyncpg.exceptions.UndefinedTableError("relation does not exist")
    assert not is_unavailable(error)
    with pytest.raises(asyncpg.exceptions.UndefinedTableError), translate_errors():
        raise error
