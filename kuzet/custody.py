"""The custody key and the checks of a custody log, with or without its database.

Entries and checkpoints are signed with an Ed25519 key kept outside the database
(``$KUZET_HOME/custody.key``, 0600, or ``KUZET_CUSTODY_KEY_FILE``); checking needs only
the public key (``$KUZET_HOME/custody/custody.pub``, plus any earlier keys kept as
``*.pub`` in ``$KUZET_HOME/custody/keys/``). Checkpoints are also appended to
``$KUZET_HOME/custody/checkpoints.jsonl``, so an end cut off the chain is noticed even
when the checkpoint rows are deleted with it.

The checks here work on plain records (dicts), as read from the database or from an
export, so the same code verifies a live store and an offline copy.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import URL, make_url

from kuzet.i18n import t
from kuzet.secretfile import private_dir, read_or_create

GENESIS = "0" * 64


class CustodyError(RuntimeError):
    """The custody log cannot be written (no key configured for this database)."""


class Problem(str):
    """One finding of a check: an English sentence that also speaks kk/ru/en."""

    key: str
    params: dict[str, Any]

    def __new__(cls, message: str, /, **params: Any) -> Problem:
        obj = super().__new__(cls, t(message, "en", **params))
        obj.key, obj.params = message, params
        return obj

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(payload)).hexdigest()


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_keys(paths: list[Path]) -> dict[str, Ed25519PublicKey]:
    """Key id → public key, from PEM files (one key each)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise CustodyError(f"{path}: not an Ed25519 public key")
        keys[key_id_of(key)] = key
    return keys


class Signer:
    """The private custody key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id_of(self.public)

    def sign(self, data: bytes) -> str:
        return self._private.sign(data).hex()


def _new_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class CustodyFiles:
    """Where one store keeps its custody key, public keys and checkpoints file."""

    key_file: Path
    dir: Path
    checkpoint_every: int = 1000

    @property
    def checkpoints_file(self) -> Path:
        return self.dir / "checkpoints.jsonl"

    @property
    def public_key_file(self) -> Path:
        return self.dir / "custody.pub"

    def signer(self) -> Signer:
        """The private key, created (0600) the first time; its public half is exported."""
        with _lock:
            cached = _signers.get(self.key_file)
            if cached is None:
                pem = read_or_create(self.key_file, _new_key)
                private = serialization.load_pem_private_key(pem, password=None)
                if not isinstance(private, Ed25519PrivateKey):
                    raise CustodyError(f"{self.key_file}: not an Ed25519 private key")
                cached = _signers[self.key_file] = Signer(private)
            if (self.public_key_file, cached.key_id) not in _exported:
                # Only the public half leaves the key file; verification needs no more.
                self._export(public_pem(cached.public))
                _exported.add((self.public_key_file, cached.key_id))
            return cached

    def _export(self, pub: bytes) -> None:
        """Write the public key; one it replaces (a new key) is kept in ``keys/``, so
        entries signed before still verify."""
        current = self.public_key_file
        if current.exists() and current.read_bytes() == pub:
            return
        if current.exists():
            (old,) = load_public_keys([current]).keys()
            private_dir(self.dir / "keys")
            current.replace(self.dir / "keys" / f"{old}.pub")
        private_dir(self.dir)
        current.write_bytes(pub)

    def trusted_keys(self) -> dict[str, Ed25519PublicKey]:
        """The public keys entries may be signed with (never read from the database)."""
        paths = [self.public_key_file] if self.public_key_file.exists() else []
        keys_dir = self.dir / "keys"
        if keys_dir.is_dir():
            paths += sorted(keys_dir.glob("*.pub"))
        keys = load_public_keys(paths)
        if self.key_file.exists():
            signer = self.signer()
            keys[signer.key_id] = signer.public
        return keys

    def append_lines(self, lines: list[dict[str, Any]]) -> None:
        """Append to the checkpoints file (JSON lines, never rewritten)."""
        private_dir(self.dir)
        with _lock, self.checkpoints_file.open("ab") as fh:
            for line in lines:
                fh.write(canonical(line) + b"\n")

    def read_lines(self) -> list[dict[str, Any]]:
        if not self.checkpoints_file.exists():
            return []
        text = self.checkpoints_file.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


_lock = threading.Lock()
_signers: dict[Path, Signer] = {}
_exported: set[tuple[Path, str]] = set()
_registry: dict[str, CustodyFiles] = {}


def _url_key(url: URL | str) -> str:
    return make_url(url).render_as_string(hide_password=False)


def register(database_url: str, files: CustodyFiles) -> None:
    """Bind a database to its custody files (done by :class:`kuzet.config.Settings`)."""
    _registry[_url_key(database_url)] = files


def files_for(url: URL | str) -> CustodyFiles:
    """The custody files of the database at ``url`` (raises :class:`CustodyError`)."""
    files = _registry.get(_url_key(url))
    if files is None:
        raise CustodyError("no custody key is configured for this database")
    return files
