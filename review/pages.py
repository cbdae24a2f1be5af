"""What every group of review routes shares: settings, database, evidence and rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from evidence.store import LocalArtifactStore
from kuzet.config import LANGUAGES, Settings
from kuzet.db import Database
from kuzet.i18n import localized, t
from kuzet.models import Role
from notices import form1
from review.auth import LANG_COOKIE, lang_of
from review.security import CSRF_FIELD, csrf_token, csrf_valid

# The CSRF token every form posts back.
CsrfField = Annotated[str | None, Form(alias=CSRF_FIELD)]


@dataclass
class Pages:
    """Built once per app and handed to each group of routes."""

    settings: Settings
    db: Database
    store: LocalArtifactStore
    template_dir: Path
    templates: Jinja2Templates = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(directory=self.template_dir)
        self.templates.env.globals.update(t=t, localized=localized, languages=LANGUAGES)

    def render(
        self, request: Request, name: str, status_code: int = 200, **ctx: Any
    ) -> HTMLResponse:
        """A template in the request's language, with the CSRF token and, for those who
        keep Form 1, whether it is due for renewal."""
        lang = lang_of(request)
        user = ctx.get("user")
        if user is not None and user.role in (Role.HEAD, Role.ADMIN):
            with self.db.session() as s:  # Rule 5: Form 1 renewed at least every half year
                ctx["form1_due"] = form1.renewal_due(s)
        response = self.templates.TemplateResponse(
            request,
            name,
            {"lang": lang, "csrf": csrf_token(request), "csrf_field": CSRF_FIELD, **ctx},
            status_code=status_code,
        )
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict")
        return response

    def check_csrf(self, request: Request, token: str | None) -> None:
        if not csrf_valid(request, token):
            raise HTTPException(status_code=403, detail=t("error.csrf", lang_of(request)))
