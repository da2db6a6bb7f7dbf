"""Convodesk: a real-time agent desk and multi-channel conversation hub."""

import os

# Piccolo binds each table to the engine named by PICCOLO_CONF when the table class is
# created, so this must be set before anything imports app.db.tables.
os.environ.setdefault("PICCOLO_CONF", "app.db.piccolo_conf")
