"""A moto S3 server on 127.0.0.1 (a free port), spoken to over real HTTP by real boto3."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def moto_s3_server() -> Iterator[str]:
    """Its URL while it runs. Use with the `aws_env` fixture (dummy credentials)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto keeps one state per process, whatever the server: start each test from nothing.
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset",
                                                  method="POST"), timeout=10).close()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(url: str) -> Any:
    import boto3

    return boto3.client("s3", region_name="us-east-1", endpoint_url=url)


def read_s3(s3: Any, url: str) -> bytes:
    bucket, key = url.removeprefix("s3://").split("/", 1)
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
