"""A SageMaker runtime on 127.0.0.1 that fails a seeded share of its invocations, the ways a
real endpoint does, and counts the generations it really did.

It speaks InvokeEndpoint's wire protocol (`POST /endpoints/NAME/invocations`, errors named by
X-Amzn-ErrorType, a 424 ModelError wrapping the container's answer) over the real endpoint
handler (`backends.endpoint.inference`) and a tiny model, so boto3 and the SageMaker backend
cannot tell it from AWS. Faults, by kind:

- `throttle`: 429 ThrottlingException before any work (not billed);
- `unavailable`: 503 ServiceUnavailable before any work (not billed);
- `model_error`: 424 ModelError, the container failing on the request (no image);
- `read_timeout`: the image is made, then the answer is held past the client's read timeout;
- `reset`: the image is made, then the connection is reset instead of answered.

The schedule is fixed by the seed: of each `block` invocations (in arrival order), `share` of
them fail, the kinds taking turns, shuffled. `generations` counts every image the model made,
delivered or not: what an endpoint would have billed.
"""

from __future__ import annotations

import json
import random
import re
import socket
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("throttle", "unavailable", "model_error", "read_timeout", "reset")
_PATH = re.compile(r"/endpoints/([^/]+)/invocations")


class FaultSchedule:
    """Which invocation fails and how: `share` of every `block`, all kinds in turn."""

    def __init__(self, seed: int, share: float = 0.2, block: int = 50) -> None:
        self._random = random.Random(seed)
        self.share, self.block = share, block
        self._plan: list[str | None] = []

    def next(self) -> str | None:
        if not self._plan:
            faults = round(self.block * self.share)
            plan: list[str | None] = [KINDS[i % len(KINDS)] for i in range(faults)]
            plan += [None] * (self.block - faults)
            self._random.shuffle(plan)
            self._plan = plan
        return self._plan.pop(0)


class FaultyEndpoint:
    """Serves `model` with the real handler; `hold_s` is how long a read-timeout fault keeps
    the client waiting (longer than its read timeout)."""

    def __init__(self, model: Any, schedule: FaultSchedule, *, name: str = "test",
                 hold_s: float = 3.0) -> None:
        from backends.endpoint import inference

        self.handler, self.model, self.schedule = inference, model, schedule
        self.name, self.hold_s = name, hold_s
        self.generations = 0  # images the model made, answered or not
        self.delivered = 0  # answers with images that were sent whole
        self.faults: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.invocations = 0
        self._model_lock = threading.Lock()  # one pipeline, as on a real instance
        self._count_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 64
        self._httpd.endpoint = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultyEndpoint:
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def plan(self) -> str | None:
        with self._count_lock:
            self.invocations += 1
            fault = self.schedule.next()
            if fault is not None:
                self.faults[fault] += 1
            return fault

    def generate(self, body: bytes) -> bytes:
        job = self.handler.input_fn(body, "application/json")
        with self._model_lock:
            prediction = self.handler.predict_fn(job, self.model)
        with self._count_lock:
            self.generations += len(prediction.get("images", ())) or 1
        output = self.handler.output_fn(prediction, "application/json")
        return output.encode("utf-8") if isinstance(output, str) else bytes(output)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def endpoint(self) -> FaultyEndpoint:
        return self.server.endpoint  # type: ignore[attr-defined]

    def do_POST(self) -> None:  # noqa: N802 (the http.server naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = _PATH.fullmatch(self.path.split("?")[0])
        if match is None or match.group(1) != self.endpoint.name:
            self._send(400, {"Message": "Endpoint not found."}, "ValidationError")
            return
        fault = self.endpoint.plan()
        if fault == "throttle":
            self._send(429, {"Message": "Rate exceeded"}, "ThrottlingException")
        elif fault == "unavailable":
            self._send(503, {"Message": "Service unavailable"}, "ServiceUnavailable")
        elif fault == "model_error":
            original = json.dumps({"code": 500, "type": "InternalServerException",
                                   "message": "RuntimeError: CUDA out of memory"})
            self._send(424, {"Message": f'Received server error (500) from primary with '
                                        f'message "{original}".',
                             "OriginalStatusCode": 500, "OriginalMessage": original},
                       "ModelError")
        else:
            answer = self.endpoint.generate(body)
            if fault == "read_timeout":
                time.sleep(self.endpoint.hold_s)  # the client has given up by now
                self.close_connection = True
            elif fault == "reset":
                # SO_LINGER 0: close() sends a RST instead of a FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
            else:
                self._send_bytes(200, answer, "")
                with self.endpoint._count_lock:
                    self.endpoint.delivered += 1

    def _send(self, status: int, payload: dict[str, Any], error_type: str) -> None:
        self._send_bytes(status, json.dumps(payload).encode("utf-8"), error_type)

    def _send_bytes(self, status: int, data: bytes, error_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            if error_type:
                self.send_header("X-Amzn-ErrorType", error_type)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass
