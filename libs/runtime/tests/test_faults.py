"""Row faults versus infrastructure faults (vigil_runtime.faults), by SQLSTATE."""

from __future__ import annotations

import asyncpg
import asyncpg.exceptions._base as asyncpg_base
import pytest
import redis.exceptions as rx

from vigil_runtime.faults import (
    PgFault,
    classify_pg_error,
    describe_error,
    is_transient_redis_error,
)

MISSING_PARTITION = 'no partition of relation "camera_events" found for row'


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (asyncpg.CheckViolationError("motion_score out of range"), PgFault.ROW),
        (asyncpg.NotNullViolationError("null value in column"), PgFault.ROW),
        (asyncpg.ForeignKeyViolationError("camera not present"), PgFault.ROW),
        (asyncpg.UniqueViolationError("duplicate key"), PgFault.ROW),
        (asyncpg.InvalidTextRepresentationError("bad input"), PgFault.ROW),
        (asyncpg.NumericValueOutOfRangeError("out of range"), PgFault.ROW),
        (asyncpg_base.DataError("invalid input for query argument"), PgFault.ROW),
        (ValueError("cannot encode"), PgFault.ROW),
        (TypeError("an integer is required"), PgFault.ROW),
        (OverflowError("int too big to convert"), PgFault.ROW),
        (asyncpg.CheckViolationError(MISSING_PARTITION), PgFault.MISSING_PARTITION),
        (asyncpg.InsufficientPrivilegeError("permission denied"), PgFault.INFRASTRUCTURE),
        (asyncpg.UndefinedTableError("relation does not exist"), PgFault.INFRASTRUCTURE),
        (asyncpg.ReadOnlySQLTransactionError("read-only"), PgFault.INFRASTRUCTURE),
        (asyncpg.UndefinedFunctionError("function does not exist"), PgFault.INFRASTRUCTURE),
        (asyncpg.DiskFullError("could not extend file"), PgFault.TRANSIENT),
        (asyncpg.OutOfMemoryError("out of memory"), PgFault.TRANSIENT),
        (asyncpg.ConnectionDoesNotExistError("closed"), PgFault.TRANSIENT),
        (asyncpg.AdminShutdownError("terminating connection"), PgFault.TRANSIENT),
        (asyncpg.QueryCanceledError("statement timeout"), PgFault.TRANSIENT),
        (asyncpg.DeadlockDetectedError("deadlock"), PgFault.TRANSIENT),
        (ConnectionResetError(), PgFault.TRANSIENT),
        (TimeoutError(), PgFault.TRANSIENT),
        (RuntimeError("a bug"), PgFault.INFRASTRUCTURE),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_only_data_errors_of_a_row_are_row_faults(exc: BaseException, expected: PgFault) -> None:
    assert classify_pg_error(exc) is expected


def test_a_unique_violation_is_a_conflict_only_where_the_writer_handles_it() -> None:
    exc = asyncpg.UniqueViolationError("duplicate key")
    assert classify_pg_error(exc, conflict_handled=True) is PgFault.CONFLICT
    assert classify_pg_error(exc, conflict_handled=False) is PgFault.ROW
    other = asyncpg.CheckViolationError("check")
    assert classify_pg_error(other, conflict_handled=True) is PgFault.ROW


def test_describe_error_names_the_sqlstate_on_one_line() -> None:
    exc = asyncpg.InsufficientPrivilegeError("permission denied\nfor table camera_events")
    assert describe_error(exc) == (
        "42501 InsufficientPrivilegeError: permission denied for table camera_events"
    )
    assert describe_error(ValueError()) == "ValueError: (no message)"


@pytest.mark.parametrize(
    "exc",
    [
        rx.ConnectionError("Connection reset by peer"),
        rx.TimeoutError("Timeout reading from socket"),
        rx.BusyLoadingError("Redis is loading the dataset in memory"),
        rx.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
        rx.NoPermissionError("this user has no permissions to run the 'evalsha' command"),
        rx.ResponseError("BUSY Redis is busy running a script."),
        rx.ResponseError("Command # 1 (EVALSHA abc 1 vigil:events) of pipeline caused error: BUSY"),
        rx.ResponseError("MISCONF Redis is configured to save RDB snapshots"),
        rx.ResponseError("NOREPLICAS Not enough good replicas to write."),
        rx.ResponseError("UNBLOCKED force unblock from blocking operation"),
        rx.ReadOnlyError("You can't write against a read only replica."),
        rx.AuthenticationError("invalid username-password pair"),
        rx.MasterDownError("Link with MASTER is down and replica-serve-stale-data is set to no"),
        rx.ClusterDownError("The cluster is down"),
        rx.TryAgainError("Multiple keys request during rehashing of slot"),
        rx.NoScriptError("No matching script. Please use EVAL."),
        ConnectionResetError(),
        TimeoutError(),
    ],
)
def test_redis_server_states_are_transient(exc: BaseException) -> None:
    assert is_transient_redis_error(exc)


@pytest.mark.parametrize(
    "exc",
    [
        rx.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        rx.ResponseError(
            "Command # 2 (HSET vigil:camera:c:state) of pipeline caused error: WRONGTYPE Operation"
        ),
        rx.ResponseError(
            "ERR user_script:4: Wrong number of args calling Redis command from script"
        ),
        ValueError("a bug"),
    ],
)
def test_redis_errors_about_the_data_sent_are_not_transient(exc: BaseException) -> None:
    assert not is_transient_redis_error(exc)
