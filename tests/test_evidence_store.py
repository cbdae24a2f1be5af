from __future__ import annotations

import hashlib
import os

import pytest

from evidence.store import LocalArtifactStore


def test_put_is_content_addressed_idempotent_and_read_only(tmp_path) -> None:
    store = LocalArtifactStore(tmp_path)
    data = b"\x89PNG fake screenshot"
    a = store.put(data)
    b = store.put(data)
    assert a == b and a.sha256 == hashlib.sha256(data).hexdigest() and a.size == len(data)
    path = store.path(a.sha256)
    assert path.parent.parent.name == a.sha256[:2] and path.parent.name == a.sha256[2:4]
    assert store.open_bytes(a.sha256) == data and store.verify(a.sha256)
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    assert not list(path.parent.glob(".tmp-*"))


def test_verify_detects_altered_and_missing_files(tmp_path) -> None:
    store = LocalArtifactStore(tmp_path)
    st = store.put(b"evidence bytes")
    path = store.path(st.sha256)
    path.chmod(0o644)
    raw = bytearray(path.read_bytes())
    raw[0] ^= 1
    path.write_bytes(bytes(raw))
    assert not store.verify(st.sha256)
    path.unlink()
    assert not store.verify(st.sha256) and not store.exists(st.sha256)


def test_rejects_non_digest_names(tmp_path) -> None:
    with pytest.raises(ValueError):
        LocalArtifactStore(tmp_path).path("../../etc/passwd")
