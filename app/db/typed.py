"""Piccolo's query builder with typed rows: what a store module repeats for every table,
written once. Rows come back as msgspec Structs whose fields are the table's columns.

Partial updates take a Struct of the columns to set, where a field left UNSET keeps its
column's value (None is a value: it sets NULL)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from piccolo.columns import Column
from piccolo.table import Table

Row = TypeVar("Row", bound=msgspec.Struct)


def as_row(row_type: type[Row], found: Mapping[str, Any]) -> Row:
    """A builder's row (a dict of every column it selected) as a `row_type`: the columns
    the Struct names, so a column added to the table does not break its readers."""
    return row_type(**{name: found[name] for name in row_type.__struct_fields__})


def as_rows(row_type: type[Row], found: list[dict[str, Any]]) -> list[Row]:
    return [as_row(row_type, r) for r in found]


def values(table: type[Table], changes: msgspec.Struct) -> dict[Column | str, Any]:
    """`changes`' set fields, keyed by `table`'s columns of the same names."""
    return {
        table._meta.get_column_by_name(field): value
        for field in changes.__struct_fields__
        if (value := getattr(changes, field)) is not msgspec.UNSET
    }


async def inserted(row_type: type[Row], row: Table) -> Row:
    """Insert `row` and return it as stored (defaults filled in)."""
    table = type(row)
    rows = await table.insert(row).returning(*table.all_columns())
    return as_row(row_type, rows[0])


async def updated(
    table: type[Table], row_type: type[Row], key: Any, values: dict[Column | str, Any]
) -> Row:
    """Set `values` on the row whose primary key is `key` (one the caller knows exists:
    it holds it in its transaction) and return the row as it now is."""
    rows = (
        await table.update(values)
        .where(table._meta.primary_key == key)
        .returning(*table.all_columns())
    )
    return as_row(row_type, rows[0])


async def live(table: type[Table], row_type: type[Row], customer_id: str, key: str) -> Row | None:
    """The customer's row `key` of `table`, unless deleted (`tm_delete` set)."""
    meta = table._meta
    row = (
        await table.select()
        .where(
            meta.primary_key == key,
            meta.get_column_by_name("customer_id") == customer_id,
            meta.get_column_by_name("tm_delete").is_null(),
        )
        .first()
    )
    return None if row is None else as_row(row_type, row)
