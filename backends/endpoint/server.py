"""`studio endpoint serve`: the endpoint handler behind a local HTTP server.

It speaks two contracts over one port:
- the SageMaker container contract (`GET /ping`, `POST /invocations`), as SageMaker itself
  calls a model container;
- the sagemaker-runtime API (`POST /endpoints/{name}/invocations`, rest-json), as boto3 calls
  AWS. Container failures come back the way SageMaker wraps them (424 ModelError with
  OriginalStatusCode/OriginalMessage), so botocore raises the same exceptions it raises
  against AWS, and a client pointed here with `endpoint_url` cannot tell the difference.

One pipeline serves every request: inference runs under a lock, and the seconds a request
waited for it are reported as `queue_s`. There is no authentication, so it binds to loopback
unless told otherwise.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker real-time inference's request limit
_DRAIN_LIMIT = 64 * 1024 * 1024  # past this an oversized body is not read, the socket is closed
_RUNTIME_PATH = re.compile(r"/endpoints/([^/]+)/invocations")
LOCAL_ACCOUNT = "000000000000"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    error_type: str = ""  # sent as X-Amzn-ErrorType, which botocore reads as the error code


def _json_answer(status: int, payload: dict[str, Any], error_type: str = "") -> Answer:
    return Answer(status, json.dumps(payload).encode("utf-8"), "application/json", error_type)


class EndpointServer:
    """Serves one loaded model. `delay_s` slows every invocation: tests use it for timeouts."""

    def __init__(self, model: Any, *, handler: ModuleType | None = None,
                 host: str = "127.0.0.1", port: int = 8080, endpoint_name: str | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES, delay_s: float = 0.0,
                 access_log: Callable[[str], None] | None = None) -> None:
        self.handler = handler or importlib.import_module("backends.endpoint.inference")
        self.model = model
        self.endpoint_name = endpoint_name
        self.max_body_bytes = max_body_bytes
        self.delay_s = delay_s
        self.access_log = access_log
        self.invocations = 0  # requests that reached the model, counted as they arrive
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _RequestHandler)
        self._httpd.daemon_threads = True
        self._httpd.endpoint = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @classmethod
    def load(cls, model_ref: str, *, speed: str | None = None, **kwargs: Any) -> EndpointServer:
        """Bind, then load `model_ref` (a diffusers or compiled folder, or a hub id)."""
        server = cls(None, **kwargs)
        try:
            server.load_model(model_ref, speed=speed)
        except BaseException:
            server.close()
            raise
        return server

    def load_model(self, model_ref: str, *, speed: str | None = None) -> None:
        """Until this returns, /ping and invocations answer 503, as a starting container does.
        `speed` is the profile to load with; None: STUDIO_SPEED's, as in SageMaker (fast)."""
        if speed is None:
            self.model = self.handler.model_fn(model_ref)
        else:
            self.model = self.handler.load_model(model_ref, speed)

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def start(self) -> EndpointServer:
        """Serve on a background thread (tests, embedding)."""
        self._thread = threading.Thread(target=self.serve_forever, name="endpoint-server",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> EndpointServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the container contract ----------------------------------------------------------

    def invoke(self, body: bytes, content_type: str, accept: str) -> Answer:
        """What a SageMaker container answers to POST /invocations."""
        with self._count_lock:
            self.invocations += 1
        if self.model is None:
            return _json_answer(503, {"code": 503, "type": "ServiceUnavailable",
                                      "message": "The model is still loading."})
        if self.delay_s:
            time.sleep(self.delay_s)
        handler = self.handler
        try:
            job = handler.input_fn(body, content_type or "application/json")
            waiting = time.perf_counter()
            with self._lock:  # one pipeline: concurrent requests take turns
                queue_s = time.perf_counter() - waiting
                prediction = handler.predict_fn(job, self.model)
            timings = prediction.get("timings") if isinstance(prediction, dict) else None
            if isinstance(timings, dict):
                timings["queue_s"] = round(queue_s, 4)
            output = handler.output_fn(prediction, accept or "application/json")
        except handler.BadRequest as exc:
            return _json_answer(400, {"code": 400, "type": "BadRequest", "message": str(exc)})
        except Exception as exc:  # a model failure must answer 500, not drop the connection
            log.exception("The model failed on a request")
            return _json_answer(500, {"code": 500, "type": "InternalServerException",
                                      "message": f"{type(exc).__name__}: {exc}"})
        data = output.encode("utf-8") if isinstance(output, str) else bytes(output)
        return Answer(200, data, "application/json")

    # --- the sagemaker-runtime API -------------------------------------------------------

    def invoke_endpoint(self, name: str, body: bytes, content_type: str, accept: str) -> Answer:
        """What AWS answers to InvokeEndpoint, wrapping the container's answer as AWS does."""
        if self.endpoint_name is not None and name != self.endpoint_name:
            return _json_answer(400, {"Message": f"Endpoint {name} of account {LOCAL_ACCOUNT} "
                                                 "not found."}, "ValidationError")
        if not body:
            return _json_answer(400, {"Message": "Body must not be empty."}, "ValidationError")
        answer = self.invoke(body, content_type, accept)
        if answer.status < 400:
            return answer
        kind = "client" if answer.status < 500 else "server"
        original = answer.body.decode("utf-8", "replace")
        return _json_answer(424, {
            "Message": f"Received {kind} error ({answer.status}) from primary with message "
                       f'"{original}". See the `studio endpoint serve` output for details.',
            "OriginalStatusCode": answer.status,
            "OriginalMessage": original,
        }, "ModelError")


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StudioEndpoint/1"

    @property
    def endpoint(self) -> EndpointServer:
        return self.server.endpoint  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        if urlsplit(self.path).path == "/ping":
            ready = self.endpoint.model is not None
            self._send(Answer(200 if ready else 503, b"{}"))
        else:
            self._send(_not_found(self.path))

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        runtime = _RUNTIME_PATH.fullmatch(path)
        if path != "/invocations" and runtime is None:
            self._send(_not_found(path))
            return
        body = self._read_body()
        if isinstance(body, Answer):
            self._send(body)
            return
        content_type = self.headers.get("Content-Type", "")
        accept = self.headers.get("Accept", "")
        if runtime is None:
            answer = self.endpoint.invoke(body, content_type, accept)
        else:
            answer = self.endpoint.invoke_endpoint(unquote(runtime.group(1)), body,
                                                   content_type, accept)
        self._send(answer, runtime=runtime is not None)

    def _read_body(self) -> bytes | Answer:
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self.close_connection = True
            return _json_answer(411, {"message": "Send a Content-Length header."})
        size, limit = int(length), self.endpoint.max_body_bytes
        if size > limit:
            # Reading the body first lets the client see this answer instead of a reset.
            if size <= _DRAIN_LIMIT:
                remaining = size
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            else:
                self.close_connection = True
            return _json_answer(413, {"message": f"HTTP content length exceeded {limit} bytes."})
        return self.rfile.read(size)

    def _send(self, answer: Answer, *, runtime: bool = False) -> None:
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            if answer.error_type:
                self.send_header("X-Amzn-ErrorType", answer.error_type)
            if runtime and answer.status == 200:
                self.send_header("x-Amzn-Invoked-Production-Variant", "AllTraffic")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout); nothing to tell

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Only the request line and status: never headers (they carry the signature) or bodies.
        if self.endpoint.access_log is not None:
            self.endpoint.access_log(f"{self.address_string()} {format % args}")


def _not_found(path: str) -> Answer:
    return _json_answer(404, {"message": f"Nothing is served at {path}; use GET /ping, POST "
                                         "/invocations or POST /endpoints/NAME/invocations."},
                        "UnknownOperationException")
