"""Fixtures for the cloud-native tests: a real ``moto_server`` subprocess on loopback."""

from __future__ import annotations

import uuid

import pytest

from tests.cloud.servers import S3Server, s3_server
from tests.conftest import require


@pytest.fixture(scope="session")
def s3() -> S3Server:
    """One ``moto_server`` for the session (buckets are per test, see ``bucket``)."""
    require("moto", extra="test")
    with s3_server() as server:
        yield server


@pytest.fixture
def bucket(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new empty bucket on the S3 server, with the test's environment pointed at it."""
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    name = f"eoxr-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    return name
