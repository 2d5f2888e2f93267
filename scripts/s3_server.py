"""moto's S3 server on 127.0.0.1 as a Pulumi state backend, for the tests and the bench.

One place for how it is started (a free loopback port, an empty state bucket) and how the
CLI is pointed at it (an ``s3://`` backend URL with path-style requests over plain HTTP,
and throwaway credentials), so the S3 figures of ``make bench`` and the S3 tests run the
same backend."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import free_port

BUCKET = "meshstack-state"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "meshstack-test",
    "AWS_SECRET_ACCESS_KEY": "meshstack-test-secret",
    "AWS_REGION": "us-east-1",
}


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    @property
    def backend_url(self) -> str:
        return (
            f"s3://{BUCKET}?endpoint={self.endpoint}&use_path_style=true"
            "&disable_https=true&region=us-east-1"
        )

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_REGION"],
        )

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return [o["Key"] for o in listed.get("Contents", [])]

    def read(self, key: str) -> str:
        body = self.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return str(body.decode())

    def size(self, key: str) -> int:
        return int(self.client().head_object(Bucket=BUCKET, Key=key)["ContentLength"])


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """A running server with an empty state bucket; stopped on leaving."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.2)
        found = S3Server(f"http://127.0.0.1:{port}")
        found.client().create_bucket(Bucket=BUCKET)
        yield found
    finally:
        server.terminate()
        server.wait(timeout=10)
