"""The HTTP service: the FastAPI app with micro-batching, the ``stance serve`` command and the web page."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {"ServerSettings": "app", "create_app": "app", "MicroBatcher": "batcher", "add_serve": "command"},
)
