"""Who may use the service, and what its responses tell browsers.

- :func:`load_api_keys` gathers keys from ``--api-key``, ``STANCE_API_KEYS`` and
  ``--api-keys-file``; keys are never logged.
- :class:`ApiKeyAuth` (ASGI layer): ``Authorization: Bearer KEY`` on every
  protected path, compared in constant time; 401 with ``WWW-Authenticate``.
- :class:`SecurityHeaders` (ASGI layer): Content-Security-Policy allowing only the
  page's own files, ``X-Content-Type-Options``, ``Referrer-Policy``.
- :class:`RedactQueryStrings`: a logging filter that keeps query strings (where a
  careless client may put a key) out of the access log.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
from pathlib import Path
from urllib.parse import parse_qsl

from stance.errors import StanceError
from stance.serving.limits import STATE_CLIENT, DrainPolicy, error_response, reject

logger = logging.getLogger(__name__)

ENV_KEYS = "STANCE_API_KEYS"
QUERY_KEY_NAMES = {"api_key", "apikey", "api-key", "key", "token", "access_token", "auth", "authorization"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def load_api_keys(keys: list[str] | None = None, keys_file: str | None = None, env: dict | None = None) -> list[str]:
    """Every configured key: ``keys`` (flags), the comma list in ``$STANCE_API_KEYS``, and a file (one per line).

    Blank lines and lines starting with ``#`` in the file are skipped. Raises
    :class:`StanceError` for a missing or empty file (naming the file, never a key).
    """
    env = os.environ if env is None else env
    found = [k.strip() for k in keys or [] if k.strip()]
    found += [k.strip() for k in env.get(ENV_KEYS, "").split(",") if k.strip()]
    if keys_file:
        path = Path(keys_file)
        if not path.is_file():
            raise StanceError(f"--api-keys-file {keys_file}: no such file (write one key per line)")
        from_file = [
            line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and line[0] != "#"
        ]
        if not from_file:
            raise StanceError(f"--api-keys-file {keys_file}: no keys in it (write one key per line)")
        found += from_file
    for key in found:
        if any(c.isspace() or not c.isprintable() for c in key):
            raise StanceError("an API key contains spaces or control characters: use printable characters only")
    return list(dict.fromkeys(found))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _digest(text: bytes) -> bytes:
    return hashlib.sha256(text).digest()


class KeyChecker:
    """Constant-time key lookup: every configured key is compared (digests of equal length) on every call."""

    def __init__(self, keys: list[str]) -> None:
        self._digests = [_digest(k.encode()) for k in keys]
        # the identity used for rate limits: a short digest, never the key itself
        self._ids = [f"key:{hashlib.sha256(b'stance-id:' + k.encode()).hexdigest()[:12]}" for k in keys]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def identify(self, token: bytes) -> str | None:
        candidate = _digest(token)
        found = None
        for digest, ident in zip(self._digests, self._ids):
            if hmac.compare_digest(candidate, digest):
                found = ident
        return found


def bearer_token(scope) -> bytes | None:
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return token.strip()
            return None
    return None


def key_in_query(scope) -> bool:
    query = scope.get("query_string") or b""
    if not query:
        return False
    names = {name.lower() for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)}
    return bool(names & QUERY_KEY_NAMES)


class ApiKeyAuth:
    """ASGI layer: paths starting with one of ``prefixes`` need ``Authorization: Bearer KEY``.

    Refused before the body is read: 401 with ``WWW-Authenticate: Bearer`` and a
    JSON error. A key in the URL's query string is refused even when it is valid
    (URLs end up in logs, histories and proxies). On success the key's id (not the
    key) goes into ``scope["state"]`` for the rate limiter.
    """

    def __init__(self, app, checker: KeyChecker, prefixes: tuple[str, ...], drain: DrainPolicy | None = None) -> None:
        self.app, self.checker, self.prefixes = app, checker, prefixes
        self.policy = drain or DrainPolicy()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes) or scope["method"] == "OPTIONS":
            return await self.app(scope, receive, send)  # CORS preflights carry no credentials
        if key_in_query(scope):
            problem = (
                "invalid_request",
                "API keys in the URL are refused (URLs are logged): send the header Authorization: Bearer KEY",
            )
        else:
            token = bearer_token(scope)
            who = self.checker.identify(token) if token is not None else None
            if who is not None:
                scope.setdefault("state", {})[STATE_CLIENT] = who
                return await self.app(scope, receive, send)
            problem = (
                ("invalid_token", "the API key is not valid: send Authorization: Bearer KEY with a configured key")
                if token is not None
                else ("missing_key", "this server needs an API key: send the header Authorization: Bearer KEY")
            )
        code, message = problem
        challenge = f'Bearer realm="stance", error="{code}"' if code != "missing_key" else 'Bearer realm="stance"'
        response = error_response(401, "unauthorized", message, headers={"www-authenticate": challenge})
        return await reject(scope, receive, send, response, self.policy)


class SecurityHeaders:
    """ASGI layer: security headers on every response (CSP except on the interactive docs, which load a CDN)."""

    def __init__(self, app, exempt_csp: tuple[str, ...] = ("/docs", "/redoc")) -> None:
        self.app, self.exempt = app, exempt_csp

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
        if not scope["path"].startswith(self.exempt):
            extra += [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY")]

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return await self.app(scope, receive, with_headers)


class RedactQueryStrings(logging.Filter):
    """Drops query strings from uvicorn's access log lines (a key sent in a URL must not be written down)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?…", *args[3:])
        return True
