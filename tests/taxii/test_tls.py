"""TLS is verified: `cbm taxii serve` with a certificate from a private CA; cbm pulls over https only when given
that CA (--ca-file), and refuses otherwise. Certificates are made by the real openssl command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cbm.taxii.server import collection_id
from tests.cli.test_contract import assert_error
from tests.taxii.test_serve import store_with_indicators  # noqa: F401  (a fixture)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "pki"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
             "-subj", "/CN=test CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"))
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
             "-CAcreateserial", "-days", "2", "-extfile", str(d / "ext"), "-out", str(d / "server.pem"))
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


def test_https_with_the_ca_file_and_refused_without(store_with_indicators, serve, make_party, pki, tmp_path):  # noqa: F811
    served = serve(store_with_indicators, "--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"]))
    assert served.url.startswith("https://127.0.0.1:")
    fr = make_party("FR")
    pw = tmp_path / "pw"
    pw.write_text("correct horse battery")
    common = [served.url, "--api-root", "/cbm/", "--collection", collection_id("GREEN"), "--user", "opencti",
              "--password-file", str(pw)]
    assert fr.cli("taxii", "add", "trusted", *common, "--ca-file", str(pki["ca"])).exit_code == 0
    assert fr.cli("taxii", "add", "untrusted", *common).exit_code == 0
    assert_error(fr.cli("indicators", "pull", "untrusted"), 7, "TLS certificate of 127.0.0.1 not accepted")
    r = fr.cli("indicators", "pull", "trusted", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["created"] == 25
