"""The labelling web app: a JSON API over a :class:`~stance.annotate.store.Project` and one page.

Endpoints (every error is ``{"error": {"code", "message"}}``, as in ``stance serve``):

- ``GET /api/next?annotator=NAME``: ``{"id", "text", "suggestion", "scores"}``, 404 when nothing is left;
- ``POST /api/label {"id", "label", "annotator"?, "seconds"?}``: 422 for an unknown label or id;
- ``POST /api/skip {"id", "annotator"?}``, ``POST /api/undo {"annotator"?}``;
- ``GET /api/stats``, ``GET /api/export?format=tsv|jsonl``;
- the page at ``/``.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from stance.annotate.scoring import Scorer
from stance.annotate.store import Project, UnknownLabel, UnknownStatement
from stance.serving.app import STATIC as SERVE_STATIC
from stance.serving.app import BodySizeLimit, error_response

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_NAME = 64


@dataclass
class AnnotateSettings:
    """Attributes:
    strategy: uncertainty, random or sequential.
    annotator: the name used when a request gives none.
    per_statement: labels from different annotators each statement collects before it stops being served.
    max_body_bytes: request body size.
    """

    strategy: str = "uncertainty"
    annotator: str = "annotator"
    per_statement: int = 1
    max_body_bytes: int = 100_000


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class LabelRequest(BaseModel):
    id: StrictStr = Field(description="the statement's id")
    label: StrictStr = Field(description="one of the project's labels")
    annotator: StrictStr | None = Field(default=None, description="who labels (default: the server's --annotator)")
    seconds: float | None = Field(default=None, ge=0, description="time spent on it (default: measured by the server)")


class SkipRequest(BaseModel):
    id: StrictStr
    annotator: StrictStr | None = None


class UndoRequest(BaseModel):
    annotator: StrictStr | None = None


def create_annotate_app(project: Project, settings: AnnotateSettings, scorer: Scorer | None = None) -> FastAPI:
    """Build the app; ``scorer`` (started and stopped with the app) fills in suggestions in the background."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if scorer is not None:
            scorer.start()
        yield
        if scorer is not None:
            scorer.stop()

    app = FastAPI(title="arabic-stance annotate", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}" for e in errors
        )
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "invalid_json", f"the body is not valid JSON ({message})")
        return error_response(422, "invalid_request", message or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, "http_error", str(exc.detail))

    def who(name: str | None) -> str:
        name = (name or "").strip() or settings.annotator
        if len(name) > MAX_NAME:
            raise ApiError(422, "invalid_annotator", f"annotator names are at most {MAX_NAME} characters")
        return name

    def answer(action):
        try:
            return action()
        except UnknownLabel as exc:
            raise ApiError(422, "unknown_label", str(exc)) from None
        except UnknownStatement as exc:
            raise ApiError(422, "unknown_id", str(exc)) from None

    @app.get("/api/next", summary="The next statement to label")
    def next_statement(annotator: str | None = Query(default=None)) -> dict[str, Any]:
        item = project.next_statement(who(annotator), settings.strategy, settings.per_statement)
        if item is None:
            total = project.total()
            raise ApiError(
                404,
                "nothing_left",
                f"nothing left to label: all {total} statements are labelled or skipped"
                if total
                else "the project has no statements: start stance annotate with --data FILE",
            )
        return item

    @app.post("/api/label", summary="Label a statement (committed at once)")
    def label(body: LabelRequest) -> dict[str, Any]:
        name = who(body.annotator)
        answer(lambda: project.label(body.id, body.label, name, body.seconds))
        if scorer is not None:
            scorer.poke()
        return {"ok": True, "id": body.id, "label": body.label, "annotator": name}

    @app.post("/api/skip", summary="Skip a statement")
    def skip(body: SkipRequest) -> dict[str, Any]:
        name = who(body.annotator)
        answer(lambda: project.skip(body.id, name))
        return {"ok": True, "id": body.id, "annotator": name}

    @app.post("/api/undo", summary="Take back the latest label or skip")
    def undo(body: UndoRequest | None = None) -> dict[str, Any]:
        item = project.undo(who(body.annotator if body else None))
        if item is None:
            raise ApiError(409, "nothing_to_undo", "nothing to undo: this annotator has no label or skip in force")
        return item

    @app.get("/api/stats", summary="Progress")
    def stats(annotator: str | None = Query(default=None)) -> dict[str, Any]:
        out = project.stats(who(annotator) if annotator else None)
        out["strategy"] = settings.strategy
        out["annotator"] = settings.annotator
        out["scorer"] = scorer.status() if scorer is not None else None
        return out

    @app.get("/api/export", summary="Labels in force as TSV or JSON lines")
    def export(format: str = Query(default="tsv")) -> Response:
        frame = project.export_frame()
        stem = project.path.stem
        if format == "tsv":
            body = frame.to_csv(sep="\t", index=False)
            media, suffix = "text/tab-separated-values; charset=utf-8", "tsv"
        elif format == "jsonl":
            body = frame.to_json(orient="records", lines=True, force_ascii=False) if len(frame) else ""
            media, suffix = "application/x-ndjson; charset=utf-8", "jsonl"
        else:
            raise ApiError(422, "unknown_format", f"unknown format {format!r}: use tsv or jsonl")
        headers = {"Content-Disposition": f'attachment; filename="{stem}.{suffix}"'}
        return Response(content=body, media_type=media, headers=headers)

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    # the serve page's stylesheet and bundled font are shared, not copied
    app.mount("/static", StaticFiles(directory=SERVE_STATIC), name="static")
    app.mount("/annotate", StaticFiles(directory=STATIC), name="annotate")
    return app
