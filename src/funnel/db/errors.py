"""The database errors Funnel code handles, translated from asyncpg's in one place.

`DatabaseUnavailableError` means "try again later, nothing is wrong with the data": the server
is down, restarting, refusing connections or aborted the transaction to resolve a conflict.
`DataRefusedError` means the data itself was refused (SQLSTATE classes 22 and 23, and 54: a
value too large for an index entry) and will be again. Anything else (a missing table, a bug)
is left as asyncpg raised it.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg


class DatabaseError(Exception):
    """Base of the errors `funnel.db` raises."""


class DatabaseUnavailableError(DatabaseError):
    """The database cannot take the work right now; the same work may succeed later."""


class DataRefusedError(DatabaseError):
    """The database refused the values themselves (bad encoding, out of range, a constraint)."""


class SchemaNotCurrentError(DatabaseError):
    """The database schema is not at the revision this code was written for."""


# Connection-level failures (SQLSTATE 08), operator intervention (57: admin shutdown,
# cannot connect now, crash recovery), exhausted resources (53), serialization or deadlock
# aborts (40) and lock time-outs (55P03) all clear up on their own; so do socket errors and
# timeouts.
_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
    # A lock not had within `lock_timeout` (partition DDL sets one): try again later.
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InternalClientError,
)

_REFUSED: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DataError,
    asyncpg.exceptions.IntegrityConstraintViolationError,
    asyncpg.exceptions.ProgramLimitExceededError,
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (from asyncpg or the socket under it) says the database is unavailable."""
    if isinstance(exc, (DatabaseUnavailableError, *_TRANSIENT)):
        return True
    # asyncpg reports a connection closed under a running query as an InterfaceError.
    return isinstance(exc, asyncpg.InterfaceError) and "connection" in str(exc).lower()


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise the block's transient failures as `DatabaseUnavailableError` and refusals of
    the data as `DataRefusedError`; other errors pass unchanged."""
    try:
        yield
    except DatabaseError:
        raise
    except _REFUSED as exc:
        raise DataRefusedError(str(exc) or type(exc).__name__) from exc
    except Exception as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailableError(str(exc) or type(exc).__name__) from exc
        raise
