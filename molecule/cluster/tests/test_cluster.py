"""The site split over a load balancer, two web servers, a database server, a cache
server and a worker: service ports open only to the hosts that use them, the same
secrets and settings on both web servers, migrations run once, a rolling deploy
through the load balancer without a failed request, a worker using the database,
uploads in a bucket both web servers read, and ACME on the load balancer alone.

Each test names the host it runs on; testinfra's `host` is not used."""

from __future__ import annotations

import html
import re
import secrets
import shutil
import ssl
import urllib.request
from pathlib import Path

import pytest
from conftest import Browser, Load, assert_refused, converge, host_address, main_pid, request, scenario_hosts
from cryptography import x509

NAME = "guestbook.test"
HOSTS = ("lb", "web1", "web2", "db", "cache", "worker")
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "guestbook"
# What the app tries after its database password while a rotation is under way.
PREVIOUS = "/etc/djangoprod/guestbook/database_previous_passwords"
# The S3 server converge.yml starts on the controller (molecule.yml: djangoprod_media_s3).
S3_PORT = 9422
MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("entries", "0001_initial")]
    operations = [migrations.AddField("entry", "mood", models.CharField(max_length=20, default=""))]
"""


@pytest.fixture(scope="module")
def hosts() -> dict:
    return scenario_hosts(HOSTS, "djp-cluster-")


@pytest.fixture(scope="module")
def addresses() -> dict[str, str]:
    return {name: host_address(f"djp-cluster-{name}") for name in HOSTS}


def bucket(prefix: str) -> str:
    """The uploads bucket's listing under `prefix`, asked of the S3 server directly."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    url = f"https://127.0.0.1:{S3_PORT}/djp-media?prefix={prefix}"
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        return response.read().decode()


def reaches(client, address: str, port: int) -> bool:
    """Whether a TCP connection from `client` to address:port opens within 3 seconds."""
    return client.run(f"timeout 3 bash -c '</dev/tcp/{address}/{port}'").rc == 0


@pytest.mark.parametrize(
    "server,port", [("db", 5432), ("cache", 6379), ("cache", 11211)], ids=["postgresql", "redis", "memcached"]
)
def test_service_ports_answer_the_app_hosts_and_not_the_lb(hosts, addresses, server, port):
    for client in ("web1", "web2", "worker"):
        assert reaches(hosts[client], addresses[server], port), f"{client} cannot reach {server}:{port}"
    assert not reaches(hosts["lb"], addresses[server], port), f"the lb reaches {server}:{port}"


def test_web_servers_share_the_secret_key_and_the_settings(hosts, addresses):
    def fingerprint(name: str) -> tuple[str, str, str]:
        host = hosts[name]
        key = host.run("sha256sum /etc/djangoprod/guestbook/secret_key").stdout.split()[0]
        settings = host.run("sha256sum /srv/guestbook/current/djangoprod_settings.py").stdout.split()[0]
        return key, settings, host.file("/srv/guestbook/current").linked_to

    web1, web2 = fingerprint("web1"), fingerprint("web2")
    assert web1 == web2
    assert re.fullmatch(r"[0-9a-f]{64}", web1[0])
    # the remote database over TLS, its SCRAM exchange bound to the server's certificate
    settings = hosts["web1"].file("/srv/guestbook/current/djangoprod_settings.py").content_string
    assert "'sslmode': 'require'," in settings and "'channel_binding': 'require'," in settings

    # A deploy limited to web2, which has lost its copy (a rebuilt host): the key comes
    # from web1 again, not generated anew on the first host of the run, and the
    # passwords from the database and cache servers, which are not in the run.
    assert hosts["web2"].run("rm /etc/djangoprod/guestbook/secret_key").rc == 0
    passwords = hosts["web2"].run("sha256sum /etc/djangoprod/guestbook/*password").stdout
    run = converge(playbook="../../playbooks/deploy.yml", limit="djp-cluster-web2")
    assert run.rc == 0, run.output[-3000:]
    assert fingerprint("web2") == web1
    assert hosts["web2"].run("sha256sum /etc/djangoprod/guestbook/*password").stdout == passwords
    assert request(addresses["web2"], NAME, "/count/").status == 200

    # A database password changed in the vault: a deploy refuses (the app would get a
    # password PostgreSQL does not know), naming the variable, without telling it, and
    # changes nothing; site.yml is the run that changes it.
    kept = hosts["db"].run("sha256sum /etc/djangoprod/secrets/guestbook-database").stdout
    vault = {"djangoprod_database_password": "changed-in-the-vault-1234"}
    run = converge(vault, "../../playbooks/deploy.yml")
    assert run.rc != 0
    assert "djangoprod_database_password differs from the password the database server" in run.output
    assert "changed-in-the-vault-1234" not in run.output
    assert run.changed_tasks == [], run.changed_tasks
    assert hosts["db"].run("sha256sum /etc/djangoprod/secrets/guestbook-database").stdout == kept
    assert request(addresses["lb"], NAME, "/count/").status == 200


def test_the_site_answers_through_the_lb_from_both_web_servers(hosts, addresses):
    browser = Browser(addresses["lb"], NAME)
    response = browser.post("/", {"author": "cluster test", "text": "through the load balancer"})
    assert response.status == 302, response.body[:500]
    assert "through the load balancer" in browser.get("/").body.decode()

    # the load balancer spreads requests over both web servers' nginx
    def hellos(name: str) -> int:
        out = hosts[name].run("grep -c 'GET /hello/' /var/log/nginx/access.log || true")
        return int(out.stdout.strip() or 0)

    before = {name: hellos(name) for name in ("web1", "web2")}
    for _ in range(20):
        assert request(addresses["lb"], NAME, "/hello/").status == 200
    after = {name: hellos(name) for name in ("web1", "web2")}
    assert all(after[name] > before[name] for name in after), (before, after)
    # ...over TLS it verifies: each web server's certificate, trusted one by one
    site = hosts["lb"].file("/etc/nginx/sites-enabled/djangoprod.conf").content_string
    assert "proxy_ssl_verify on;" in site
    assert "proxy_ssl_trusted_certificate /etc/nginx/tls/djangoprod-backends.pem;" in site
    trusted = hosts["lb"].file("/etc/nginx/tls/djangoprod-backends.pem").content_string
    for name in ("web1", "web2"):
        assert hosts[name].file("/etc/nginx/tls/djangoprod.crt").content_string.strip() in trusted


def test_acme_certifies_the_lb_and_the_web_servers_behind_it_sign_their_own(hosts, addresses):
    # Every host has nginx_tls_mode: acme (as inventories/example): the load balancer,
    # which the CA's HTTP challenge reaches, holds the ACME certificate; the web servers
    # behind it, which the CA cannot reach, serve their own self-signed one.
    def served(address: str) -> x509.Certificate:
        return x509.load_der_x509_certificate(request(address, NAME).peer_certificate)

    def common_name(name: x509.Name) -> str:
        return name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value

    lb = served(addresses["lb"])
    assert common_name(lb.issuer).startswith("Pebble Intermediate CA"), lb.issuer
    assert lb.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == [NAME]
    assert (
        "/etc/letsencrypt/live/djangoprod/fullchain.pem;"
        in hosts["lb"].file("/etc/nginx/sites-enabled/djangoprod.conf").content_string
    )
    for name in ("web1", "web2"):
        cert = served(addresses[name])
        assert cert.issuer == cert.subject, cert.issuer
        unit = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
        assert unit == f"djp-cluster-{name}"
        assert not hosts[name].file("/etc/letsencrypt/live/djangoprod").exists


def test_uploads_live_in_the_bucket_both_web_servers_share(hosts, addresses):
    # A file uploaded through the load balancer is read back through it 20 times, by
    # whichever web server answers, from the bucket (djangoprod_media_s3), not a disk.
    browser = Browser(addresses["lb"], NAME)
    name = f"shared-{secrets.token_hex(4)}.txt"
    content = f"an upload {name} both web servers read\n".encode()
    response = browser.upload("/", "/upload/", "file", name, content)
    assert response.status == 302, response.body[:500]
    page = browser.get("/").body.decode()
    found = re.search(
        rf'<a href="([^"]+)">uploads/{re.escape(name)}</a> \(<a class="read" href="([^"]+)"', page
    )
    assert found, page[-1500:]
    url, read = html.unescape(found.group(1)), found.group(2)
    # a signed link to the bucket, not a path on the site
    assert url.startswith(f"https://s3.djp.test:{S3_PORT}/djp-media/uploads/{name}?"), url
    assert "X-Amz-Signature=" in url
    assert f"<Key>uploads/{name}</Key>" in bucket("uploads/shared-")

    def reads(server: str) -> int:
        out = hosts[server].run(f"grep -c 'GET {read} ' /var/log/nginx/access.log || true")
        return int(out.stdout.strip() or 0)

    for server in ("web1", "web2"):
        # nothing on either web server's disk: a rebuilt one loses nothing
        files = hosts[server].run("find /srv/guestbook/shared/media -type f 2>/dev/null").stdout.strip()
        assert files == "", files
        assert (
            "location /media/"
            not in hosts[server].file("/etc/nginx/sites-enabled/djangoprod.conf").content_string
        )
    for _ in range(20):
        answer = request(addresses["lb"], NAME, read)
        assert (answer.status, answer.body) == (200, content)
    assert reads("web1") > 0 and reads("web2") > 0 and reads("web1") + reads("web2") == 20
    # every app host (the worker too) reaches the bucket; its secret is in the root-only
    # credentials and nowhere else
    for server in ("web1", "web2", "worker"):
        out = hosts[server].run(
            "/usr/local/sbin/guestbook-manage shell -c 'from django.core.files.storage import default_storage"
            f' as s; print(s.exists("uploads/{name}"))\''
        )
        assert out.stdout.strip().endswith("True"), out.stdout + out.stderr
        out = hosts[server].run(
            "grep -rls djp-media-secret-never-printed /etc /srv/guestbook/current/*.py /var/log 2>/dev/null"
            " | sort"
        )
        kept = ["/etc/djangoprod/guestbook/media_secret", "/etc/djangoprod/guestbook/secret_environment"]
        assert out.stdout.split() == kept, out.stdout
        for path in kept:
            assert (hosts[server].file(path).user, hosts[server].file(path).mode) == ("root", 0o600), path

    # Without the bucket, two web servers with uploads on their own disks are refused
    # before anything changes, naming the variable.
    assert_refused({"djangoprod_media_s3": {}}, "djangoprod_media_s3")


def test_a_drained_web_server_is_asked_nothing_the_lb_can_send_elsewhere(hosts, addresses):
    # The flag the rolling deploy sets (the nginx role's `drain` entry point).
    web1 = hosts["web1"]
    flag = "/var/lib/djangoprod/draining/djangoprod"

    def answered(status: str) -> int:
        out = web1.run(f"grep -c 'GET /hello/ HTTP/1.1\" {status}' /var/log/nginx/access.log || true")
        return int(out.stdout.strip() or 0)

    assert web1.run(f"mkdir -p {flag.rsplit('/', 1)[0]} && touch {flag}").rc == 0
    try:
        refused, served = answered("403"), answered("200")
        for _ in range(20):
            assert request(addresses["lb"], NAME, "/hello/").status == 200
        # web1 refused its share with a 403 the lb sent on to web2, and served none
        assert answered("403") > refused and answered("200") == served
        assert request(addresses["web1"], NAME, "/hello/").status == 403
        # its own health check and a POST (which the lb could not send on) are served
        assert web1.run(f"curl -sk -o /dev/null -w '%{{http_code}}' --resolve {NAME}:443:127.0.0.1 "
                        f"https://{NAME}/_djangoprod/health").stdout == "200"  # fmt: skip
        # (Django answers it: its CSRF refusal, not nginx's bare 403)
        post = request(addresses["web1"], NAME, "/", method="POST", body=b"text=x")
        assert b"CSRF" in post.body, post.body[:300]
    finally:
        web1.run(f"rm -f {flag}")
    assert request(addresses["web1"], NAME, "/hello/").status == 200


def test_the_worker_reads_the_database(hosts, addresses):
    worker = hosts["worker"]
    assert worker.service("guestbook-tally").is_running
    assert not worker.socket("tcp://0.0.0.0:443").is_listening  # no web part on a worker
    count = request(addresses["lb"], NAME, "/count/").body.decode()
    entries = int(re.search(r"\d+", count).group(0))
    journal = ""
    for _ in range(10):
        journal = worker.run("journalctl -u guestbook-tally --no-pager -o cat -n 3").stdout
        if f"tally: {entries} entries" in journal:
            break
        worker.run("sleep 1")
    assert f"tally: {entries} entries" in journal, journal


def test_a_limited_run_without_cached_facts_keeps_every_client(hosts, addresses, tmp_path):
    # A controller with no fact cache (or one that expired) runs site.yml on the
    # database server alone: the web servers' and the worker's addresses are read, not
    # dropped from pg_hba, the firewall and what PostgreSQL listens on.
    hba = hosts["db"].run("cat /etc/postgresql/*/main/pg_hba.conf").stdout
    run = converge(limit="djp-cluster-db", env={"ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "facts")})
    assert run.rc == 0, run.output[-3000:]
    assert run.changed_tasks == [], run.changed_tasks
    assert hosts["db"].run("cat /etc/postgresql/*/main/pg_hba.conf").stdout == hba
    assert request(addresses["lb"], NAME, "/count/").status == 200


def test_a_database_password_rotated_from_the_vault_fails_no_request(hosts, addresses):
    # The vault's passwords change; site.yml gives them to the application hosts beside
    # the old ones, which PostgreSQL and Redis keep until they all have them, then to
    # PostgreSQL and Redis; the deploy after it drops the old ones from the hosts.
    # Requests reading the database meanwhile: none fails.
    new = f"rotated-in-the-vault-{secrets.token_hex(8)}"
    new_cache = f"cache-rotated-in-the-vault-{secrets.token_hex(8)}"
    previous = "/etc/djangoprod/secrets/guestbook-database.previous"
    old = hosts["db"].run("cat /etc/djangoprod/secrets/guestbook-database").stdout.strip()
    old_cache = hosts["cache"].run("cat /etc/djangoprod/secrets/guestbook-cache").stdout.strip()
    with Load(addresses["lb"], NAME, "/count/") as load:
        rotated = converge({"djangoprod_database_password": new, "djangoprod_cache_password": new_cache})
        kept = {
            name: hosts[name].file(PREVIOUS).content_string.split() for name in ("web1", "web2", "worker")
        }
        deployed = converge(playbook="../../playbooks/deploy.yml")
    print(f"password rotation, then a deploy: {load.total} requests, {len(load.failures)} failed")
    assert rotated.rc == 0, rotated.output[-3000:]
    assert deployed.rc == 0, deployed.output[-3000:]
    assert load.failures == [] and load.total > 0, load.failures[:5]
    for secret in (new, old, new_cache, old_cache):
        assert secret not in rotated.output + deployed.output
    assert "Give PostgreSQL the new password" in rotated.changed_tasks
    assert not hosts["db"].file(previous).exists
    assert not hosts["cache"].file("/etc/djangoprod/secrets/guestbook-cache.previous").exists
    # the app had both while PostgreSQL changed; the deploy dropped the old one
    assert kept == {"web1": [old], "web2": [old], "worker": [old]}
    for name in ("web1", "web2", "worker"):
        assert hosts[name].file(PREVIOUS).content_string == "", name

    def login(password: str) -> bool:
        script = (
            "import sys, psycopg; psycopg.connect(host=sys.argv[1], dbname='guestbook', user='guestbook',"
            " password=sys.argv[2], sslmode='require', connect_timeout=5).close()"
        )
        command = f"/srv/guestbook/current/venv/bin/python -c {script!r} {addresses['db']} {password}"
        return hosts["web1"].run(command).rc == 0

    assert login(new) and not login(old)

    # Redis: the new cache password alone, and the app's cache works with it
    def redis_accepts(password: str) -> bool:
        out = hosts["cache"].run(f"redis-cli --no-auth-warning --user app --pass {password} PING")
        return out.stdout.strip() == "PONG"

    assert redis_accepts(new_cache) and not redis_accepts(old_cache)
    out = hosts["web1"].run(
        "/usr/local/sbin/guestbook-manage shell -c"
        ' \'from django.core.cache import cache; cache.set("rotated", 1); print(cache.get("rotated"))\''
    )
    assert out.stdout.strip().endswith("1"), out.stdout + out.stderr


def deploy_hosts(output: str, task: str, state: str = "changed") -> list[str]:
    """The hosts for which `task` reported `state` in an ansible-playbook output."""
    hosts, current = [], None
    for line in output.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            current = line.split("[", 1)[1].rsplit("]", 1)[0]
        elif current and current.endswith(task) and line.startswith(f"{state}: ["):
            hosts.append(line.split("[", 1)[1].split("]", 1)[0].split(" ")[0])
    return hosts


def test_a_rolling_deploy_through_the_lb_fails_no_request(hosts, addresses, tmp_path):
    v2 = tmp_path / "v2"
    shutil.copytree(EXAMPLE, v2, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    settings = v2 / "guestbook" / "settings.py"
    settings.write_text(settings.read_text().replace("Welcome to the guestbook", "Version two"))
    (v2 / "entries" / "migrations" / "0002_entry_mood.py").write_text(MIGRATION)
    before = hosts["web1"].file("/srv/guestbook/current").linked_to
    tally = main_pid(hosts["worker"], "guestbook-tally")
    gunicorn = main_pid(hosts["web1"], "gunicorn-guestbook")
    lb_workers = hosts["lb"].run("pgrep -P $(systemctl show -p MainPID --value nginx) | sort").stdout

    # Clients that keep their connections to the lb open, as browsers and wrk do: an
    # nginx reload on the lb would close them under a request.
    with Load(addresses["lb"], NAME, "/hello/", keepalive=True) as load:
        result = converge(
            {"djangoprod_source_path": str(v2), "djangoprod_deploy_serial": 1}, "../../playbooks/deploy.yml"
        )
    print(
        f"rolling deploy through the lb: {load.total} requests, {dict(load.bodies)}, "
        f"{len(load.failures)} failed"
    )
    assert result.rc == 0, result.output[-4000:]
    assert load.failures == []
    assert load.bodies["Welcome to the guestbook"] > 0 and load.bodies["Version two"] > 0
    # one web server at a time was drained and served again, and the lb's nginx was
    # never reloaded (the same workers)
    drained = deploy_hosts(result.output, "Drain this web server, or have it serve every request again")
    assert drained == ["djp-cluster-web1", "djp-cluster-web1", "djp-cluster-web2", "djp-cluster-web2"]
    assert hosts["lb"].run("pgrep -P $(systemctl show -p MainPID --value nginx) | sort").stdout == lb_workers
    # the database was migrated once, by the first host
    assert deploy_hosts(result.output, "Migrate the database") == ["djp-cluster-web1"]
    # the passwords shared with the database and cache servers stayed as they were
    for task in (
        "Keep the database password on the database server",
        "Keep the cache password on the cache server",
    ):
        assert deploy_hosts(result.output, task) == [], task
        assert deploy_hosts(result.output, task, "ok"), task
    for name in ("web1", "web2", "worker"):
        current = hosts[name].file("/srv/guestbook/current").linked_to
        assert current != before
    assert request(addresses["lb"], NAME, "/hello/").body.decode().strip() == "Version two"
    # the units were left as site.yml wrote them: one call switched, reloaded gunicorn
    # (the same master) and restarted the worker's unit onto the release
    assert "djangoprod.stack.gunicorn :" not in result.output
    assert "djangoprod.stack.systemd_units :" not in result.output
    served = deploy_hosts(result.output, "Switch to the release, load it and check it answers")
    assert sorted(served) == ["djp-cluster-web1", "djp-cluster-web2", "djp-cluster-worker"], served
    assert main_pid(hosts["web1"], "gunicorn-guestbook") == gunicorn
    assert main_pid(hosts["worker"], "guestbook-tally") != tally
    # both back in the lb's upstream
    site = hosts["lb"].file("/etc/nginx/sites-enabled/djangoprod.conf").content_string
    assert " down;" not in site
    assert hosts["lb"].run("ls -A /etc/nginx/djangoprod-drained").stdout.strip() == ""
    for name in ("web1", "web2"):
        assert not hosts[name].file("/var/lib/djangoprod/draining/djangoprod").exists
