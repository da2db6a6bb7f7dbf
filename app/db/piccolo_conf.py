"""Piccolo's configuration: the engine and the app registry.

Importing this resolves the database (and starts the embedded one if DATABASE_URL is
unset), which is what `piccolo migrations ...` needs. The connection pool is opened by the
web app's lifespan, not here.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from app.db.engine import database_url, engine_config
from app.settings import Settings

DB = PostgresEngine(config=engine_config(database_url(Settings.from_env())))

APP_REGISTRY = AppRegistry(apps=["app.db.piccolo_app"])
