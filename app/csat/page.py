"""The survey page an email survey links to, `/csat/{token}`: public, no sign-in. The
token (the survey's id and its HMAC under the secret key) is the only credential, so the
page takes no cookie and no CSRF token: a form posted from elsewhere would need the token
itself.

    GET   the question, five choices and a comment box (or "already recorded", or
          "closed" once the link is older than 30 days)
    POST  rating=1..5, comment=… → "thank you"; a second answer changes nothing and says
          it was already recorded

A token that is not ours is a 404 page; a refusal is the page again with its reason, never
a 500.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.response import Template

from app.csat import service
from app.desk import forms
from app.domain import csat as rules
from app.domain.errors import InvalidInput, ServiceError
from app.settings import Settings

TEMPLATE = "csat.html"
LABELS = {"rating": "Rating", "comment": "Comment"}
_SECURITY = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: no other site learns it
    "X-Frame-Options": "DENY",
}


def _page(status: int = 200, **context: Any) -> Template:
    values = {"survey": None, "done": False, "error": "", "rating": None, "comment": ""}
    return Template(
        TEMPLATE,
        context={**values, **context, "choices": range(1, 6)},
        status_code=status,
        headers=_SECURITY,
    )


def _refused(exc: ServiceError) -> Template:
    return _page(exc.status_code, error=exc.message)


@get("/csat/{token:str}", include_in_schema=False)
async def survey_page(settings: Settings, token: str) -> Template:
    try:
        survey = await service.link_survey(settings.require_secret_key(), token)
    except ServiceError as exc:
        return _refused(exc)
    return _page(survey=survey)


def _rating(raw: object) -> int:
    text = str(raw or "").strip()
    if text not in ("1", "2", "3", "4", "5"):
        raise InvalidInput("invalid_rating", "Choose a rating from 1 to 5.")
    return int(text)


@post("/csat/{token:str}", include_in_schema=False, status_code=200)
async def answer_survey(request: Request, settings: Settings, token: str) -> Template:
    key = settings.require_secret_key()
    try:
        survey = await service.link_survey(key, token)
    except ServiceError as exc:
        return _refused(exc)
    comment = ""
    try:
        form = await forms.read_form(request, LABELS)
        comment = str(form.get("comment") or "")[: rules.MAX_COMMENT]
        out = await service.answer_link(key, token, _rating(form.get("rating")), comment)
    except ServiceError as exc:
        if exc.reason == service.ALREADY.reason:  # answered before: nothing changes
            return _page(survey=await service.link_survey(key, token))
        if exc.reason == service.CLOSED.reason:
            return _page(exc.status_code, survey=msgspec.structs.replace(survey, closed=True))
        if exc.status_code in (400, 422):  # the form again, with what was typed
            return _page(exc.status_code, survey=survey, error=exc.message, comment=comment)
        return _refused(exc)
    return _page(survey=await service.link_survey(key, token), done=True, rating=out.rating)


ROUTES: list = [survey_page, answer_survey]
