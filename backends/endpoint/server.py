"""`studio endpoint serve`: the endpoint handler behind a local HTTP server.

It speaks two contracts over one port:
- the SageMaker container contract (`GET /ping`, `POST /invocations`), as SageMaker itself
  calls a model container;
- the sagemaker-runtime API (`POST /endpoints/{name}/invocations`, rest-json), as boto3 calls
  AWS. Container failures come back the way SageMaker wraps them (424 ModelError with
  OriginalStatusCode/OriginalMessage), so botocore raises the same exceptions it raises
  against AWS, and a client pointed here with `endpoint_url` cannot tell the difference.
  With `enable_async` (`serve --s3-endpoint-url`) it also answers InvokeEndpointAsync
  (`POST /endpoints/{name}/async-invocations`): 202 at once, the work read from and written to
  S3 in the background (async_invocations.py).

Connections are read by one asyncio event loop, not a thread each, so clients that connect
and send nothing, trickle bytes or stop half-way cost no thread: each is cut off when it has
been silent for `read_timeout_s` (or, mid-request, when the whole request has taken
`request_timeout_s`) with a 408, and a body over `max_body_bytes` gets a 413. Only complete
requests reach the model, through a small pool of `workers` threads whose queue holds at most
`max_queued` requests (beyond that: 503, as a busy endpoint answers). One pipeline serves
every request: inference runs under a lock, and the seconds a request waited for its turn
are reported as `queue_s`. There is no authentication, so it binds to loopback unless told
otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import importlib
import io
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

from backends.endpoint.async_invocations import AsyncInvocations, AsyncRequestError

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker real-time inference's request limit
_DRAIN_LIMIT = 64 * 1024 * 1024  # past this an oversized body is not read, the socket is closed
MAX_HEADER_BYTES = 64 * 1024
READ_TIMEOUT_S = 30.0  # silence allowed: before a request starts, or between its bytes
REQUEST_TIMEOUT_S = 120.0  # a whole request (line, headers, 6 MB body) once it has started
WRITE_TIMEOUT_S = 60.0  # a client that stops reading its answer
BACKLOG = 512  # connections the kernel holds before the loop accepts them
WORKERS = 2  # threads that parse, generate (one at a time) and encode
MAX_QUEUED = 256  # complete requests waiting for the model; beyond them: 503
_RUNTIME_PATH = re.compile(r"/endpoints/([^/]+)/invocations")
_ASYNC_PATH = re.compile(r"/endpoints/([^/]+)/async-invocations")
_REASONS = {code.value: code.phrase for code in http.HTTPStatus}
LOCAL_ACCOUNT = "000000000000"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    error_type: str = ""  # sent as X-Amzn-ErrorType, which botocore reads as the error code
    headers: tuple[tuple[str, str], ...] = ()  # more response headers (async locations)


def _json_answer(status: int, payload: dict[str, Any], error_type: str = "") -> Answer:
    return Answer(status, json.dumps(payload).encode("utf-8"), "application/json", error_type)


@dataclass(frozen=True)
class Limits:
    """How long and how much the server waits for and accepts from one client."""

    read_timeout_s: float = READ_TIMEOUT_S
    request_timeout_s: float = REQUEST_TIMEOUT_S
    write_timeout_s: float = WRITE_TIMEOUT_S
    max_body_bytes: int = MAX_BODY_BYTES
    backlog: int = BACKLOG
    workers: int = WORKERS
    max_queued: int = MAX_QUEUED


class EndpointServer:
    """Serves one loaded model. `delay_s` slows every invocation: tests use it for timeouts.
    `limits` (timeouts, body size, backlog, workers, queue) default to what a real client
    needs; tests shorten them."""

    def __init__(self, model: Any, *, handler: ModuleType | None = None,
                 host: str = "127.0.0.1", port: int = 8080, endpoint_name: str | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES, delay_s: float = 0.0,
                 access_log: Callable[[str], None] | None = None,
                 limits: Limits | None = None) -> None:
        self.handler = handler or importlib.import_module("backends.endpoint.inference")
        self.model = model
        self.endpoint_name = endpoint_name
        self.limits = limits or Limits(max_body_bytes=max_body_bytes)
        self.max_body_bytes = self.limits.max_body_bytes
        self.delay_s = delay_s
        self.access_log = access_log
        self.invocations = 0  # requests that reached the model, counted as they arrive
        self.connections = 0  # open client connections, for tests and the curious
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._queued = 0  # requests handed to the workers and not yet answered (loop only)
        self._tasks: set[asyncio.Task[None]] = set()  # open connections, cancelled on close
        self._workers = ThreadPoolExecutor(max_workers=self.limits.workers,
                                           thread_name_prefix="endpoint-worker")
        self._socket = socket.create_server((host, port), backlog=self.limits.backlog)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Set by enable_async: POST /endpoints/NAME/async-invocations, results through S3.
        self.async_invocations: AsyncInvocations | None = None

    def enable_async(self, s3: Any, output_path: str = "", failure_path: str = "") -> None:
        """Answer InvokeEndpointAsync, reading inputs from and writing results to `s3` (a
        boto3 S3 client: AWS, or a local moto server). Without `output_path`, results go to
        s3://<the input's bucket>/async-output."""
        self.async_invocations = AsyncInvocations(
            s3, lambda body, content_type, accept: self.invoke(body, content_type, accept),
            output_path=output_path, failure_path=failure_path)

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
        return str(self._socket.getsockname()[0])

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve until close() (from another thread) or Ctrl+C."""
        asyncio.run(self._serve())

    def start(self) -> EndpointServer:
        """Serve on a background thread (tests, embedding)."""
        self._thread = threading.Thread(target=self.serve_forever, name="endpoint-server",
                                        daemon=True)
        self._thread.start()
        self._started.wait(timeout=10)
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()
        self._workers.shutdown(wait=False, cancel_futures=True)
        if self.async_invocations is not None:
            self.async_invocations.close()

    def __enter__(self) -> EndpointServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, sock=self._socket,
                                            limit=MAX_HEADER_BYTES,
                                            backlog=self.limits.backlog)
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            self._socket.close()

    # --- one connection, on the event loop ------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connections += 1
        peer = writer.get_extra_info("peername")
        client = _Client(reader, writer, str(peer[0]) if peer else "-", self.access_log)
        try:
            while await self._one_request(client):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client went away, or stopped reading its answer: nothing to tell it
        except asyncio.CancelledError:
            pass  # the server is closing; the connection closes with it
        finally:
            self.connections -= 1
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _one_request(self, client: _Client) -> bool:
        """Read, answer and log one request; False when the connection is to be closed."""
        limits, loop = self.limits, asyncio.get_running_loop()
        try:
            first = await asyncio.wait_for(client.reader.read(1), limits.read_timeout_s)
        except TimeoutError:
            return False  # an idle connection: closed without a word, as servers do
        if not first:
            return False
        started = loop.time()
        deadline = started + limits.request_timeout_s
        try:
            rest = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"),
                                          min(limits.read_timeout_s, limits.request_timeout_s))
        except TimeoutError:
            return await client.refuse(_too_slow(limits), "-")
        except (asyncio.LimitOverrunError, ValueError):
            return await client.refuse(_json_answer(431, {
                "message": f"The request headers are over {MAX_HEADER_BYTES} bytes."}), "-")
        request = _parse_head(first + rest)
        if isinstance(request, Answer):
            return await client.refuse(request, "-")
        client.request_line = request.line
        keep_alive = request.keep_alive
        path = urlsplit(request.target).path
        runtime = _RUNTIME_PATH.fullmatch(path)
        asynchronous = _ASYNC_PATH.fullmatch(path)
        if request.method == "GET":
            if request.headers.get("Content-Length", "0").strip() not in ("", "0"):
                keep_alive = False  # a body nobody reads would be taken for the next request
            if path == "/ping":
                return await client.send(Answer(200 if self.model is not None else 503, b"{}"),
                                         keep_alive, limits.write_timeout_s)
            return await client.send(_not_found(path), keep_alive, limits.write_timeout_s)
        if request.method != "POST":
            return await client.refuse(_json_answer(501, {
                "message": f"{request.method} is not served; use GET /ping or POST "
                           "/invocations."}), request.line)
        if path != "/invocations" and runtime is None and asynchronous is None:
            return await client.refuse(_not_found(path), request.line)
        if asynchronous is not None and "Content-Length" not in request.headers \
                and not request.headers.get("Transfer-Encoding"):
            body: bytes | tuple[Answer, bool] = b""  # InvokeEndpointAsync sends no body
        else:
            body = await self._read_body(client, request.headers, deadline)
        if isinstance(body, tuple):
            answer, keep = body
            return await client.send(answer, keep_alive and keep, limits.write_timeout_s)
        if asynchronous is not None:
            answer = await loop.run_in_executor(self._workers, self.invoke_endpoint_async,
                                                unquote(asynchronous.group(1)), request.headers)
            return await client.send(answer, keep_alive, limits.write_timeout_s)
        answer = await self._answer(body, request.headers, runtime)
        return await client.send(answer, keep_alive, limits.write_timeout_s,
                                 runtime=runtime is not None)

    async def _read_body(self, client: _Client, headers: Message,
                         deadline: float) -> bytes | tuple[Answer, bool]:
        """The body, or the answer that refuses it and whether the connection can go on."""
        limits = self.limits
        length = headers.get("Content-Length")
        if length is None or not length.strip().isdigit() or headers.get("Transfer-Encoding"):
            return _json_answer(411, {"message": "Send a Content-Length header."}), False
        size, limit = int(length), self.max_body_bytes
        expects_continue = headers.get("Expect", "").lower() == "100-continue"
        too_large = _json_answer(413, {"message": f"HTTP content length exceeded {limit} bytes."})
        if size > limit and (expects_continue or size > _DRAIN_LIMIT):
            return too_large, False  # the body is not coming, or not worth reading
        if expects_continue:
            client.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            if size > limit:
                # Reading the body first lets the client see this answer instead of a reset.
                await client.read_exactly(size, limits.read_timeout_s, deadline, keep=False)
                return too_large, True
            return await client.read_exactly(size, limits.read_timeout_s, deadline)
        except TimeoutError:
            return _too_slow(limits), False

    async def _answer(self, body: bytes, headers: Message,
                      runtime: re.Match[str] | None) -> Answer:
        """The model's answer, from the worker pool; 503 when too many requests wait."""
        if self._queued >= self.limits.max_queued:
            return _json_answer(503, {"code": 503, "type": "ServiceUnavailable", "message":
                                      f"{self._queued} requests are already waiting for the "
                                      "model; try again shortly."}, "ServiceUnavailable")
        content_type = headers.get("Content-Type", "")
        accept = headers.get("Accept", "")
        queued_at = time.perf_counter()
        self._queued += 1
        try:
            if runtime is None:
                call = functools.partial(self.invoke, body, content_type, accept,
                                         queued_at=queued_at)
            else:
                call = functools.partial(self.invoke_endpoint, unquote(runtime.group(1)), body,
                                         content_type, accept, queued_at=queued_at)
            return await asyncio.get_running_loop().run_in_executor(self._workers, call)
        finally:
            self._queued -= 1

    # --- the container contract ----------------------------------------------------------

    def invoke(self, body: bytes, content_type: str, accept: str, *,
               queued_at: float | None = None) -> Answer:
        """What a SageMaker container answers to POST /invocations. `queued_at`: when the
        request joined the queue (perf_counter), so `queue_s` counts its whole wait."""
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
            waiting = time.perf_counter() if queued_at is None else queued_at
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

    def invoke_endpoint(self, name: str, body: bytes, content_type: str, accept: str, *,
                        queued_at: float | None = None) -> Answer:
        """What AWS answers to InvokeEndpoint, wrapping the container's answer as AWS does."""
        if self.endpoint_name is not None and name != self.endpoint_name:
            return _json_answer(400, {"Message": f"Endpoint {name} of account {LOCAL_ACCOUNT} "
                                                 "not found."}, "ValidationError")
        if not body:
            return _json_answer(400, {"Message": "Body must not be empty."}, "ValidationError")
        answer = self.invoke(body, content_type, accept, queued_at=queued_at)
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

    def invoke_endpoint_async(self, name: str, headers: Message) -> Answer:
        """What AWS answers to InvokeEndpointAsync: 202 with the inference id, and where the
        output and the failure will be written; the work itself runs in the background."""
        if self.endpoint_name is not None and name != self.endpoint_name:
            return _json_answer(400, {"Message": f"Endpoint {name} of account {LOCAL_ACCOUNT} "
                                                 "not found."}, "ValidationError")
        invocations = self.async_invocations
        if invocations is None:
            return _json_answer(400, {"Message": (
                f"Endpoint {name} is not an asynchronous endpoint here: start `studio endpoint "
                "serve` with --s3-endpoint-url URL to answer InvokeEndpointAsync.")},
                "ValidationError")
        try:
            accepted = invocations.accept(
                headers.get("X-Amzn-SageMaker-InputLocation", "").strip(),
                headers.get("X-Amzn-SageMaker-Content-Type", "") or "application/json",
                headers.get("X-Amzn-SageMaker-Accept", "") or "application/json",
                inference_id=headers.get("X-Amzn-SageMaker-Inference-Id", "").strip())
        except AsyncRequestError as exc:
            return _json_answer(400, {"Message": str(exc)}, "ValidationError")
        return Answer(202, json.dumps({"InferenceId": accepted.inference_id}).encode(),
                      headers=(("X-Amzn-SageMaker-OutputLocation", accepted.output_location),
                               ("X-Amzn-SageMaker-FailureLocation",
                                accepted.failure_location)))


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    line: str
    headers: Message
    keep_alive: bool


class _Client:
    """One connection's reader and writer: bounded reads, answers, and the access log."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 address: str, log_line: Callable[[str], None] | None = None) -> None:
        self.reader, self.writer, self.address = reader, writer, address
        self.log_line = log_line
        self.request_line = "-"

    async def read_exactly(self, size: int, idle_s: float, deadline: float, *,
                           keep: bool = True) -> bytes:
        """`size` bytes; TimeoutError when the client falls silent for `idle_s` or the request
        passes its deadline (a client trickling a byte at a time is cut off too)."""
        loop = asyncio.get_running_loop()
        chunks: list[bytes] = []
        remaining = size
        while remaining > 0:
            wait = min(idle_s, deadline - loop.time())
            if wait <= 0:
                raise TimeoutError
            chunk = await asyncio.wait_for(self.reader.read(min(remaining, 1 << 20)), wait)
            if not chunk:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(chunk)
            if keep:
                chunks.append(chunk)
        return b"".join(chunks)

    async def send(self, answer: Answer, keep_alive: bool, write_timeout_s: float, *,
                   runtime: bool = False) -> bool:
        lines = [f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, '')}",
                 "Server: StudioEndpoint/1",
                 f"Content-Type: {answer.content_type}",
                 f"Content-Length: {len(answer.body)}",
                 f"x-amzn-RequestId: {uuid.uuid4()}"]
        if answer.error_type:
            lines.append(f"X-Amzn-ErrorType: {answer.error_type}")
        lines += [f"{name}: {value}" for name, value in answer.headers]
        if runtime and answer.status == 200:
            lines.append("x-Amzn-Invoked-Production-Variant: AllTraffic")
        if not keep_alive:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # Only the request line and status: never headers (they carry the signature) or bodies.
        # Logged before writing, so a client that has its answer finds the request logged.
        if self.log_line is not None:
            self.log_line(f'{self.address} "{self.request_line}" {answer.status} '
                          f"{len(answer.body)}")
        self.writer.write(head + answer.body)
        await asyncio.wait_for(self.writer.drain(), write_timeout_s)
        return keep_alive

    async def refuse(self, answer: Answer, request_line: str) -> bool:
        """Answer and close: what follows on this connection cannot be trusted."""
        if request_line != "-":
            self.request_line = request_line
        with contextlib.suppress(ConnectionError, TimeoutError):
            await self.send(answer, False, 5.0)
        return False


def _parse_head(head: bytes) -> _Request | Answer:
    line, _, rest = head.partition(b"\r\n")
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return _json_answer(400, {"message": "That is not an HTTP/1.x request line."})
    method, target, version = parts
    try:
        headers = http.client.parse_headers(io.BytesIO(rest))
    except http.client.HTTPException as exc:
        return _json_answer(431, {"message": f"Too many or too long headers ({exc})."})
    connection = headers.get("Connection", "").lower()
    keep_alive = ("close" not in connection if version == "HTTP/1.1"
                  else "keep-alive" in connection)
    return _Request(method, target, " ".join(parts), headers, keep_alive)


def _too_slow(limits: Limits) -> Answer:
    return _json_answer(408, {"message": (
        f"The request did not arrive in time: send it whole within "
        f"{limits.request_timeout_s:g} s, with no pause over {limits.read_timeout_s:g} s.")})


def _not_found(path: str) -> Answer:
    return _json_answer(404, {"message": f"Nothing is served at {path}; use GET /ping, POST "
                                         "/invocations or POST /endpoints/NAME/invocations."},
                        "UnknownOperationException")
