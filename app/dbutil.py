"""Database helpers shared by the services."""
import time
from contextlib import contextmanager
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Connection, event
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError
from werkzeug.routing import IntegerConverter

from .errors import DomainError
from .extensions import db


def is_unique_violation(error: IntegrityError) -> bool:
    """SQLite says "UNIQUE constraint failed", PostgreSQL "violates unique constraint"."""
    return "unique" in str(error.orig).lower()


def flush_or_fail(message: str, field: str | None = None) -> None:
    """Flush; turn a broken unique key (also from a racing request) into a DomainError with
    ``message``, and any other broken constraint into a generic one.

    The whole session is rolled back: services change one thing per request, and the view commits
    once at the end, so nothing else is lost.
    """
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if is_unique_violation(error):
            raise DomainError(message, field) from error
        raise DomainError(_("数据不符合规则，未保存。请检查后重试。")) from error


def autocommit_connection() -> Connection:
    """A pooled connection of the app's engine in autocommit mode, outside the request's ORM
    session, for a view whose database work is one statement: no BEGIN and ROLLBACK round trips and
    none of the session's bookkeeping. Use it in a ``with`` block (the connection goes back)."""
    engines = current_app.extensions.setdefault("kaoping.autocommit_engines", {})
    engine = db.engine
    autocommit = engines.get(engine)
    if autocommit is None:
        autocommit = engines[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return autocommit.connect()


@contextmanager
def lean_connection(transaction: bool = False):
    """A connection for the one or two statements of the busiest requests (the resident's link):
    in a transaction that commits at the end of the block (rolls back on an exception), or in
    autocommit for a single statement.

    On PostgreSQL it is the driver's own connection, borrowed from the pool, behind a DriverConnection:
    for one small statement SQLAlchemy's execution and result machinery costs two to three times
    the driver's own work (0.21-0.32 ms of CPU against 0.10 ms, benchmarks/bench_web.py). Elsewhere
    (SQLite) it is a SQLAlchemy Core connection. Both take ``execute(statement, params)`` and give
    results with ``fetchone()``/``fetchall()`` of plain rows; read rows by position.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        with engine.begin() if transaction else autocommit_connection() as connection:
            yield connection
        return
    pooled = engine.raw_connection()  # checked out through the pool: its events and limits apply
    driver = pooled.driver_connection
    assert driver is not None  # a connection checked out of the pool has its driver connection
    try:
        if transaction:
            with driver.transaction():  # BEGIN … COMMIT, or ROLLBACK on an exception
                yield DriverConnection(driver, engine.dialect)
        else:
            driver.autocommit = True
            try:
                yield DriverConnection(driver, engine.dialect)
            finally:
                driver.autocommit = False  # as SQLAlchemy expects its pooled connections
    finally:
        pooled.close()  # back to the pool


class DriverConnection:
    """Runs SQLAlchemy statements on the database driver's connection: the SQL is SQLAlchemy's,
    compiled once per statement (pass statements built once, at import), parameters by name.
    The driver's errors come out as SQLAlchemy's (IntegrityError, OperationalError, ...), so that
    callers handle one kind whatever the connection."""

    def __init__(self, driver_connection, dialect):
        self.driver = driver_connection
        self.dialect = dialect

    def execute(self, statement, parameters: dict | None = None):
        sql = _compiled_sql(statement, self.dialect)
        try:
            return self.driver.execute(sql, parameters or {})
        except self.dialect.loaded_dbapi.Error as error:
            raise sqlalchemy_exc.DBAPIError.instance(sql, parameters, error, self.dialect.loaded_dbapi.Error,
                                                      dialect=self.dialect) from error


@lru_cache(maxsize=64)
def _compiled_sql(statement, dialect) -> str:
    compiled = statement.compile(dialect=dialect)
    prefetch = [c.key for c in (*getattr(compiled, "insert_prefetch", ()), *getattr(compiled, "update_prefetch", ()))]
    if prefetch:  # SQLAlchemy would fill these in Python at execution; the driver cannot
        raise ValueError(f"give these columns values in the statement: {', '.join(prefetch)}")
    return str(compiled)


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle in the pool for over ``seconds``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip for every request.
    Under load, connections go back and forth within milliseconds and a dead one is unlikely; after
    a quiet spell (a restarted database, a firewall that dropped idle connections) it is likely, and
    then this ping finds it and the pool replaces it (DisconnectionError makes the pool reconnect).
    A connection lost while busy still fails its request, as it would with ``pool_pre_ping``.
    """
    if seconds < 0:
        return

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        record.info["kp_checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        since = record.info.get("kp_checked_in_at")
        if since is None or time.monotonic() - since <= seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping may have opened a transaction (psycopg)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(str(error)) from error


DB_INT_MAX = 2**31 - 1  # the largest value of a database integer column (PostgreSQL INTEGER)


def db_id(value: str) -> int:
    """An id from a query string or form, as ``request.args.get(name, type=db_id)``: a number
    beyond a database integer raises ValueError, so ``get`` gives its default (like junk),
    instead of an overflow error from the database driver (the same rule as
    :class:`DatabaseIdConverter` for ids in URLs)."""
    number = int(value)
    if not 0 <= number <= DB_INT_MAX:
        raise ValueError(f"id out of range: {number}")
    return number


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in URLs, limited to what a database integer column holds: a larger number in a
    URL is a 404 like any unknown id, instead of an overflow error from the database driver."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002  (werkzeug's name)
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)
