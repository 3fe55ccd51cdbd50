"""nginx with a certificate issued by an ACME CA (pebble) through certbot's webroot,
then renewed with nginx reloaded by the deploy hook."""

from __future__ import annotations

import time

from conftest import converge, request
from cryptography import x509

NAME = "shop.example.test"


def served_certificate(address: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(request(address, NAME).peer_certificate)


def test_the_served_certificate_was_issued_by_the_acme_ca(address):
    cert = served_certificate(address)
    issuer = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert issuer.startswith("Pebble Intermediate CA")
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {"shop.example.test", "www.shop.example.test"}


def test_site_uses_the_live_certificate_files(host):
    site = host.file("/etc/nginx/sites-enabled/djangoprod.conf").content_string
    assert "ssl_certificate /etc/letsencrypt/live/djangoprod/fullchain.pem;" in site
    assert host.run("nginx -t").rc == 0


def test_renewal_is_scheduled_with_a_reload_hook(host):
    assert host.service("certbot.timer").is_enabled
    hook = host.file("/etc/letsencrypt/renewal-hooks/deploy/djangoprod-nginx-reload")
    assert hook.mode == 0o755
    assert "systemctl reload nginx" in hook.content_string


def test_a_renewal_is_served_after_the_hook_reloads_nginx(host, address):
    before = served_certificate(address).serial_number
    # Without a terminal certbot would first sleep a random while, as it does on its timer.
    renew = (
        "certbot renew --force-renewal --no-random-sleep-on-renew --non-interactive --cert-name djangoprod"
    )
    out = host.run(f"REQUESTS_CA_BUNDLE=/etc/pebble/tls.crt {renew}")
    assert out.rc == 0, out.stderr
    for _ in range(50):
        if served_certificate(address).serial_number != before:
            return
        time.sleep(0.2)
    raise AssertionError("nginx still serves the old certificate after the renewal")


def test_http_challenge_path_is_served_and_the_rest_redirects(host, address):
    challenges = "/var/www/acme/.well-known/acme-challenge"
    assert host.run(f"mkdir -p {challenges} && echo token-body > {challenges}/probe").rc == 0
    resp = request(address, NAME, "/.well-known/acme-challenge/probe", https=False)
    assert resp.status == 200 and resp.body.strip() == b"token-body"
    assert request(address, NAME, "/", https=False).status == 301


def test_a_refused_issuance_names_the_cas_answer(host, address):
    """A name that does not resolve to the host: the run fails with what the CA said,
    not with certbot's own message (on Debian 12 an AttributeError for any ACME error).
    Then the names as they were: issued again, and served."""
    assert host.run("certbot delete --non-interactive --cert-name djangoprod").rc == 0
    names = ["shop.example.test", "nowhere.example.test"]
    run = converge({"nginx_server_names": names})
    assert run.failed, run.output
    assert "certbot could not obtain a certificate for shop.example.test, nowhere.example.test" in run.output
    assert "The CA answered: urn:ietf:params:acme:error:" in run.output
    assert not host.file("/var/www/acme/.well-known/acme-challenge/djangoprod-probe").exists

    again = converge()
    assert not again.failed, again.output
    test_the_served_certificate_was_issued_by_the_acme_ca(address)


def served_names(address: str) -> set[str]:
    sans = served_certificate(address).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(sans.get_values_for_type(x509.DNSName))


def test_changed_names_get_a_certificate_for_them(address):
    # One name fewer: the CA is asked again, for exactly the names now listed.
    fewer = converge({"nginx_server_names": [NAME]})
    assert not fewer.failed, fewer.output[-3000:]
    assert served_names(address) == {NAME}
    again = converge()
    assert not again.failed, again.output[-3000:]
    assert served_names(address) == {NAME, f"www.{NAME}"}
    assert converge().changed_tasks == []  # the same names: the CA is not asked
