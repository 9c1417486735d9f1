"""The S3 file store against a local S3-compatible server (moto's): the same keys as the
folder's, a file kept once under its SHA-256, a damaged object refused."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from storage.files import S3FileStore, sha256_of

JPEG = b"\xff\xd8\xff\xe0" + b"leaking plunger" * 10


class CountingClient:
    """The store's client, counting the uploads it makes."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.uploads = 0

    def put_object(self, **params: Any) -> Any:
        self.uploads += 1
        return self.client.put_object(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_the_bucket_keeps_a_file_once_under_its_sha256(s3_store: S3FileStore) -> None:
    counting = CountingClient(s3_store.client)
    store = S3FileStore(s3_store.bucket, s3_store.prefix, client=counting)
    digest = hashlib.sha256(JPEG).hexdigest()
    assert not store.has(digest)
    first, again = store.put(JPEG), store.put(JPEG)
    assert first == again and (first.sha256, first.size) == (digest, len(JPEG))
    assert counting.uploads == 1  # the second is already there
    assert store.has(digest) and store.get(digest) == JPEG
    listing = s3_store.client.list_objects_v2(Bucket=s3_store.bucket)
    assert [o["Key"] for o in listing["Contents"]] == [f"gsp/records/{digest[:2]}/{digest}"]
    head = s3_store.client.head_object(Bucket=s3_store.bucket, Key=store.key(digest))
    assert head["Metadata"] == {"sha256": digest}


def test_an_object_that_no_longer_hashes_to_its_name_is_refused(s3_store: S3FileStore) -> None:
    stored = s3_store.put(JPEG)
    s3_store.client.put_object(
        Bucket=s3_store.bucket, Key=s3_store.key(stored.sha256), Body=b"overwritten"
    )
    with pytest.raises(ValueError, match="does not hash to its name"):
        s3_store.get(stored.sha256)
    # a damaged object of another size is replaced by the next put of the real file
    assert s3_store.put(JPEG) == stored and s3_store.get(stored.sha256) == JPEG


def test_a_missing_file_is_an_error_not_empty_content(s3_store: S3FileStore) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        s3_store.get(sha256_of(b"never stored"))
    with pytest.raises(ValueError, match="not a SHA-256"):
        s3_store.has("../../etc/passwd")
