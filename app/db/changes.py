"""Partial updates with the query builder: a Struct of the columns to set, where a field
left UNSET keeps its column's value (None is a value: it sets NULL)."""

from __future__ import annotations

from typing import Any

import msgspec
from piccolo.columns import Column
from piccolo.table import Table


def values(table: type[Table], changes: msgspec.Struct) -> dict[Column | str, Any]:
    """`changes`' set fields, keyed by `table`'s columns of the same names."""
    return {
        table._meta.get_column_by_name(field): value
        for field in changes.__struct_fields__
        if (value := getattr(changes, field)) is not msgspec.UNSET
    }
