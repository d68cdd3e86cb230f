"""An endpoint whose error echoes the request headers (signature, key id, session token): the
secrets reach neither batches.db, nor the manifest, nor what the CLI prints."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from studio.cli.main import main

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
TOKEN = "TOKENc2Vzc2lvbi10b2tlbi1zZWNyZXQ/abc+def="  # no known STS prefix: found by its name


class _EchoHeaders(BaseHTTPRequestHandler):
    """Answers every invocation with a 424 ModelError quoting the request's headers, as a
    careless container (or proxy) does."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        echoed = json.dumps({"message": f"cannot parse request; headers were {dict(self.headers)}"})
        body = json.dumps({"Message": f'Received client error (400) from primary with message '
                                      f'"{echoed}".', "OriginalStatusCode": 400,
                           "OriginalMessage": echoed}).encode()
        self.send_response(424)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Amzn-ErrorType", "ModelError")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def echo_url(aws_env, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHeaders)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _assert_clean(text: str) -> None:
    assert KEY_ID not in text and TOKEN not in text and TOKEN[:20] not in text
    assert "Signature=" not in text or "Signature=[REDACTED]" in text


def test_echoed_secrets_are_kept_out_of_the_store_the_manifest_and_the_output(
        tmp_path: Path, studio_home: Path, echo_url: str, capsys) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_text("sku,title\nA-1,mug\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["batch", str(catalog), "--template", "a {title}", "--backend", "sagemaker",
                 "--endpoint", "test", "--endpoint-url", echo_url, "--width", "64",
                 "--height", "64", "--steps", "1", "--out", str(out), "--json"])
    printed = capsys.readouterr()
    assert code == 1  # the item failed with its reason; nothing stopped the batch
    summary = json.loads(printed.out.splitlines()[-1])
    reason = summary["failures"][0]["reason"]
    assert "headers were" in reason and "[REDACTED]" in reason  # the echo, without secrets
    _assert_clean(printed.out + printed.err)

    stored = b"".join(path.read_bytes() for path in studio_home.glob("batches.db*"))
    assert KEY_ID.encode() not in stored and TOKEN[:20].encode() not in stored
    _assert_clean((out / "manifest.json").read_text(encoding="utf-8"))

    assert main(["batch", "--list", "1"]) == 0
    _assert_clean(capsys.readouterr().out)

    assert main(["generate", "--prompt", "a mug", "--backend", "sagemaker", "--endpoint", "test",
                 "--endpoint-url", echo_url, "--width", "64", "--height", "64",
                 "--steps", "1"]) == 1  # the model failed on it: as a batch item would
    printed = capsys.readouterr()
    assert "headers were" in printed.err
    _assert_clean(printed.out + printed.err)
