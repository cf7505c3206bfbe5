"""The shared moto server fixture serves real AWS API calls over HTTP and resets between tests."""

from __future__ import annotations

import boto3
import pytest


@pytest.mark.parametrize("bucket", ["first", "second"])
def test_each_test_starts_from_an_empty_server(moto: str, bucket: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    assert s3.list_buckets()["Buckets"] == []
    s3.create_bucket(Bucket=bucket)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [bucket]
