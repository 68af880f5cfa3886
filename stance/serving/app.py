"""The HTTP service: FastAPI app with micro-batched inference, limits and a web page.

Endpoints: ``POST /v1/classify``, ``POST /v1/classify/article``, ``POST /v1/explain``,
``GET /v1/models``, ``GET /health``, ``GET /metrics``, the page at ``/`` and
OpenAPI at ``/docs``. Every error is JSON: ``{"error": {"code": ..., "message": ...}}``.

Service concerns are layers around thin handlers (outermost first): metrics,
security headers, CORS (only with ``cors_origins``), API keys
(:mod:`stance.serving.security`), rate limit and body limit
(:mod:`stance.serving.limits`); the handlers then admit texts into a bounded
queue (503 when full) and wait for them under a deadline (504).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StrictBool, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from stance.errors import StanceError
from stance.serving.batcher import MicroBatcher, QueueFull
from stance.serving.limits import STATE_STARTED, BodySizeLimit, DrainPolicy, RateLimit, TokenBuckets, error_response
from stance.serving.metrics import ObserveRequests, ServiceMetrics
from stance.serving.security import ApiKeyAuth, KeyChecker, SecurityHeaders

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
        max_queue: texts admitted and not yet answered, per task; beyond it requests get 503 at once.
        request_timeout: seconds from a request's headers to its answer; then 504 (None: no deadline).
        read_timeout: seconds for a request body to arrive; then 408 (None: no limit).
        api_keys: keys accepted in ``Authorization: Bearer``; empty: the API is open.
        rate_limit: requests per second per key (per client address without keys); None: unlimited.
        rate_burst: bucket size of the rate limit (default: one second's worth).
        cors_origins: origins allowed to call the API from a browser; empty: CORS off.
        drain: how much of a refused request's body is read before closing (see ``limits.reject``).
    """

    max_texts: int = 256
    max_chars: int = 5_000
    max_article_chars: int = 100_000
    max_body_bytes: int = 1_000_000
    max_batch: int = 64
    max_wait_ms: float = 5.0
    max_explain_texts: int = 16
    max_queue: int = 1024
    request_timeout: float | None = 30.0
    read_timeout: float | None = 10.0
    api_keys: list[str] = field(default_factory=list, repr=False)
    rate_limit: float | None = None
    rate_burst: float | None = None
    cors_origins: list[str] = field(default_factory=list)
    drain: DrainPolicy = field(default_factory=DrainPolicy)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable error code, e.g. too_many_texts")
    message: str = Field(description="what went wrong and how to fix it")


class ErrorBody(BaseModel):
    error: ErrorDetail


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the JSON errors a route can answer with."""
    return {status: {"model": ErrorBody, "description": HTTPStatus(status).phrase} for status in statuses}


API_ERRORS = _errors(400, 401, 408, 413, 422, 429, 503, 504)


class ClassifyRequest(BaseModel):
    texts: list[StrictStr] = Field(description="statements to classify, in order")
    task: StrictStr = Field(default="stance", description="stance or sentiment")


class ArticleRequest(BaseModel):
    text: StrictStr = Field(description="an Arabic news article")
    task: StrictStr = Field(default="stance", description="stance or sentiment")
    explain: StrictBool = Field(default=False, description="also give each sentence's words with their weights")


class ExplainRequest(ClassifyRequest):
    method: Literal["occlusion", "ig"] | None = Field(
        default=None, description="occlusion (default) or ig (Integrated Gradients)"
    )


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


PROTECTED = ("/v1/", "/metrics")


def _add_service_layers(app: FastAPI, settings: ServerSettings, metrics: ServiceMetrics) -> None:
    """The ASGI layers around the handlers; ``add_middleware`` puts each new one outside the previous ones."""
    app.add_middleware(
        BodySizeLimit, limit=settings.max_body_bytes, read_timeout=settings.read_timeout, drain=settings.drain
    )
    if settings.rate_limit:
        buckets = TokenBuckets(settings.rate_limit, settings.rate_burst)
        app.add_middleware(RateLimit, buckets=buckets, prefixes=("/v1/",), drain=settings.drain)
    checker = KeyChecker(settings.api_keys)
    if checker:
        app.add_middleware(ApiKeyAuth, checker=checker, prefixes=PROTECTED, drain=settings.drain)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ObserveRequests, metrics=metrics, routes=lambda: [getattr(r, "path", "") for r in app.routes])


# Some character Python's str.strip() keeps, spelled out so that JSON Schema's ECMA-262 regexes agree
# (their \s lacks U+001C-U+001F and U+0085 and has U+FEFF, unlike Python's).
NOT_ONLY_SPACE = "[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _openapi_with_limits(app: FastAPI, settings: ServerSettings, tasks: list[str], keys: bool) -> None:
    """The OpenAPI schema says what this server accepts: its tasks, its limits and (with keys) the bearer key.

    The handlers still check each limit themselves, with a message naming it.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        models = schema.get("components", {}).get("schemas", {})
        task = {"enum": tasks}
        if "ClassifyRequest" in models:
            props = models["ClassifyRequest"]["properties"]
            props["texts"].update(minItems=1, maxItems=settings.max_texts)
            props["texts"]["items"]["maxLength"] = settings.max_chars
            props["task"].update(task)
        if "ArticleRequest" in models:
            props = models["ArticleRequest"]["properties"]
            props["text"].update(minLength=1, maxLength=settings.max_article_chars)
            props["task"].update(task)
        if "ExplainRequest" in models:
            props = models["ExplainRequest"]["properties"]
            props["texts"].update(minItems=1, maxItems=settings.max_explain_texts)
            props["texts"]["items"].update(maxLength=settings.max_chars, pattern=NOT_ONLY_SPACE)
            props["task"].update(task)
        if keys:
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API key of this server"}
            }
            for path, operations in schema.get("paths", {}).items():
                if path.startswith(PROTECTED):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


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
    metrics = ServiceMetrics(lambda: {task: b.pending for task, b in registry.batchers.items()})

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()
        loading = loop.run_in_executor(None, registry.load_all)

        async def start_batchers():
            await loading
            if registry.ready.is_set():
                for location, clf in registry.models.items():
                    task = task_of[location]
                    batcher = MicroBatcher(
                        clf,
                        settings.max_batch,
                        settings.max_wait_ms,
                        max_queue=settings.max_queue,
                        on_batch=metrics.batch_observer(task),
                    )
                    batcher.start()
                    registry.batchers[task] = batcher

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
    app.state.metrics = metrics
    _add_service_layers(app, settings, metrics)
    _openapi_with_limits(app, settings, list(tasks), keys=bool(settings.api_keys))

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers)

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
        return error_response(exc.status_code, "http_error", str(exc.detail), headers=exc.headers)

    def batcher_for(task: str) -> MicroBatcher:
        if task not in tasks:
            raise ApiError(400, "unknown_task", f"unknown task {task!r}: this server has {', '.join(tasks)}")
        if not registry.ready.is_set() or task not in registry.batchers:
            raise ApiError(
                503, "loading", "models are still loading: retry when GET /health says ready", {"retry-after": "5"}
            )
        return registry.batchers[task]

    async def run_texts(request: Request, batcher: MicroBatcher, texts: list[str]) -> list[dict[str, Any]]:
        """Admit ``texts`` into the bounded queue (503 when full) and wait under the deadline (504)."""
        if settings.max_queue is not None and len(texts) > settings.max_queue:
            raise ApiError(
                413, "too_many_texts", f"{len(texts)} texts, over this server's queue of max_queue={settings.max_queue}"
            )
        timeout = None
        if settings.request_timeout:
            started = getattr(request.state, STATE_STARTED, None)
            spent = asyncio.get_running_loop().time() - started if started is not None else 0.0
            timeout = max(0.0, settings.request_timeout - spent)
        try:
            return await asyncio.wait_for(batcher.submit(texts), timeout)
        except QueueFull as full:
            retry = max(1, min(60, math.ceil(full.retry_after)))
            raise ApiError(
                503,
                "overloaded",
                f"the server is at capacity ({full}): retry in {retry} s",
                {"retry-after": str(retry)},
            ) from None
        except TimeoutError:
            raise ApiError(
                504, "timeout", f"no answer within request_timeout={settings.request_timeout:g} s: retry later"
            ) from None

    def check_texts(texts: list[str], limit: int, limit_name: str) -> None:
        """The request limits shared by /v1/classify and /v1/explain."""
        if not texts:
            raise ApiError(422, "empty_texts", "texts is empty: send at least one statement")
        if len(texts) > limit:
            raise ApiError(413, "too_many_texts", f"{len(texts)} texts, over {limit_name}={limit}: split the request")
        for i, text in enumerate(texts):
            if len(text) > settings.max_chars:
                raise ApiError(
                    413, "text_too_long", f"texts[{i}] has {len(text)} characters, over max_chars={settings.max_chars}"
                )

    @app.post("/v1/classify", summary="Classify statements", responses=API_ERRORS)
    async def classify(body: ClassifyRequest, request: Request) -> dict[str, Any]:
        check_texts(body.texts, settings.max_texts, "max_texts")
        batcher = batcher_for(body.task)
        results = await run_texts(request, batcher, body.texts)
        return {"task": body.task, "results": results}

    async def explained(batcher: MicroBatcher, work: Callable[[], Any]) -> Any:
        """Explanations run on the model's inference thread; a missing Captum is a clear 501."""
        try:
            return await batcher.run_in_thread(work)
        except StanceError as exc:
            raise ApiError(501, "explain_unavailable", str(exc)) from None

    @app.post("/v1/explain", summary="Which words drove each statement's label", responses=API_ERRORS)
    async def explain(body: ExplainRequest) -> dict[str, Any]:
        check_texts(body.texts, settings.max_explain_texts, "max_explain_texts")
        for i, text in enumerate(body.texts):
            if not text.strip():
                raise ApiError(422, "empty_text", f"texts[{i}] is empty: there are no words to explain")
        batcher = batcher_for(body.task)
        clf = registry.models[tasks[body.task]]
        results = await explained(batcher, lambda: clf.explain(body.texts, method=body.method))
        return {"task": body.task, "results": results}

    @app.post("/v1/classify/article", summary="Classify an article sentence by sentence", responses=API_ERRORS)
    async def classify_article(body: ArticleRequest, request: Request) -> dict[str, Any]:
        if len(body.text) > settings.max_article_chars:
            raise ApiError(
                413,
                "article_too_long",
                f"article has {len(body.text)} characters, over max_article_chars={settings.max_article_chars}",
            )
        if not body.text:  # (whitespace alone is an article of no sentences, as the schema's minLength 1 says)
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
            results = await run_texts(request, batcher, units) if units else []
        return {"task": body.task, **assemble(units, results, clf.labels)}

    @app.get("/v1/models", summary="Loaded models", responses=_errors(401, 429))
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

    @app.get("/health", summary="Readiness", responses={503: {"description": "models are loading"}, **_errors(500)})
    async def health():
        if registry.error:
            return error_response(500, "load_failed", registry.error)
        if not registry.ready.is_set() or len(registry.batchers) < len(tasks):
            return JSONResponse(status_code=503, content={"status": "loading"})
        return {"status": "ready", "models": list(tasks)}

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **_errors(401)},
    )
    async def prometheus_metrics():
        return metrics.response()

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
