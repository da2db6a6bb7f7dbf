"""The Piccolo app that owns Convodesk's tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from app.db.tables import ALL_TABLES

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="convodesk",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=ALL_TABLES,
    migration_dependencies=[],
    commands=[],
)
