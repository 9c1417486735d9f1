"""The file store of evidence files: content-addressed by SHA-256, on a local folder by default.

A file is kept under its hash (`ab/cdef…`), so the same photo sent twice is stored once and a
file's name proves its content. The store never deletes: records are kept. A deployment that
outgrows one machine implements `FileStore` over an S3-compatible bucket (put/get/has by the
same keys); only the local folder ships today.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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


def file_store_for(location: str) -> FileStore:
    """The store a FILE_STORE setting names (the settings have checked it)."""
    return LocalFileStore(location)
