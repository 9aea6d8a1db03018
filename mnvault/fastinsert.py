"""Plain multi-row INSERTs for bulk work (CSV import, demo data).

``bulk_create`` spends most of its time preparing values field by field through Django's
generic pipeline (bench/README.md: 80% of an import). For the few hot tables this module builds
the statement once and passes tuples straight to the driver, adapting only the column types
that need it (dates, datetimes, JSON). It is a drop-in for ``bulk_create`` where the caller
already holds validated values; nothing else should use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models

CHUNK = 500  # rows per statement: under SQLite's and PostgreSQL's parameter limits


def _column_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The field ``name`` (a field name or its attname), which must have a column."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):  # a reverse relation: no column in this table
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def _adapter(field: models.Field[Any, Any], connection) -> Callable[[Any], Any] | None:
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(field, models.JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    return None


def insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    using: str = "default",
    returning_ids: bool = False,
) -> list[int]:
    """Insert ``rows`` (tuples in the order of ``columns``, model field names); with
    ``returning_ids`` the new primary keys in row order."""
    if not rows:
        return []
    connection = connections[using]
    fields = [_column_field(model, name) for name in columns]
    adapters = [(i, a) for i, f in enumerate(fields) if (a := _adapter(f, connection))]
    if adapters:
        memo: dict = {}
        rows = [_adapt(row, adapters, memo) for row in rows]
    quote = connection.ops.quote_name
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
    )
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        if not returning_ids:
            cursor.executemany(f"{head} VALUES {one}", rows)
            return ids
        pk = quote(model._meta.pk.column)
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            cursor.execute(
                f"{head} VALUES {', '.join([one] * len(chunk))} RETURNING {pk}",
                [value for row in chunk for value in row],
            )
            # Keys are assigned in VALUES order; sorting does not rely on the order RETURNING
            # hands them back in, which SQLite leaves unspecified.
            ids.extend(sorted(row[0] for row in cursor.fetchall()))
    return ids


def _adapt(row: Sequence[Any], adapters, memo: dict) -> list[Any]:
    values = list(row)
    for index, adapt in adapters:
        value = values[index]
        if value is not None:
            # Bulk rows share values (one timestamp, one verification record): adapt each once.
            # The rows keep every value alive, so its id is not reused during the call.
            key = (index, id(value))
            if key not in memo:
                memo[key] = adapt(value)
            values[index] = memo[key]
    return values
