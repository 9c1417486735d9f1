"""The file store of evidence files: content-addressed by SHA-256, on a local folder by default
or in an S3-compatible bucket (`FILE_STORE=s3://bucket/prefix`).

A file is kept under its hash (`ab/cdef…`), so the same photo sent twice is stored once and a
file's name proves its content. The store never deletes: records are kept. The bucket needs
boto3, an optional extra (`pip install '.[s3]'`): it is imported only when a bucket is
configured, so the bot installs and runs without it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

DEFAULT_FILE_STORE = "data/files"


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def key_of(sha256: str) -> str:
    """Where a file lives in any store: two hex digits of fan-out, then the whole hash."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return f"{sha256[:2]}/{sha256}"


class FileStore(Protocol):
    """Where evidence files are kept, by their SHA-256."""

    def put(self, content: bytes) -> StoredFile: ...

    def get(self, sha256: str) -> bytes: ...

    def has(self, sha256: str) -> bool: ...


class LocalFileStore:
    """Files under a folder, each written to a temporary name and renamed into place, so a crash
    never leaves a half file under a hash."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        return self.root / key_of(sha256)

    def put(self, content: bytes) -> StoredFile:
        digest = sha256_of(content)
        path = self.path_of(digest)
        if not (path.is_file() and path.stat().st_size == len(content)):
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(content)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return StoredFile(digest, len(content))

    def get(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()


class S3FileStore:
    """Files in an S3-compatible bucket (AWS S3, MinIO, Ceph, …) under `prefix` and the same
    keys as the folder's. A file already there is not sent again; one read back is checked
    against its hash, so a damaged object is never passed off as the evidence."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    def key(self, sha256: str) -> str:
        return self.prefix + key_of(sha256)

    def put(self, content: bytes) -> StoredFile:
        digest = sha256_of(content)
        if self._size(digest) != len(content):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(digest),
                Body=content,
                Metadata={"sha256": digest},
            )
        return StoredFile(digest, len(content))

    def get(self, sha256: str) -> bytes:
        content: bytes = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))[
            "Body"
        ].read()
        if sha256_of(content) != sha256:
            raise ValueError(f"s3://{self.bucket}/{self.key(sha256)} does not hash to its name")
        return content

    def has(self, sha256: str) -> bool:
        return self._size(sha256) is not None

    def _size(self, sha256: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])


def split_s3_location(location: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix/"); no prefix is ""."""
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def s3_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 S3 client; credentials come the usual AWS ways (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, a profile, an instance role). A server of one's own (MinIO and the
    like, S3_ENDPOINT_URL) is addressed by path, which they all understand."""
    import boto3
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": "path"} if endpoint_url else {},
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def file_store_for(
    location: str, *, endpoint_url: str | None = None, region: str | None = None
) -> FileStore:
    """The store a FILE_STORE setting names (the settings have checked it)."""
    if location.startswith("s3://"):
        bucket, prefix = split_s3_location(location)
        return S3FileStore(bucket, prefix, client=s3_client(endpoint_url, region))
    return LocalFileStore(location)
