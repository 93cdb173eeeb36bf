"""Bulk reads into numpy arrays and bulk writes, without a Python object per row.

A province's score run reads millions of 360 answers and writes tens of thousands of results. A
SQLAlchemy Row, an ORM object or even the driver's tuple per row costs more than the scoring itself,
so on PostgreSQL the rows travel as one binary integer array per column (``array_agg``) and the
results go in through ``COPY`` (JSON written by orjson, large values compressed with lz4, the data
sent by a thread while the next rows are put together).
Elsewhere (SQLite) the same calls read and write in plain chunks.
Every statement carries a fixed number of bound parameters, whatever the size of the data.
"""
from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any

import numpy as np
import orjson
import sqlalchemy as sa

from .extensions import db

CHUNK_ROWS = 2_000  # rows per executemany on databases without COPY
_INT8_ARRAY_OID, _INT8_OID = 1016, 20
_ARRAY_HEADER = np.dtype([("ndim", ">i4"), ("has_null", ">i4"), ("element", ">i4"), ("size", ">i4"),
                          ("lower", ">i4")])
_INT8_ELEMENT = np.dtype([("length", ">i4"), ("value", ">i8")])


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building millions of objects that form no
    cycles (numbers, rows, per-subject dicts): every full collection walks all live objects, about
    a fifth of a 50,000-officer score run. Reference counting still frees everything as usual; the
    few cycles made meanwhile wait for the next collection after. The collector is process-wide:
    it is switched back on only if it was on (a nested or concurrent pause then ends with the
    first caller, which costs speed, never memory for good)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def integer_arrays(statement: sa.Select, params: dict | None = None) -> np.ndarray:
    """(k, n) int64: the k selected columns of the statement's n rows, in no particular order.

    Every column must be an integer (64 bits) and never NULL (coalesce in the statement). On
    PostgreSQL the database packs each column into one array, read as raw bytes; bound the rows a
    call reads (a range of ids) to bound the memory of both sides. To read in ranges, build the
    statement once with ``bindparam`` and pass each range's ``params``: it is compiled once.
    """
    connection = db.session.connection()
    k = len(statement.selected_columns)
    if connection.dialect.name != "postgresql":
        # The driver's own tuples, a chunk at a time: numpy reads a SQLAlchemy Row slowly.
        result = connection.execute(statement, params or {})
        parts = [np.zeros((0, k), dtype=np.int64)]
        try:
            while rows := result.cursor.fetchmany(CHUNK_ROWS * 10):
                parts.append(np.array(rows, dtype=np.int64).reshape(len(rows), k))
        finally:
            result.close()
        return np.concatenate(parts).T.copy()
    sql, defaults = _packed_sql(statement, connection.dialect)
    with _driver(connection).cursor(binary=True) as cursor:
        cursor.adapters.register_loader(_INT8_ARRAY_OID, _raw_loader())
        row = cursor.execute(sql, {**defaults, **(params or {})}).fetchone()
    if row is None or row[0] is None:  # array_agg of no rows is NULL
        return np.zeros((k, 0), dtype=np.int64)
    return np.stack([_int8_array(bytes(data)) for data in row])


@lru_cache(maxsize=64)
def _packed_sql(statement: sa.Select, dialect) -> tuple[str, dict]:
    """The statement with each column aggregated into one int8 array, compiled for the driver."""
    inner = statement.subquery()
    compiled = sa.select(*[sa.func.array_agg(sa.cast(c, sa.BigInteger)) for c in inner.c]).compile(dialect=dialect)
    return str(compiled), dict(compiled.params)


def plain_rows(statement: sa.Select, params: dict | None = None) -> list[tuple]:
    """The statement's rows as the driver's own tuples (values as the driver gives them, no type
    processing): for reading many rows of plain numbers, where a SQLAlchemy Row per row costs more
    than the rest of the work."""
    result = db.session.connection().execute(statement, params or {})
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _driver(connection: sa.Connection) -> Any:
    """The psycopg connection under a SQLAlchemy connection (in the same transaction)."""
    driver = connection.connection.driver_connection
    assert driver is not None  # a connection in use has its driver connection
    return driver


def _int8_array(data: bytes) -> np.ndarray:
    """PostgreSQL's binary form of a one-dimensional int8[] without NULLs, as int64."""
    header = np.frombuffer(data, dtype=_ARRAY_HEADER, count=1)[0]
    if header["ndim"] != 1 or header["has_null"] or header["element"] != _INT8_OID:
        raise ValueError("expected a one-dimensional integer array without NULLs")
    values = np.frombuffer(data, dtype=_INT8_ELEMENT, offset=_ARRAY_HEADER.itemsize)
    if len(values) != header["size"]:
        raise ValueError("truncated integer array")
    return values["value"].astype(np.int64)


def _queued_writer(cursor):
    """A COPY writer that hands the data to a thread which sends it, so that the rows are put together
    while the server is busy with the ones before (psycopg's own; imported only on PostgreSQL)."""
    from psycopg.copy import QueuedLibpqWriter

    return QueuedLibpqWriter(cursor)


@cache
def _raw_loader():
    """A psycopg loader that leaves a value as the bytes the server sent (numpy reads them);
    psycopg is imported only where PostgreSQL is used."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class RawLoader(Loader):
        format = Format.BINARY

        def load(self, data):
            return data

    return RawLoader


class JsonText(str):
    """The JSON text of a JSON column's value, already written (see :func:`insert_rows`)."""

    __slots__ = ()


def insert_rows(table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows (tuples in the order of ``columns``) into ``table`` within the session's
    transaction; JSON columns take Python values, or their text as :class:`JsonText`. PostgreSQL:
    one COPY; elsewhere executemany in chunks of CHUNK_ROWS. Returns the number of rows. Nothing
    per row but the values themselves: no ORM objects, so no ORM events either (use it only for
    rows that have none)."""
    connection = db.session.connection()
    is_json = [isinstance(table.c[name].type, sa.JSON) for name in columns]
    if connection.dialect.name != "postgresql":
        return _insert_in_chunks(connection, table, columns, rows, is_json)
    dumps = connection.dialect._json_serializer or json_text  # an engine's own serializer wins, as in SQLAlchemy
    quoted = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in columns)
    name = connection.dialect.identifier_preparer.format_table(table)
    count = 0
    with _driver(connection).cursor() as cursor:
        previous = _fast_compression(cursor) if any(is_json) else None
        with cursor.copy(f"COPY {name} ({quoted}) FROM STDIN", writer=_queued_writer(cursor)) as copy:
            for row in rows:
                copy.write_row([v if not j or v is None or isinstance(v, JsonText) else dumps(v)
                                for v, j in zip(row, is_json, strict=True)])
                count += 1
        if previous is not None:
            cursor.execute("SELECT set_config('default_toast_compression', %s, true)", (previous,))
    return count


def json_text(value: Any) -> str:
    """A JSON column's text: the same JSON value as ``json.dumps`` writes, in a few times less time
    (orjson: compact, UTF-8 left as is, a float in the same shortest form that reads back to the
    same number). A value orjson refuses (a lone surrogate, an integer past 64 bits, a type it does
    not know) goes to ``json.dumps`` as before. A NaN becomes null (``json.dumps`` wrote NaN, which
    PostgreSQL refuses)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value)


def _fast_compression(cursor) -> str | None:
    """Compress the large values that the COPY writes with lz4 rather than PostgreSQL's default pglz
    (when the server has it): a province's score results hold 200 MB of JSON, which pglz takes twice
    as long to compress as the server takes for everything else. For this transaction only; returns
    the setting to restore after the COPY (None: nothing changed)."""
    row = cursor.execute(
        "SELECT setting, set_config('default_toast_compression', 'lz4', true) FROM pg_settings "
        "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals) AND setting <> 'lz4'").fetchone()
    return row[0] if row else None


def _insert_in_chunks(connection, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                      is_json: list[bool]) -> int:
    statement = sa.insert(table)
    chunk: list[dict] = []
    count = 0
    for row in rows:
        # SQLAlchemy writes a JSON column's text from its value: a written text goes back to its value
        chunk.append({name: json.loads(v) if j and isinstance(v, JsonText) else v
                      for name, v, j in zip(columns, row, is_json, strict=True)})
        if len(chunk) == CHUNK_ROWS:
            connection.execute(statement, chunk)
            count, chunk = count + len(chunk), []
    if chunk:
        connection.execute(statement, chunk)
        count += len(chunk)
    return count
