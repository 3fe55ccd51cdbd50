"""The nginx role on its own: a TLS site with a placeholder page, checked from outside."""

from __future__ import annotations

import http.client
import ssl

import pytest
from conftest import exposure, request, tls_context
from cryptography import x509

NAME = "www.example.test"


def test_nginx_is_enabled_and_running(host):
    nginx = host.service("nginx")
    assert nginx.is_enabled
    assert nginx.is_running
    assert host.run("nginx -t").rc == 0


def test_nginx_runs_sandboxed_with_its_workers_as_www_data(host):
    assert exposure(host, "nginx.service") <= 2.5
    pid = host.run("systemctl show -p MainPID --value nginx").stdout.strip()
    status = host.file(f"/proc/{pid}/status").content_string
    # The master keeps the six capabilities it needs and no more: CHOWN, DAC_OVERRIDE,
    # KILL, SETGID, SETUID, NET_BIND_SERVICE.
    assert "CapBnd:\t00000000000004e3" in status
    workers = host.run(f"ps -o user= --ppid {pid}").stdout.split()
    assert workers and set(workers) == {"www-data"}


def test_only_web_ports_and_ssh_listen(host):
    # 127.0.0.11 is the docker network's own DNS resolver, not part of the host.
    listening = {
        int(s.rsplit(":", 1)[1])
        for s in host.socket.get_listening_sockets()
        if s.startswith("tcp") and "127.0.0.11:" not in s
    }
    assert listening == {22, 80, 443}


def test_private_key_is_root_only(host):
    key = host.file("/etc/nginx/tls/djangoprod.key")
    assert key.user == "root"
    assert key.mode == 0o600
    assert host.file("/etc/nginx/tls").mode == 0o700


def test_https_serves_the_site_with_security_headers(address):
    resp = request(address, NAME)
    assert resp.status == 200
    assert b"No application is deployed here yet" in resp.body
    assert resp.header("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
    assert resp.header("X-Content-Type-Options") == "nosniff"
    assert resp.header("Server") == "nginx"  # no version


def test_certificate_names_every_server_name(address):
    resp = request(address, "example.test")
    cert = x509.load_der_x509_certificate(resp.peer_certificate)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {"www.example.test", "example.test"}


def test_http_redirects_to_https(address):
    resp = request(address, NAME, "/some/path?q=1", https=False)
    assert resp.status == 301
    assert resp.header("Location") == f"https://{NAME}/some/path?q=1"


def test_unknown_host_gets_no_http_response(address):
    with pytest.raises(http.client.RemoteDisconnected):
        request(address, "attacker.example", https=False)


def test_unknown_name_gets_no_tls_handshake(address):
    with pytest.raises(ssl.SSLError):
        request(address, "attacker.example")


@pytest.mark.parametrize("path", ["/", "/index.html", "/static/css/plain.css"])
def test_site_name_in_tls_but_another_host_is_misdirected(address, path):
    # The handshake names the site, the Host header another name: nothing is served.
    resp = request(address, NAME, path, headers={"Host": "attacker.example"})
    assert resp.status == 421
    assert b"Welcome to nginx" not in resp.body
    assert b"No application is deployed here yet" not in resp.body


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_modern_tls_versions_are_accepted(address, version):
    resp = request(address, NAME, context=tls_context(version, version))
    assert resp.status == 200
    assert resp.tls_version == version.name.replace("v1_", "v1.")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_legacy_tls_versions_are_refused(address, version):
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        request(address, NAME, context=tls_context(version, version))


def test_site_checker_refuses_a_broken_site_and_accepts_the_live_one(host):
    checker = "/usr/local/sbin/djangoprod-nginx-check-site"
    live = "/etc/nginx/sites-enabled/djangoprod.conf"
    assert host.run(f"{checker} {live} {live}").rc == 0
    host.run("printf 'server { listen 443 ssl; bogus_directive on; }\\n' > /tmp/broken.conf")
    assert host.run(f"{checker} {live} /tmp/broken.conf").rc != 0
    # The live configuration is untouched by the check.
    assert host.run("nginx -t").rc == 0


HASHED = "/static/css/site.0123456789ab.css"


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_hashed_static_file_is_precompressed_and_immutable(address, encoding):
    resp = request(address, NAME, HASHED, headers={"Accept-Encoding": encoding})
    assert resp.status == 200
    assert resp.header("Content-Encoding") == encoding
    assert resp.header("Cache-Control") == "public, max-age=31536000, immutable"
    assert resp.header("Strict-Transport-Security")  # security headers survive the location's own
    assert len(resp.body) < 200  # 1,150 bytes of CSS, sent compressed


def test_unhashed_static_file_gets_a_short_cache(address):
    resp = request(address, NAME, "/static/css/plain.css")
    assert resp.status == 200
    assert resp.header("Cache-Control") == "public, max-age=3600"
    assert resp.header("Content-Type") == "text/css"


@pytest.mark.parametrize("path", ["/media/page.html", "/media/image.svg"])
def test_uploaded_markup_is_a_download_never_rendered(address, path):
    resp = request(address, NAME, path)
    assert resp.status == 200
    assert resp.header("Content-Type") == "application/octet-stream"
    assert resp.header("Content-Disposition") == "attachment"
    assert resp.header("Content-Security-Policy") == "sandbox"
    assert resp.header("X-Content-Type-Options") == "nosniff"


def test_other_uploads_are_sandboxed(address):
    resp = request(address, NAME, "/media/photo.txt")
    assert resp.status == 200
    assert resp.header("Content-Security-Policy") == "sandbox"
    assert resp.header("X-Content-Type-Options") == "nosniff"
