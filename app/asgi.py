"""`create_app(settings)`: wiring only. The doors are in `app.routes`, the process's live parts
and their lifespans in `app.live`."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.template import TemplateConfig

from app.api import openapi
from app.api.errors import EXCEPTION_HANDLERS, RequestTimer, stamp_response
from app.automation import engine as automation
from app.channels import runtime
from app.db.engine import engine_config
from app.db.piccolo_conf import DB
from app.desk import render, session
from app.live import Live
from app.metrics import http as metrics_http
from app.routes import route_handlers
from app.settings import Settings


def create_app(settings: Settings) -> Litestar:
    """The web application for already-resolved settings (database URL and secret key)."""
    secret_key = settings.require_secret_key()
    DB.config = engine_config(settings.require_database_url())
    runtime.configure(settings)
    automation.install()  # rules run in the transactions of the changes they follow
    live = Live(settings)
    app = Litestar(
        route_handlers=route_handlers(),
        dependencies=live.dependencies(),
        state=State({"live": live}),
        lifespan=[live.database, live.realtime],
        middleware=[RequestTimer],
        # request latency is recorded only where someone may read it
        before_send=[
            stamp_response,
            *([metrics_http.record_response] if settings.metrics_token else []),
        ],
        exception_handlers={
            **EXCEPTION_HANDLERS,
            session.NotSignedIn: session.to_sign_in,
        },
        csrf_config=CSRFConfig(
            secret=secret_key,
            cookie_secure=settings.public_url.startswith("https://"),
            # JSON doors authenticate by token and take only application/json, which a
            # cross-site form cannot send; provider hooks are signed by the provider.
            # The survey page's token is its credential (app/csat/page.py).
            exclude=["/v1.0/", "/auth/", "/hooks/", "/widget/", "/csat/", "/schema", "/healthz"],
        ),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi.config(),
        template_config=TemplateConfig(instance=render.engine),
        logging_config=None,  # app.logs configures logging, for the CLI and workers too
        debug=False,
    )
    openapi.complete_when_built(app)
    return app


def app_from_env() -> Litestar:
    """Factory for uvicorn (`--workers N` imports it in each worker process)."""
    from app.db import engine
    from app.logs import configure_logging

    settings = engine.resolve(Settings.from_env())
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
