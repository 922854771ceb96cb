"""Regions and company networks, through real mounts: region=, cacert= and
the CA bundle variables against the simulator served over TLS with its own
CA, what each failed certificate check says, and https_proxy/no_proxy.

The certificates are made once per module with the openssl command
(contrib/ensure-deps.sh installs it): a test CA, and for 127.0.0.1 a good
server certificate (IP SAN), one for another name and an expired one.

Backends: v3 only: TLS and proxies are the shared transport's.
"""

import errno
import os
import pathlib
import select
import shutil
import socket
import socketserver
import subprocess
import threading

import pytest

from conftest import PIPELINE_SUCCESS, errno_of, in_mount_table, log_lines, read

STATUS = pathlib.Path(PIPELINE_SUCCESS) / "7" / "status"
# the daemon must see only the CA bundle a test gives it
CA_VARIABLES = ("CURL_CA_BUNDLE", "SSL_CERT_FILE")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                   "no_proxy", "NO_PROXY")
REGION_HOST = "https://cloudpipeline-ext.cn-north-4.myhuaweicloud.com"

CA_CONFIG = """\
[ca]
default_ca = test
[test]
database = {dir}/index.txt
serial = {dir}/serial
new_certs_dir = {dir}
default_md = sha256
policy = any
[any]
commonName = supplied
[server]
subjectAltName = IP:127.0.0.1
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Paths: ca, key (the servers' key), good, wrong_name, expired."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is missing: run contrib/ensure-deps.sh")
    top = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "30", "-subj", "/CN=pipelinefs test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=top)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
            "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=top)
    for name, san in (("good", "IP:127.0.0.1"), ("wrong_name", "DNS:wrong.example")):
        (top / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "30", "-extfile", f"{name}.ext",
                "-out", f"{name}.pem", cwd=top)
    # x509 cannot date a certificate in the past before OpenSSL 3.4: ca can
    (top / "db").mkdir()
    (top / "db" / "index.txt").write_text("")
    (top / "db" / "serial").write_text("01\n")
    (top / "ca.cnf").write_text(CA_CONFIG.format(dir=top / "db"))
    openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
            "-in", "server.csr", "-out", "expired.pem", "-notext", "-extensions", "server",
            "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", cwd=top)
    return {name: top / f"{name}.pem" for name in ("ca", "good", "wrong_name", "expired")} | {
        "key": top / "server.key"}


@pytest.fixture
def tls_sim(sim_factory, pki):
    """tls_sim(cert="good") -> a Simulator serving HTTPS with that certificate."""
    def start(cert="good"):
        return sim_factory(tls=(pki[cert], pki["key"]))
    return start


def clean_env(**variables):
    """The environment for a daemon: no CA bundle or proxy variable but these."""
    env = {name: "" for name in CA_VARIABLES + PROXY_VARIABLES}
    env.update(variables)
    return env


def mount_tls(mount_factory, tmp_path, sim, options=None, **variables):
    return mount_factory(sim.url, tmp_path / "mnt", options or {}, env=clean_env(**variables))


def assert_refused(mount, sim, *texts):
    """A read fails as a network error, the log says why, the server saw no request."""
    assert errno_of(read, mount.mountpoint / STATUS) in (errno.EIO, errno.ECOMM)
    assert log_lines(mount, *texts), mount.log()
    assert sim.api_requests(PIPELINE_SUCCESS) == []


# --------------------------------------------------------------------------
# CA bundles


def test_cacert_verifies_the_tls_simulator(tls_sim, pki, mount_factory, tmp_path):
    sim = tls_sim()
    assert sim.url.startswith("https://127.0.0.1:")
    mount = mount_tls(mount_factory, tmp_path, sim, {"cacert": pki["ca"]})
    assert read(mount.mountpoint / STATUS) == b"completed\n"
    assert len(sim.api_requests(PIPELINE_SUCCESS)) == 1
    assert log_lines(mount, "TLS: servers checked against", str(pki["ca"]), "cacert")


def test_unknown_ca_is_named_with_the_cacert_hint(tls_sim, mount_factory, tmp_path):
    sim = tls_sim()
    mount = mount_tls(mount_factory, tmp_path, sim)
    assert_refused(mount, sim, "TLS: unknown certificate authority", "127.0.0.1",
                   "-o cacert=PATH")


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_ca_bundle_variable_is_honoured(tls_sim, pki, mount_factory, tmp_path, variable):
    sim = tls_sim()
    mount = mount_tls(mount_factory, tmp_path, sim, **{variable: str(pki["ca"])})
    assert read(mount.mountpoint / STATUS) == b"completed\n"
    assert log_lines(mount, "TLS: servers checked against", variable)


def test_cacert_wins_over_the_variables(tls_sim, pki, mount_factory, tmp_path):
    sim = tls_sim()
    mount = mount_tls(mount_factory, tmp_path, sim, {"cacert": pki["ca"]},
                      CURL_CA_BUNDLE=str(pki["good"]), SSL_CERT_FILE=str(pki["good"]))
    assert read(mount.mountpoint / STATUS) == b"completed\n"


def test_name_mismatch_is_named(tls_sim, pki, mount_factory, tmp_path):
    sim = tls_sim("wrong_name")
    mount = mount_tls(mount_factory, tmp_path, sim, {"cacert": pki["ca"]})
    assert_refused(mount, sim, "TLS: certificate name mismatch (127.0.0.1)")


def test_expired_certificate_is_named(tls_sim, pki, mount_factory, tmp_path):
    sim = tls_sim("expired")
    mount = mount_tls(mount_factory, tmp_path, sim, {"cacert": pki["ca"]})
    assert_refused(mount, sim, "TLS: certificate expired (127.0.0.1)")


BAD_BUNDLES = {
    "missing": (lambda tmp: tmp / "missing.pem", "No such file or directory"),
    "directory": (lambda tmp: tmp, "not a regular file"),
}


@pytest.mark.parametrize("make, reason", BAD_BUNDLES.values(), ids=BAD_BUNDLES.keys())
@pytest.mark.parametrize("source", ["cacert", "CURL_CA_BUNDLE"])
def test_bad_ca_bundle_is_refused_at_start(sim, mount_factory, tmp_path, make, reason, source):
    path = make(tmp_path)
    options = {"cacert": path} if source == "cacert" else {}
    variables = {} if source == "cacert" else {source: str(path)}
    mount = mount_factory(sim.url, tmp_path / "mnt", options, env=clean_env(**variables),
                          wait=False)
    assert mount.wait_exit() == 1
    assert mount.log().strip() == f"pipelinefs: {source}={path}: {reason}" + (
        " (expected a PEM bundle of CA certificates)" if reason == "not a regular file" else "")


# --------------------------------------------------------------------------
# Proxies: libcurl reads https_proxy and no_proxy itself


class ConnectProxy(socketserver.ThreadingTCPServer):
    """A tiny HTTP CONNECT proxy on 127.0.0.1 that records each target."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.targets = []
        super().__init__(("127.0.0.1", 0), ConnectHandler)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class ConnectHandler(socketserver.StreamRequestHandler):
    def handle(self):
        request = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if len(request) < 2 or request[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return
        self.server.targets.append(request[1])
        host, port = request[1].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            pipe(self.connection, upstream)


def pipe(client, upstream):
    """Copy bytes both ways until either side closes."""
    sockets = [client, upstream]
    while True:
        readable, _, _ = select.select(sockets, [], [])
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is client else client).sendall(data)


@pytest.fixture
def proxy():
    server = ConnectProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_https_proxy_is_used(tls_sim, pki, proxy, mount_factory, tmp_path):
    sim = tls_sim()
    mount = mount_tls(mount_factory, tmp_path, sim, {"cacert": pki["ca"]},
                      https_proxy=proxy.url)
    assert read(mount.mountpoint / STATUS) == b"completed\n"
    assert proxy.targets == [f"127.0.0.1:{sim.port}"]


def test_no_proxy_bypasses_the_proxy(tls_sim, pki, proxy, mount_factory, tmp_path):
    sim = tls_sim()
    mount = mount_tls(mount_factory, tmp_path, sim, {"cacert": pki["ca"]},
                      https_proxy=proxy.url, no_proxy="127.0.0.1")
    assert read(mount.mountpoint / STATUS) == b"completed\n"
    assert proxy.targets == []


# --------------------------------------------------------------------------
# Regions


def test_unknown_region_lists_the_known_ones(sim, mount_factory, tmp_path):
    mount = mount_factory(sim.url, tmp_path / "mnt", {"region": "xx-nowhere-9"}, wait=False)
    assert mount.wait_exit() == 1
    lines = mount.log().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("pipelinefs: region xx-nowhere-9: unknown; known regions: "
                               "cn-north-1, cn-north-4, ")
    for region in ("ap-southeast-3", "tr-west-1", "af-south-1"):
        assert region in lines[0]


def test_endpoint_wins_over_region(sim, mount_factory, tmp_path):
    mount = mount_factory(sim.url, tmp_path / "mnt", {"region": "cn-north-4"})
    assert read(mount.mountpoint / STATUS) == b"completed\n"
    assert len(sim.api_requests(PIPELINE_SUCCESS)) == 1


def test_region_picks_the_api_host(mount_factory, tmp_path):
    """Nothing is fetched at mount: the host shows as the mount's source."""
    mount = mount_factory(None, tmp_path / "mnt", {"region": "cn-north-4"},
                          env={"PIPELINEFS_ENDPOINT": ""})
    assert in_mount_table(mount.mountpoint)
    with open("/proc/self/mounts", encoding="utf-8") as table:
        sources = [line.split()[0] for line in table
                   if line.split()[1] == str(mount.mountpoint)]
    assert sources == [REGION_HOST]


def test_no_endpoint_and_no_region_mentions_region(mount_factory, tmp_path):
    mount = mount_factory(None, tmp_path / "mnt", env={"PIPELINEFS_ENDPOINT": ""},
                          wait=False)
    assert mount.wait_exit() == 1
    assert "-o region=NAME" in mount.log()
