"""Inserting many rows in one executemany without SQLAlchemy's per-row work.

`session.execute(insert(table), rows)` compiles and processes every row's parameters through the generic
machinery, which costs more than the database's own insert on SQLite and about as much on PostgreSQL. Here the
statement is compiled once per table, dialect and column set, each row becomes a tuple in the statement's
parameter order, the columns' own bind processors (JSON, SQLite datetimes) are applied to the values that need
them (not to `JsonText`, serialized already), and the tuples go to the driver's executemany through
`exec_driver_sql`, in the session's transaction. On PostgreSQL the rows travel as one array per column in a single
`INSERT ... SELECT * FROM unnest(...)`: one statement for the whole batch instead of one per row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession


class JsonText(str):
    """A value serialized already (with `json.dumps`, as the JSON columns' own processor would), for a JSON column
    in `insert_many`, which stores it as it is: the serializing can then happen elsewhere, such as in the process
    that parsed the record. Only `insert_many` knows it; anywhere else it would be stored as a JSON string."""

    __slots__ = ()


_Prepared = tuple[str, Callable[[Mapping[str, Any]], Any], list[tuple[int, Callable[[Any], Any]]]]
_NOTHING = object()
_CACHE: dict[tuple[sa.Table, str, tuple[str, ...]], _Prepared | None] = {}


def _statement(table: sa.Table, dialect: Dialect, columns: tuple[str, ...]) -> tuple[str, Sequence[str]] | None:
    """The statement and the order its parameters come in; None where only the generic path will do."""
    if dialect.name == "postgresql":
        arrays = ", ".join(f"${n}::{table.c[name].type.compile(dialect=dialect)}[]"
                           for n, name in enumerate(columns, 1))
        names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
        aliases = ", ".join(f"v{n}" for n in range(len(columns)))
        target = dialect.identifier_preparer.format_table(table)
        # In the rows' order, so that generated ids (the outbox's publishing order) follow it.
        return (f"INSERT INTO {target} ({names}) SELECT {aliases} FROM unnest({arrays}) "  # noqa: S608
                f"WITH ORDINALITY AS v({aliases}, n) ORDER BY n"), columns
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=list(columns))
    order = compiled.positiontup
    if not compiled.positional or order is None or sorted(order) != sorted(columns):
        return None  # a named paramstyle or an unusual statement
    return compiled.string, order


def _prepare(table: sa.Table, dialect: Dialect, columns: tuple[str, ...]) -> _Prepared | None:
    key = (table, dialect.name, columns)
    if key not in _CACHE:
        found = _statement(table, dialect, columns)
        if found is None:
            _CACHE[key] = None
        else:
            statement, order = found
            processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order]
            getter: Callable[[Mapping[str, Any]], Any] = (
                itemgetter(*order) if len(order) > 1 else lambda row: (row[order[0]],))
            _CACHE[key] = (statement, getter, [(index, proc) for index, proc in enumerate(processors) if proc])
    return _CACHE[key]


async def insert_many(session: AsyncSession, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the session's transaction."""
    if not rows:
        return
    connection = await session.connection()
    prepared = _prepare(table, connection.dialect, tuple(rows[0]))
    if prepared is None:
        await session.execute(sa.insert(table), [
            {k: json.loads(v) if v.__class__ is JsonText else v for k, v in row.items()} for row in rows])
        return
    statement, getter, processors = prepared
    if processors:
        # A batch repeats values such as its timestamp: each processor's last result is reused for the same object.
        last: list[tuple[Any, Any]] = [(_NOTHING, None)] * len(processors)
        params: list[Any] = []
        for row in rows:
            values = list(getter(row))
            for slot, (index, process) in enumerate(processors):
                value = values[index]
                seen, result = last[slot]
                if value is not seen:
                    result = value if value.__class__ is JsonText else process(value)
                    last[slot] = (value, result)
                values[index] = result
            params.append(tuple(values))
    else:
        params = [getter(row) for row in rows]
    if connection.dialect.name == "postgresql":
        await connection.exec_driver_sql(statement, tuple(list(column) for column in zip(*params, strict=True)))
    else:
        await connection.exec_driver_sql(statement, params)


async def update_many(session: AsyncSession, table: sa.Table, rows: Sequence[Mapping[str, Any]], *, key: str,
                      column: str = "id") -> None:
    """Update the rows of `table` whose `column` equals each row's `key` value with the row's other values (all
    rows have the same keys). PostgreSQL gets one `UPDATE ... FROM unnest(...)`; where a key repeats, and on
    SQLite, one executemany."""
    if not rows:
        return
    connection = await session.connection()
    names = [name for name in rows[0] if name != key]
    if connection.dialect.name == "postgresql" and len({row[key] for row in rows}) == len(rows):
        await _update_unnest(connection, table, rows, key, column, names)
        return
    statement = sa.update(table).where(table.c[column] == sa.bindparam(key)).values(
        {name: sa.bindparam(name) for name in names})
    await session.execute(statement.execution_options(synchronize_session=False), list(rows))


async def _update_unnest(connection: Any, table: sa.Table, rows: Sequence[Mapping[str, Any]], key: str, column: str,
                         names: list[str]) -> None:
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    columns = [column, *names]
    arrays = ", ".join(f"${n}::{table.c[name].type.compile(dialect=dialect)}[]" for n, name in enumerate(columns, 1))
    aliases = ", ".join(f"v{n}" for n in range(len(columns)))
    assignments = ", ".join(f"{quote(name)} = v.v{n}" for n, name in enumerate(names, 1))
    target = dialect.identifier_preparer.format_table(table)
    statement = (f"UPDATE {target} SET {assignments} FROM unnest({arrays}) AS v({aliases}) "  # noqa: S608
                 f"WHERE {target}.{quote(column)} = v.v0")
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    values = []
    for name, process in zip([key, *names], processors, strict=True):
        column_values = [row[name] for row in rows]
        values.append([process(v) for v in column_values] if process else column_values)
    await connection.exec_driver_sql(statement, tuple(values))
