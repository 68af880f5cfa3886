"""The HTTP service: FastAPI app with micro-batched inference, limits and a web page.

Endpoints: ``POST /v1/classify``, ``POST /v1/classify/article``, ``POST /v1/explain``,
``GET /v1/models``, ``GET /health``, the page at ``/`` and OpenAPI at ``/docs``.
Every error is JSON: ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from stance.errors import StanceError
from stance.serving.batcher import MicroBatcher

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


@dataclass
class ServerSettings:
    """Limits and batching of the service.

    Attributes:
        max_texts: statements per ``/v1/classify`` request.
        max_chars: characters per statement.
        max_article_chars: characters per article.
        max_body_bytes: request body size.
        max_batch: statements per forward pass when batching concurrent requests.
        max_wait_ms: how long the first request of a batch waits for others.
        max_explain_texts: statements per ``/v1/explain`` request, and sentences of an article explained.
    """

    max_texts: int = 256
    max_chars: int = 5_000
    max_article_chars: int = 100_000
    max_body_bytes: int = 1_000_000
    max_batch: int = 64
    max_wait_ms: float = 5.0
    max_explain_texts: int = 16


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


class ClassifyRequest(BaseModel):
    texts: list[StrictStr] = Field(description="statements to classify, in order")
    task: StrictStr = Field(default="stance", description="stance or sentiment")


class ArticleRequest(BaseModel):
    text: StrictStr = Field(description="an Arabic news article")
    task: StrictStr = Field(default="stance", description="stance or sentiment")
    explain: bool = Field(default=False, description="also give each sentence's words with their weights")


class ExplainRequest(ClassifyRequest):
    method: Literal["occlusion", "ig"] | None = Field(
        default=None, description="occlusion (default) or ig (Integrated Gradients)"
    )


class BodySizeLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes with 413, whether declared or streamed.

    The body is read here (it is small by construction) and replayed to the app,
    so a chunked upload that grows past the limit is stopped at the limit.
    """

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_big = error_response(413, "body_too_large", f"request body over {self.limit} bytes (max_body_bytes)")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await too_big(scope, receive, send)
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None  # the client left: nothing to answer
            body += message.get("body", b"")
            if len(body) > self.limit:
                return await too_big(scope, receive, send)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


class ModelRegistry:
    """Loads the served models in a background thread; ``ready`` once all are loaded."""

    def __init__(self, names: list[str], loader: Callable[[str], Any]) -> None:
        self.names = names
        self.loader = loader
        self.models: dict[str, Any] = {}
        self.batchers: dict[str, MicroBatcher] = {}
        self.error: str | None = None
        self.ready = threading.Event()

    def load_all(self) -> None:
        try:
            for name in self.names:
                logger.info("loading model %s", name)
                self.models[name] = self.loader(name)
            self.ready.set()
            logger.info("models ready: %s", ", ".join(self.names))
        except Exception as exc:  # noqa: BLE001 - reported by /health
            self.error = f"{type(exc).__name__}: {exc}"
            logger.exception("model loading failed")


def parse_models(spec: list[str]) -> dict[str, str]:
    """``["stance", "sentiment=runs/s"]`` to ``{"stance": "stance", "sentiment": "runs/s"}``."""
    tasks: dict[str, str] = {}
    for item in spec:
        task, _, location = item.partition("=")
        tasks[task.strip()] = (location or task).strip()
    return tasks


def create_app(
    models: dict[str, str] | None = None,
    settings: ServerSettings | None = None,
    loader: Callable[[str], Any] | None = None,
) -> FastAPI:
    """Build the app. ``models`` maps a task name to a shipped name or a model folder."""
    settings = settings or ServerSettings()
    tasks = models or {"stance": "stance"}
    if loader is None:
        from stance.inference.classifier import Classifier

        loader = Classifier.load
    registry = ModelRegistry(list(tasks.values()), loader)
    task_of = {location: task for task, location in tasks.items()}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()
        loading = loop.run_in_executor(None, registry.load_all)

        async def start_batchers():
            await loading
            if registry.ready.is_set():
                for location, clf in registry.models.items():
                    batcher = MicroBatcher(clf, settings.max_batch, settings.max_wait_ms)
                    batcher.start()
                    registry.batchers[task_of[location]] = batcher

        starter = loop.create_task(start_batchers())
        yield
        starter.cancel()
        for batcher in registry.batchers.values():
            await batcher.stop()

    app = FastAPI(
        title="arabic-stance",
        version="0.1.0",
        lifespan=lifespan,
        description="Stance (conciliatory / hostile / neutral) and sentiment of Arabic news statements.",
    )
    app.state.registry = registry
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {err.get('msg')}")
        message = "; ".join(problems) or "invalid request"
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error_response(400, "invalid_json", f"the body is not valid JSON ({message})")
        return error_response(422, "invalid_request", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, "http_error", str(exc.detail))

    def batcher_for(task: str) -> MicroBatcher:
        if task not in tasks:
            raise ApiError(400, "unknown_task", f"unknown task {task!r}: this server has {', '.join(tasks)}")
        if not registry.ready.is_set() or task not in registry.batchers:
            raise ApiError(503, "loading", "models are still loading: retry when GET /health says ready")
        return registry.batchers[task]

    @app.post("/v1/classify", summary="Classify statements")
    async def classify(body: ClassifyRequest) -> dict[str, Any]:
        if not body.texts:
            raise ApiError(422, "empty_texts", "texts is empty: send at least one statement")
        if len(body.texts) > settings.max_texts:
            raise ApiError(
                413,
                "too_many_texts",
                f"{len(body.texts)} texts, over max_texts={settings.max_texts}: split the request",
            )
        for i, text in enumerate(body.texts):
            if len(text) > settings.max_chars:
                raise ApiError(
                    413, "text_too_long", f"texts[{i}] has {len(text)} characters, over max_chars={settings.max_chars}"
                )
        batcher = batcher_for(body.task)
        results = await batcher.submit(body.texts)
        return {"task": body.task, "results": results}

    async def explained(batcher: MicroBatcher, work: Callable[[], Any]) -> Any:
        """Explanations run on the model's inference thread; a missing Captum is a clear 501."""
        try:
            return await batcher.run_in_thread(work)
        except StanceError as exc:
            raise ApiError(501, "explain_unavailable", str(exc)) from None

    @app.post("/v1/explain", summary="Which words drove each statement's label")
    async def explain(body: ExplainRequest) -> dict[str, Any]:
        if not body.texts:
            raise ApiError(422, "empty_texts", "texts is empty: send at least one statement")
        if len(body.texts) > settings.max_explain_texts:
            raise ApiError(
                413,
                "too_many_texts",
                f"{len(body.texts)} texts, over max_explain_texts={settings.max_explain_texts}: split the request",
            )
        for i, text in enumerate(body.texts):
            if len(text) > settings.max_chars:
                raise ApiError(
                    413, "text_too_long", f"texts[{i}] has {len(text)} characters, over max_chars={settings.max_chars}"
                )
            if not text.strip():
                raise ApiError(422, "empty_text", f"texts[{i}] is empty: there are no words to explain")
        batcher = batcher_for(body.task)
        clf = registry.models[tasks[body.task]]
        results = await explained(batcher, lambda: clf.explain(body.texts, method=body.method))
        return {"task": body.task, "results": results}

    @app.post("/v1/classify/article", summary="Classify an article sentence by sentence")
    async def classify_article(body: ArticleRequest) -> dict[str, Any]:
        if len(body.text) > settings.max_article_chars:
            raise ApiError(
                413,
                "article_too_long",
                f"article has {len(body.text)} characters, over max_article_chars={settings.max_article_chars}",
            )
        if not body.text.strip():
            raise ApiError(422, "empty_text", "text is empty: send an article")
        batcher = batcher_for(body.task)
        from stance.inference.article import assemble, split_sentences

        units = split_sentences(body.text)
        if body.explain and len(units) > settings.max_explain_texts:
            raise ApiError(
                413,
                "too_many_sentences",
                f"{len(units)} sentences, over max_explain_texts={settings.max_explain_texts}: "
                "explain a shorter passage or turn explain off",
            )
        clf = registry.models[tasks[body.task]]
        if body.explain and units:
            results = await explained(batcher, lambda: clf.explain(units))
        else:
            results = await batcher.submit(units) if units else []
        return {"task": body.task, **assemble(units, results, clf.labels)}

    @app.get("/v1/models", summary="Loaded models")
    async def list_models() -> dict[str, Any]:
        out = []
        for location, clf in registry.models.items():
            task = task_of[location]
            batcher = registry.batchers.get(task)
            info: dict[str, Any] = {
                "task": task,
                "labels": clf.labels,
                "base_model": clf.spec.base_model,
                "version": clf.spec.version,
                "precision": getattr(clf, "precision", None),
                "lexical": getattr(clf, "lexical", None) is not None,
                "stats": {
                    "batches": batcher.batches_run if batcher else 0,
                    "texts": batcher.texts_run if batcher else 0,
                },
            }
            metrics = Path(getattr(clf, "source", "") or "/nonexistent") / "metrics.json"
            if metrics.exists():
                m = json.loads(metrics.read_text())
                if "parts" in m and not info["lexical"]:  # the figures of what this server runs
                    m = m["parts"]["neural"]
                info["dev"] = {k: m[k] for k in ("accuracy", "macro_f1", "n") if k in m}
            out.append(info)
        return {"models": out, "ready": registry.ready.is_set()}

    @app.get("/health", summary="Readiness")
    async def health():
        if registry.error:
            return error_response(500, "load_failed", registry.error)
        if not registry.ready.is_set() or len(registry.batchers) < len(tasks):
            return JSONResponse(status_code=503, content={"status": "loading"})
        return {"status": "ready", "models": list(tasks)}

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
