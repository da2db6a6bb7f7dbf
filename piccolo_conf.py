"""Lets the `piccolo` command find Convodesk's configuration from the project root."""

import app  # noqa: F401  (sets PICCOLO_CONF for the tables)
from app.db.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
