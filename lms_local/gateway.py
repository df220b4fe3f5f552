"""API Gateway (HTTP API, payload format 2.0), locally.

Requests are matched against every declared route, protected routes get the JWT
authorizer's check (a bad token never reaches the function), the request becomes the
event API Gateway would send, and the route's own Lambda handler runs on the worker pool.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lms_local import docs
from lms_local.docs import DOCS_PATH
from lms_local.lambdas import ACCOUNT_ID, HandlerNotFound, WorkerPool
from lms_platform import topology
from lms_platform.paths import PathTemplate, split_path
from lms_platform.service import Route, Service

logger = logging.getLogger("lms.gateway")

# API Gateway HTTP API quotas: 10 MB request payload, 30 s integration timeout.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_SECONDS = 30.0
API_ID = "local"
OPENAPI_PATH = "/openapi.json"
PROBLEM_JSON = "application/problem+json"


# --- routes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMatch:
    service: Service
    route: Route
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class Lookup:
    """The route for a request, or the methods the path allows (empty: no such path)."""

    match: RouteMatch | None
    allowed: tuple[str, ...] = ()


class RouteTable:
    def __init__(self, services: Iterable[Service]) -> None:
        self._templates = [(s, r, PathTemplate(r.path)) for s in services for r in s.routes]

    def __iter__(self) -> Any:
        return iter((s, r) for s, r, _ in self._templates)

    def lookup(self, method: str, raw_path: str) -> Lookup:
        segments = split_path(raw_path)
        matches = []
        for service, route, template in self._templates:
            parameters = template.match(segments)
            if parameters is not None:
                matches.append((service, route, template, parameters))
        if not matches:
            return Lookup(None)
        # The path is the most specific template that matches it (literal segments win, as
        # API Gateway prefers them), and it answers only its own methods: PATCH on
        # /courses/c1/modules/order is a 405, not a rename of a module named "order".
        specific = min(template.kinds for _, _, template, _ in matches)
        matches = [m for m in matches if m[2].kinds == specific]
        for service, route, _, parameters in matches:
            if route.method == method.upper():
                decoded = {k: urllib.parse.unquote(v) for k, v in parameters.items()}
                return Lookup(RouteMatch(service, route, decoded))
        return Lookup(None, tuple(sorted({m[1].method for m in matches})))


# --- the JWT authorizer ----------------------------------------------------------------------


class JwtAuthorizer:
    """API Gateway's JWT authorizer: the token from ``Authorization``, verified against the
    issuer's key set, issuer and audience; the claims as API Gateway passes them on."""

    def __init__(
        self, keys: Callable[[], list[dict[str, Any]]], *, issuer: str, audience: str
    ) -> None:
        self._keys = keys
        self.issuer = issuer
        self.audience = audience

    def authorize(self, authorization: str | None) -> dict[str, Any] | None:
        """``{"claims": ..., "scopes": ...}`` for a valid token, else ``None``."""
        from lms_platform.auth import InvalidToken, verify_token

        if not authorization:
            return None
        token = authorization.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            return None
        try:
            claims = verify_token(token, self._keys(), issuer=self.issuer, audience=self.audience)
        except InvalidToken as error:
            logger.debug("token refused: %s", error)
            return None
        scope = claims.get("scope") or claims.get("scp")
        scopes = scope.split() if isinstance(scope, str) else scope
        return {"claims": claims_as_strings(claims), "scopes": scopes or None}


def claims_as_strings(claims: dict[str, Any]) -> dict[str, str]:
    """Claims the way API Gateway hands them to a function: every value a string, arrays
    as ``[a b]``."""
    converted: dict[str, str] = {}
    for name, value in claims.items():
        if value is None:
            continue
        if isinstance(value, bool):
            converted[name] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            converted[name] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, dict):
            converted[name] = json.dumps(value, separators=(",", ":"))
        else:
            converted[name] = str(value)
    return converted


# --- the event --------------------------------------------------------------------------------

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway passes the body as text (otherwise base64, isBase64Encoded)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(_TEXT_TYPES) or media.endswith(("+json", "+xml"))


def query_parameters(raw_query: str) -> dict[str, str] | None:
    """``queryStringParameters``: decoded, a repeated key's values joined with commas."""
    found: dict[str, list[str]] = {}
    for key, value in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        found.setdefault(key, []).append(value)
    return {k: ",".join(v) for k, v in found.items()} or None


def build_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    route: Route,
    path_parameters: dict[str, str],
    authorizer: dict[str, Any] | None,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    now: float | None = None,
    protocol: str = "HTTP/1.1",
) -> dict[str, Any]:
    """The API Gateway HTTP API payload 2.0 event for one request."""
    now = time.time() if now is None else now
    joined: dict[str, list[str]] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            joined.setdefault(lower, []).append(value)
    event_headers = {k: ",".join(v) for k, v in joined.items()}
    host = event_headers.get("host", "127.0.0.1")
    domain = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    event_headers.setdefault("x-forwarded-for", source_ip)
    event_headers.setdefault("x-forwarded-proto", "http")
    if ":" in host and not host.endswith("]"):
        event_headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1])
    request_id = request_id or new_request_id()
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": event_headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:
        request_context["authorizer"] = {"jwt": authorizer}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = event_headers
    query = query_parameters(raw_query)
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["requestContext"] = request_context
    encoded = False
    if body:
        if is_text(event_headers.get("content-type")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                encoded = True
        else:
            encoded = True
        if encoded:
            event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = encoded
    return event


def new_request_id() -> str:
    return secrets.token_urlsafe(12)


# --- responses ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    # A function answered (and logged its own line); otherwise the gateway itself did.
    invoked: bool = False


def reply_from_result(result: Any) -> Reply:
    """A Lambda's answer as API Gateway (payload 2.0) turns it into an HTTP response."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Payload 2.0: anything else is taken as a JSON body with status 200.
        return Reply(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(c)) for c in result.get("cookies") or ())
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = (raw if isinstance(raw, str) else json.dumps(raw)).encode()
    if not any(k.lower() == "content-type" for k, _ in headers) and body:
        headers.append(("Content-Type", "application/json"))
    return Reply(int(result["statusCode"]), headers, body)


def gateway_message(status: int, message: str, **headers: str) -> Reply:
    """API Gateway's own answers (authorizer, limits, failures): ``{"message": ...}``."""
    body = json.dumps({"message": message}).encode()
    return Reply(status, [("Content-Type", "application/json"), *headers.items()], body)


def problem(status: int, title: str, detail: str, **headers: str) -> Reply:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    encoded = json.dumps(body).encode()
    return Reply(status, [("Content-Type", PROBLEM_JSON), *headers.items()], encoded)


UNAUTHORIZED = gateway_message(401, "Unauthorized", **{"WWW-Authenticate": "Bearer"})


# --- the gateway ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name]
        return ",".join(values) if values else None


class Gateway:
    """Routes, authorizes and invokes; independent of the HTTP server so tests call it."""

    def __init__(
        self,
        services: Iterable[Service],
        pool: WorkerPool,
        authorizer: JwtAuthorizer,
        *,
        openapi: Callable[[], dict[str, Any]] | None = None,
        timeout: float = INTEGRATION_TIMEOUT_SECONDS,
        cors_origins: Iterable[str] = (),
    ) -> None:
        self.routes = RouteTable(services)
        self.pool = pool
        self.authorizer = authorizer
        self.timeout = timeout
        self._openapi = openapi
        self._openapi_body: bytes | None = None
        self._openapi_lock = threading.Lock()
        self.cors_origins = frozenset(cors_origins)

    def handle(self, request: Request, request_id: str) -> Reply:
        """As API Gateway answers: CORS for the allowed origins around the routed reply."""
        origin = request.header("origin")
        if origin not in self.cors_origins:
            return self._route(request, request_id)
        assert origin is not None
        if request.method == "OPTIONS" and request.header("access-control-request-method"):
            # A preflight is answered by the gateway itself; no function runs.
            return Reply(
                204,
                [
                    ("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Allow-Methods", "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"),
                    ("Access-Control-Allow-Headers", ",".join(topology.CORS_ALLOW_HEADERS)),
                    ("Access-Control-Max-Age", str(topology.CORS_MAX_AGE_SECONDS)),
                    ("Vary", "Origin"),
                ],
                b"",
            )
        reply = self._route(request, request_id)
        reply.headers.extend([("Access-Control-Allow-Origin", origin), ("Vary", "Origin")])
        return reply

    def _route(self, request: Request, request_id: str) -> Reply:
        if request.method in ("GET", "HEAD"):
            if request.raw_path == OPENAPI_PATH:
                return self._openapi_reply()
            if request.raw_path == DOCS_PATH or request.raw_path.startswith(DOCS_PATH + "/"):
                return self._docs_reply(request.raw_path)
        lookup = self.routes.lookup(request.method, request.raw_path)
        if lookup.match is None:
            if lookup.allowed:
                return problem(
                    405,
                    "Method not allowed",
                    f"{request.raw_path} allows {', '.join(lookup.allowed)}",
                    Allow=", ".join(lookup.allowed),
                )
            return problem(404, "Not found", "no such route")
        match = lookup.match
        authorizer = None
        if not match.route.public:
            authorizer = self.authorizer.authorize(request.header("authorization"))
            if authorizer is None:
                return UNAUTHORIZED
        event = build_event(
            method=request.method,
            raw_path=request.raw_path,
            raw_query=request.raw_query,
            headers=request.headers,
            body=request.body,
            route=match.route,
            path_parameters=match.path_parameters,
            authorizer=authorizer,
            source_ip=request.source_ip,
            request_id=request_id,
            protocol=request.protocol,
        )
        function_name = f"lms-{match.service.name}-{match.route.name.replace('_', '-')}"
        try:
            result = self.pool.invoke(
                match.service.handler_path(match.route),
                event,
                function_name=function_name,
                timeout=self.timeout,
            )
        except FutureTimeout:
            logger.error("%s timed out after %.0f s", function_name, self.timeout)
            return gateway_message(503, "Service Unavailable")
        except HandlerNotFound as error:
            logger.error("%s", error)
            return gateway_message(500, "Internal Server Error")
        except Exception:
            logger.exception("%s failed", function_name)
            return gateway_message(500, "Internal Server Error")
        try:
            reply = reply_from_result(result)
            reply.invoked = True
            return reply
        except Exception:
            logger.exception("%s returned a malformed response", function_name)
            return gateway_message(500, "Internal Server Error")

    def _docs_reply(self, raw_path: str) -> Reply:
        if self._openapi is None:
            return problem(404, "Not found", "no such route")
        if raw_path == DOCS_PATH:
            return Reply(200, [("Content-Type", "text/html; charset=utf-8")], docs.PAGE)
        try:
            found = docs.asset(raw_path.removeprefix(DOCS_PATH + "/"))
        except docs.DocsUnavailable as error:
            return problem(404, "Not found", f"the API explorer is not installed: {error}")
        if found is None:
            return problem(404, "Not found", "no such route")
        body, content_type = found
        return Reply(200, [("Content-Type", content_type), ("Cache-Control", "max-age=3600")], body)

    def _openapi_reply(self) -> Reply:
        if self._openapi is None:
            return problem(404, "Not found", "no such route")
        with self._openapi_lock:
            if self._openapi_body is None:
                self._openapi_body = json.dumps(self._openapi(), indent=2).encode()
        return Reply(200, [("Content-Type", "application/json")], self._openapi_body)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect of API Gateway
    server_version = "lms-gateway"
    timeout = 120  # an idle kept-alive connection is dropped after this
    gateway: Gateway  # set on the subclass made by GatewayServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)

    def _serve(self) -> None:
        started = time.perf_counter()
        request_id = new_request_id()
        parts = urllib.parse.urlsplit(self.path)
        raw_path = parts.path or "/"
        reply = self._read_and_handle(raw_path, parts.query, request_id)
        self._write(reply, request_id)
        elapsed = (time.perf_counter() - started) * 1000
        shown = raw_path + (f"?{parts.query}" if parts.query else "")
        # A function logs its own line for what it served; the gateway for what it answered
        # itself (no route, no token, CORS preflight, a body it could not read).
        logger.log(
            logging.DEBUG if reply.invoked else logging.INFO,
            "%s %s %d %.0fms (gateway)",
            self.command,
            shown,
            reply.status,
            elapsed,
        )

    def _read_and_handle(self, raw_path: str, raw_query: str, request_id: str) -> Reply:
        try:
            body = self._read_body()
        except _TooLarge:
            self.close_connection = True
            return gateway_message(413, "Request Entity Too Large")
        except (ValueError, OSError):
            self.close_connection = True
            return gateway_message(400, "Bad Request")
        request = Request(
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        return self.gateway.handle(request, request_id)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_PAYLOAD_BYTES:
            raise _TooLarge
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            token = self.rfile.readline(1024).split(b";", 1)[0].strip()
            # Hex digits only: int(..., 16) would also take "-5" (and then read to the end
            # of the stream), "+5" and "0x5".
            if not _CHUNK_SIZE.fullmatch(token):
                raise ValueError("malformed chunk size")
            size = int(token, 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_PAYLOAD_BYTES:
                raise _TooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _write(self, reply: Reply, request_id: str) -> None:
        self.send_response(reply.status)
        names = set()
        for name, value in reply.headers:
            if name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            names.add(name.lower())
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("apigw-requestid", request_id)
        if "x-request-id" not in names:
            self.send_header("x-request-id", request_id)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, PROPFIND ...) is routed like these: its path
        # answers 405 with the methods it has, or 404; never Python's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The server's own refusals (a malformed request line, headers too large) as API
        Gateway words them, ``{"message": ...}`` in JSON, rather than Python's HTML page."""
        self.close_connection = True
        # A request line too malformed to name its version reads as HTTP/0.9, which gets a
        # bare body; every client today speaks HTTP/1.x and needs the status line.
        self.request_version = self.protocol_version
        short = self.responses.get(code, ("Error",))[0]
        logger.info("%s %d (gateway: %s)", self.command or "-", code, message or short)
        self._write(gateway_message(code, short), new_request_id())


class _TooLarge(Exception):
    pass


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class GatewayServer:
    """The HTTP server: one thread per connection, each invocation on the worker pool.

    It binds when made, so a busy port fails before anything else starts, and serves
    once ``start`` hands it the gateway (connections made before then wait their turn).
    """

    def __init__(self, host: str, port: int) -> None:
        self._handler: type[_RequestHandler] = type("GatewayRequestHandler", (_RequestHandler,), {})
        self.server = ThreadingHTTPServer((host, port), self._handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.server.server_address[0]!s}:{self.port}"

    def start(self, gateway: Gateway) -> None:
        self._handler.gateway = gateway
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, name="gateway"
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
        self.server.server_close()
