"""The local gateway: route matching, the v2 event it builds, the JWT authorizer's checks,
and how a function's answer becomes the HTTP response."""

from __future__ import annotations

import base64
import http.client
import json
import uuid
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from lms_local.gateway import (
    Gateway,
    Request,
    RouteTable,
    build_event,
    claims_as_strings,
    query_parameters,
    reply_from_result,
)
from lms_platform import auth
from tests.local.conftest import AUDIENCE, FAKE, ISSUER, Calls, token


def request(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> Request:
    return Request(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=[("Host", "127.0.0.1:3000"), *(headers or [])],
        body=body,
        source_ip="127.0.0.1",
    )


def bearer(value: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {value}")]


def json_body(reply: Any) -> Any:
    return json.loads(reply.body)


# --- route matching ---------------------------------------------------------------------------


def test_a_literal_segment_wins_over_a_path_parameter() -> None:
    # Given /things/mine and /things/{thingId}, both GET
    table = RouteTable((FAKE,))
    # When /things/mine is requested Then the literal route serves it, with no parameters
    found = table.lookup("GET", "/things/mine").match
    assert found is not None and found.route.name == "my_things"
    assert found.path_parameters == {}
    # And any other segment is the parameter, percent-decoded
    other = table.lookup("GET", "/things/a%20b").match
    assert other is not None and other.route.name == "get_thing"
    assert other.path_parameters == {"thingId": "a b"}


def test_a_known_path_with_another_method_lists_the_allowed_methods() -> None:
    lookup = RouteTable((FAKE,)).lookup("PUT", "/things/123")
    assert lookup.match is None
    assert lookup.allowed == ("DELETE", "GET")


def test_a_path_answers_only_its_own_methods_even_where_a_parameter_would_fit() -> None:
    # Given /things/mine (GET) next to /things/{thingId} (GET, DELETE)
    table = RouteTable((FAKE,))
    # When /things/mine is deleted
    lookup = table.lookup("DELETE", "/things/mine")
    # Then the literal path wins and lists its own methods: no thing named "mine" is deleted
    assert lookup.match is None
    assert lookup.allowed == ("GET",)
    assert table.lookup("OPTIONS", "/things/mine").allowed == ("GET",)
    assert table.lookup("DELETE", "/things/other").match is not None


def test_an_unknown_path_matches_nothing() -> None:
    for path in ("/nothing", "/things/1/2", "/", "/things/", "/files"):
        lookup = RouteTable((FAKE,)).lookup("GET", path)
        assert lookup.match is None and lookup.allowed == (), path


def test_a_greedy_parameter_takes_the_rest_of_the_path() -> None:
    found = RouteTable((FAKE,)).lookup("GET", "/files/a/b/c.txt").match
    assert found is not None and found.path_parameters == {"path": "a/b/c.txt"}


# --- the event ---------------------------------------------------------------------------------


def test_the_event_is_a_payload_2_0_event_powertools_reads() -> None:
    # Given a request with repeated query keys, repeated headers, cookies and a JSON body
    route = FAKE.route("get_thing")
    event = build_event(
        method="GET",
        raw_path="/things/42",
        raw_query="tag=a&tag=b&q=x%20y&empty=",
        headers=[
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
            ("Cookie", "session=abc; theme=dark"),
            ("User-Agent", "curl/8"),
        ],
        body=b'{"a": 1}',
        route=route,
        path_parameters={"thingId": "42"},
        authorizer={"claims": {"sub": "u1", "roles": "ADMIN STUDENT"}, "scopes": None},
        request_id="rid-1",
        now=1_700_000_000.5,
    )
    # Then it carries every field API Gateway sends, in API Gateway's forms
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /things/{thingId}"
    assert event["rawPath"] == "/things/42"
    assert event["rawQueryString"] == "tag=a&tag=b&q=x%20y&empty="
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "x y", "empty": ""}
    assert event["pathParameters"] == {"thingId": "42"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "1,2"
    assert event["headers"]["content-type"] == "application/json"
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/things/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8",
    }
    assert context["requestId"] == "rid-1"
    assert context["routeKey"] == "GET /things/{thingId}"
    assert context["stage"] == "$default"
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"
    assert context["timeEpoch"] == 1_700_000_000_500
    assert context["domainName"] == "127.0.0.1"
    assert {"accountId", "apiId", "domainPrefix"} <= context.keys()
    assert context["authorizer"]["jwt"]["claims"]["roles"] == "ADMIN STUDENT"
    # And powertools' own data class reads it as a v2 event
    parsed = APIGatewayProxyEventV2(event)
    assert parsed.path == "/things/42"
    assert parsed.http_method == "GET"
    assert parsed.query_string_parameters == {"tag": "a,b", "q": "x y", "empty": ""}
    assert parsed.request_context.authorizer.jwt_claim["sub"] == "u1"
    assert parsed.json_body == {"a": 1}


def test_a_binary_body_travels_base64_encoded() -> None:
    raw = bytes(range(256))
    event = build_event(
        method="POST",
        raw_path="/echo",
        raw_query="",
        headers=[("Content-Type", "application/octet-stream")],
        body=raw,
        route=FAKE.route("echo"),
        path_parameters={},
        authorizer=None,
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw
    # A public route has no authorizer context, and absent parts are absent
    assert "authorizer" not in event["requestContext"]
    assert "queryStringParameters" not in event and "pathParameters" not in event


def test_a_request_without_a_body_has_no_body() -> None:
    event = build_event(
        method="GET",
        raw_path="/things/mine",
        raw_query="",
        headers=[],
        body=b"",
        route=FAKE.route("my_things"),
        path_parameters={},
        authorizer=None,
    )
    assert "body" not in event and event["isBase64Encoded"] is False


def test_repeated_query_keys_are_joined_with_commas() -> None:
    assert query_parameters("a=1&a=2&b=%2C") == {"a": "1,2", "b": ","}
    assert query_parameters("") is None


def test_claims_reach_the_function_as_strings_like_api_gateway_passes_them() -> None:
    claims = {"sub": "u", "exp": 17, "admin": True, "groups": ["a", "b"], "email": None}
    assert claims_as_strings(claims) == {
        "sub": "u",
        "exp": "17",
        "admin": "true",
        "groups": "[a b]",
    }


# --- the JWT authorizer ------------------------------------------------------------------------


def test_a_valid_token_reaches_the_function_with_its_claims(
    gateway: Gateway, signing_key: auth.SigningKey, calls: Calls
) -> None:
    user_id = str(uuid.uuid4())
    reply = gateway.handle(
        request("GET", "/things/mine", headers=bearer(token(signing_key, sub=user_id))), "r1"
    )
    assert reply.status == 200, reply.body
    assert json_body(reply) == {"owner": user_id}
    claims = calls.events[0]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == user_id and claims["roles"] == "STUDENT"
    assert claims["aud"] == AUDIENCE and claims["iss"] == ISSUER
    assert all(isinstance(v, str) for v in claims.values())


def _refused(gateway: Gateway, calls: Calls, headers: list[tuple[str, str]]) -> None:
    reply = gateway.handle(request("GET", "/things/mine", headers=headers), "r")
    assert reply.status == 401
    assert json_body(reply) == {"message": "Unauthorized"}
    assert ("WWW-Authenticate", "Bearer") in reply.headers
    assert calls.events == [], "the function must not be called"


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not a jwt",
        "bad signature",
        "expired",
        "alg none",
        "alg HS256",
        "wrong audience",
        "wrong issuer",
        "unknown key id",
        "no bearer value",
    ],
)
def test_a_bad_token_is_refused_before_the_function_runs(
    case: str,
    gateway: Gateway,
    signing_key: auth.SigningKey,
    other_key: auth.SigningKey,
    calls: Calls,
) -> None:
    headers = {
        "missing": [],
        "not a jwt": bearer("abc.def.ghi"),
        # Signed by another key but claiming the trusted key's id
        "bad signature": bearer(token(other_key, kid=signing_key.kid)),
        "expired": bearer(token(signing_key, expires_in=-60)),
        "alg none": bearer(token(signing_key, algorithm="none")),
        "alg HS256": bearer(token(signing_key, algorithm="HS256")),
        "wrong audience": bearer(token(signing_key, audience="another-api")),
        "wrong issuer": bearer(token(signing_key, issuer="https://evil.example")),
        "unknown key id": bearer(token(other_key)),
        "no bearer value": [("Authorization", "Bearer ")],
    }[case]
    _refused(gateway, calls, headers)


def test_a_public_route_needs_no_token_and_gets_no_claims(gateway: Gateway, calls: Calls) -> None:
    reply = gateway.handle(
        request(
            "POST",
            "/things",
            headers=[("Content-Type", "application/json"), ("Authorization", "Bearer junk")],
            body=b'{"name": "a", "size": 2}',
        ),
        "r",
    )
    assert reply.status == 201, reply.body
    assert json_body(reply)["name"] == "a"
    assert "authorizer" not in calls.events[0]["requestContext"]


# --- answers -------------------------------------------------------------------------------------


def test_routing_failures_are_problem_documents(gateway: Gateway, calls: Calls) -> None:
    missing = gateway.handle(request("GET", "/nothing"), "r")
    assert missing.status == 404
    assert ("Content-Type", "application/problem+json") in missing.headers
    assert json_body(missing)["status"] == 404
    wrong_method = gateway.handle(request("PATCH", "/things/1"), "r")
    assert wrong_method.status == 405
    assert ("Allow", "DELETE, GET") in wrong_method.headers
    assert json_body(wrong_method)["title"] == "Method not allowed"
    assert calls.events == []


def test_validation_by_the_function_comes_back_unchanged(
    gateway: Gateway, signing_key: auth.SigningKey
) -> None:
    reply = gateway.handle(
        request("GET", "/things/not-a-uuid", headers=bearer(token(signing_key))), "r"
    )
    assert reply.status == 422
    assert ("Content-Type", "application/problem+json") in reply.headers


def test_a_function_that_raises_is_a_gateway_500(
    gateway: Gateway, signing_key: auth.SigningKey
) -> None:
    reply = gateway.handle(request("DELETE", "/things/1", headers=bearer(token(signing_key))), "r")
    assert reply.status == 500
    assert json_body(reply) == {"message": "Internal Server Error"}


def test_a_raw_answer_keeps_its_cookies_and_binary_body() -> None:
    reply = reply_from_result(
        {
            "statusCode": 202,
            "headers": {"X-A": "1"},
            "cookies": ["a=1", "b=2"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert reply.status == 202 and reply.body == b"\x00\x01"
    assert ("Set-Cookie", "a=1") in reply.headers and ("Set-Cookie", "b=2") in reply.headers


def test_an_answer_without_a_status_code_is_a_json_200() -> None:
    reply = reply_from_result({"hello": "world"})
    assert reply.status == 200 and json.loads(reply.body) == {"hello": "world"}


# --- over HTTP ------------------------------------------------------------------------------------


def _connect(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=5)


def test_over_http_binary_and_chunked_bodies_and_cookies_round_trip(server: str) -> None:
    connection = _connect(server)
    payload = bytes(range(256)) * 4
    connection.request(
        "POST", "/echo", body=payload, headers={"Content-Type": "application/octet-stream"}
    )
    response = connection.getresponse()
    assert response.status == 200
    assert response.read() == payload
    assert response.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert response.headers["apigw-requestid"]
    # The same kept-alive connection serves a chunked upload
    connection.request(
        "POST",
        "/echo",
        body=iter([b"hello ", b"world"]),
        headers={"Content-Type": "text/plain", "Transfer-Encoding": "chunked"},
        encode_chunked=True,
    )
    chunked = connection.getresponse()
    assert chunked.status == 200 and chunked.read() == b"hello world"
    connection.close()


def test_over_http_a_body_beyond_api_gateways_limit_is_413_unread(server: str) -> None:
    connection = _connect(server)
    connection.putrequest("POST", "/echo")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(11 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Entity Too Large"}
    connection.close()


def test_over_http_the_openapi_document_is_served(server: str) -> None:
    connection = _connect(server)
    connection.request("GET", "/openapi.json")
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read()) == {"openapi": "3.1.0"}
    connection.close()


def _raw(server: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are, read the answer: for requests http.client would not send."""
    import socket

    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
            if "content-length" in headers and len(body) >= int(headers["content-length"]):
                return int(lines[0].split()[1]), headers, body
    raise AssertionError(f"no complete answer: {received!r}")


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO"])
def test_over_http_any_method_is_routed_never_a_python_501(server: str, method: str) -> None:
    status, headers, body = _raw(
        server, f"{method} /things/42 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode()
    )
    assert status == 405
    assert headers["allow"] == "DELETE, GET"
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 405


@pytest.mark.parametrize("size", [b"-5", b"+5", b"0x5", b"zz", b""])
def test_over_http_a_malformed_chunk_size_is_400_as_api_gateway_words_it(
    server: str, size: bytes, calls: Calls
) -> None:
    status, headers, body = _raw(
        server,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + size
        + b"\r\nabcde\r\n0\r\n\r\n",
    )
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": "Bad Request"}
    assert calls.events == []  # no function ran


def test_over_http_a_malformed_request_line_is_json_not_html(server: str) -> None:
    status, headers, body = _raw(server, b"GET /things/42 HTTP/1.1 extra\r\nHost: x\r\n\r\n")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": "Bad Request"}


def test_over_http_the_api_explorer_is_served(server: str) -> None:
    connection = _connect(server)
    connection.request("GET", "/docs")
    page = connection.getresponse()
    assert page.status == 200 and b"swagger-ui-bundle.js" in page.read()
    connection.request("GET", "/docs/swagger-ui-bundle.js")
    bundle = connection.getresponse()
    assert bundle.status == 200
    assert bundle.headers["Content-Type"].startswith("text/javascript")
    assert len(bundle.read()) > 100_000
    connection.close()


# --- cross-origin requests ------------------------------------------------------------------


def _cors_gateway(gateway: Gateway) -> Gateway:
    gateway.cors_origins = frozenset({"http://localhost:5173"})
    return gateway


def test_a_preflight_from_an_allowed_origin_is_answered_without_running_a_function(
    gateway: Gateway, calls: Calls
) -> None:
    reply = _cors_gateway(gateway).handle(
        request(
            "OPTIONS",
            "/things",
            headers=[
                ("Origin", "http://localhost:5173"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "authorization,content-type"),
            ],
        ),
        "r",
    )
    headers = dict(reply.headers)
    assert reply.status == 204
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "POST" in headers["Access-Control-Allow-Methods"].split(",")
    assert {"authorization", "content-type"} <= set(
        headers["Access-Control-Allow-Headers"].split(",")
    )
    assert calls.events == []


def test_an_answer_to_an_allowed_origin_says_so_and_others_get_no_cors_headers(
    gateway: Gateway, calls: Calls
) -> None:
    body = b'{"name": "a", "size": 2}'
    allowed = _cors_gateway(gateway).handle(
        request("POST", "/things", headers=[("Origin", "http://localhost:5173")], body=body), "r"
    )
    other = gateway.handle(
        request("POST", "/things", headers=[("Origin", "https://evil.example")], body=body), "r"
    )
    assert allowed.status == other.status == 201
    assert ("Access-Control-Allow-Origin", "http://localhost:5173") in allowed.headers
    assert not any(k.lower().startswith("access-control") for k, _ in other.headers)


def test_a_preflight_from_another_origin_is_routed_like_any_request(
    gateway: Gateway, calls: Calls
) -> None:
    reply = _cors_gateway(gateway).handle(
        request(
            "OPTIONS",
            "/things",
            headers=[("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")],
        ),
        "r",
    )
    assert reply.status == 405
    assert not any(k.lower().startswith("access-control") for k, _ in reply.headers)


def test_a_wildcard_origin_is_refused_in_configuration() -> None:
    from lms_platform.topology import cors_origins

    assert cors_origins(" http://a.example ,http://b.example") == (
        "http://a.example",
        "http://b.example",
    )
    assert cors_origins(None) == ()
    with pytest.raises(ValueError, match="not allowed"):
        cors_origins("*")
