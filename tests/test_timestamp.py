"""RFC 3161 timestamps of manifests, against a local TSA (OpenSSL's, with keys made here)."""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from typer.testing import CliRunner

from evidence.jobs import run_captures
from evidence.store import LocalArtifactStore
from evidence.timestamp import TimestampError, load_roots, request_timestamp, verify_timestamp
from kuzet.cli import app
from kuzet.models import AuditEvent, Capture
from tests.test_cli import env
from tests.webserver import WebServer, html


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key) -> bytes:  # type: ignore[no-untyped-def]
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_tsa(d: Path, cn: str = "kuzet test TSA") -> Path:
    """A root CA and a time-stamping certificate under it, and OpenSSL's TSA config."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(cn + " root"))
        .issuer_name(_name(cn + " root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (d / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (d / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "tsa.key").write_bytes(_pem_key(key))
    (d / "serial").write_text("01\n")
    (d / "tsa.cnf").write_text(
        f"""[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = {d}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""
    )
    return d


class TsaServer:
    """An RFC 3161 TSA over HTTP: ``openssl ts -reply`` answers each query."""

    def __init__(self, d: Path) -> None:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers["Content-Length"]))
                # One reply at a time, as a real TSA's serial counter is: concurrent
                # `openssl ts -reply` runs race on the serial file and one is rejected.
                with tsa.lock, tempfile.TemporaryDirectory() as tmp:
                    q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
                    q.write_bytes(query)
                    subprocess.run(
                        ["openssl", "ts", "-reply", "-config", str(d / "tsa.cnf"),
                         "-queryfile", str(q), "-out", str(r)],
                        check=True, capture_output=True,
                    )  # fmt: skip
                    reply = r.read_bytes()
                tsa.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.requests = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsa"

    def __enter__(self) -> TsaServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    d = make_tsa(tmp_path_factory.mktemp("tsa"))
    with TsaServer(d) as server:
        yield server, d


def test_timestamp_is_checked_offline_against_the_tsa_root(tsa, tmp_path) -> None:
    server, d = tsa
    manifest = b'{"manifest": 1}'
    reply = request_timestamp(manifest, server.url)
    roots = load_roots(d / "ca.pem")
    good = verify_timestamp(reply, manifest, roots)
    assert good.ok and abs(good.time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert not verify_timestamp(reply, manifest + b" ", roots).ok  # other content
    stranger = load_roots(make_tsa(tmp_path, "another TSA") / "ca.pem")
    assert "certificates" in verify_timestamp(reply, manifest, stranger).problem.lower()
    without_root = verify_timestamp(reply, manifest, [])
    assert without_root.ok and "not checked" in without_root.problem
    assert not verify_timestamp(reply, b"other", []).ok


def test_unreachable_tsa_is_an_error(closed_port) -> None:
    with pytest.raises(TimestampError, match="unreachable"):
        request_timestamp(b"x", f"http://127.0.0.1:{closed_port}/tsa", timeout_s=5)


def test_captures_are_timestamped_and_verify_checks_it(
    tsa, settings, db, chromium, closed_port
) -> None:
    server, d = tsa
    stamped = replace(settings, tsa_url=server.url, tsa_ca=d / "ca.pem")
    with WebServer({"/": html("<p>Казино</p>")}) as web:
        with db.session() as s:
            s.add_all([Capture(url=web.url + "/"), Capture(url=web.url + "/?again")])
        assert run_captures(stamped, db).succeeded == 2
        # a TSA that is down: the capture stands, the missing timestamp is on record
        with db.session() as s:
            s.add(Capture(url=web.url + "/?third"))
        down = replace(stamped, tsa_url=f"http://127.0.0.1:{closed_port}/tsa")
        assert run_captures(down, db).succeeded == 1
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        caps = s.scalars(select(Capture).order_by(Capture.id)).all()
        assert [c.artifact("timestamp") is not None for c in caps] == [True, True, False]
        events = {
            e.object_id: e.details
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "capture.stored"))
        }
        assert events[str(caps[0].id)]["timestamp_sha256"] == caps[0].artifact("timestamp").sha256
        assert "unreachable" in events[str(caps[2].id)]["timestamp_error"]
    runner = CliRunner()
    ok = runner.invoke(app, ["evidence", "verify", "--all"], env=env(stamped))
    assert ok.exit_code == 0, ok.output
    # a timestamp of something else put in place of one, stored and recorded properly
    other = store.put(request_timestamp(b"something else", server.url))
    with db.session() as s:
        row = s.get(Capture, caps[1].id).artifact("timestamp")
        row.sha256, row.size = other.sha256, other.size
    bad = runner.invoke(app, ["evidence", "verify", str(caps[1].id)], env=env(stamped))
    assert bad.exit_code == 1
    assert f"capture {caps[1].id}: its RFC 3161 timestamp does not hold" in bad.stderr
    assert f"capture {caps[1].id}: its timestamp is not the one the custody log" in bad.stderr
