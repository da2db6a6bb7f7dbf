"""`/`: the front page of a running Convodesk."""

from __future__ import annotations

from litestar import get
from litestar.response import Template


@get("/", include_in_schema=False)
async def index() -> Template:
    return Template(template_name="home.html")
