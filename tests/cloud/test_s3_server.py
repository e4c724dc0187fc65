"""The S3 server the cloud tests use is real: objects put by boto3 come back through s3fs."""

from __future__ import annotations

from tests.conftest import require


def test_moto_server_round_trip(s3, bucket):
    s3fs = require("s3fs", extra="cloud")
    s3.client().put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    fs = s3fs.S3FileSystem(endpoint_url=s3.endpoint)
    assert fs.cat(f"{bucket}/a/b.txt") == b"hello"
    assert fs.ls(f"{bucket}/a") == [f"{bucket}/a/b.txt"]
