"""A real S3-compatible server for the tests: moto's, in a thread of the test process,
listening on 127.0.0.1 on a free port. Its buckets are made and inspected with boto3 (which
moto brings); the code under test reaches it only over HTTP, as it would reach MinIO."""

from __future__ import annotations

import secrets
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

# moto takes any key pair until its authentication is switched on (`require_auth`).
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


@contextmanager
def running_moto() -> Iterator[str]:
    """The server's endpoint URL while the block runs."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def admin_client(endpoint: str, service: str = "s3") -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def new_bucket(endpoint: str) -> str:
    name = f"test-{secrets.token_hex(6)}"
    admin_client(endpoint).create_bucket(Bucket=name)
    return name


def object_keys(endpoint: str, bucket: str) -> list[str]:
    found = admin_client(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in found.get("Contents", []))


def require_auth(endpoint: str, on: bool) -> None:
    """Switch moto's checking of signatures and IAM policies on (every request after this
    one) or off. The setting is the moto process's, so a test that turns it on turns it off
    before it ends."""
    body = b"0" if on else b"inf"
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=body,
        headers={"Content-Type": "text/plain"},  # not a form: moto reads the raw body
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
