"""The whole site on one host, as a user with one VPS runs it: the example project
over HTTPS through nginx, with its database, session, cache, static files, admin and
a worker; and the cache is never integral: with Redis and Memcached stopped the site
still answers."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from conftest import Browser, Load, converge, exposure, request, wait_for

NAME = "guestbook.test"

# Checked or run the same way on every release: the Debian 12 run covers it (the
# preflight runs on the controller; the role's restart path is the same task).
ONE_RELEASE = pytest.mark.skipif(
    os.environ.get("DJANGOPROD_DISTRO", "debian12") != "debian12",
    reason="the same on every release: the Debian 12 run covers it",
)
MANAGE = "/usr/local/sbin/guestbook-manage"


@pytest.fixture(scope="module")
def browser(address) -> Browser:
    return Browser(address, NAME)


def redis_cli(host, *args: str) -> str:
    password = "REDISCLI_AUTH=$(cat /etc/djangoprod/guestbook/cache_password)"
    out = host.run(f"{password} redis-cli --no-auth-warning --user app {' '.join(args)}")
    assert out.rc == 0, out.stderr
    return out.stdout


def visits(response) -> int:
    found = re.search(r'<span id="visits">(\d+)</span>', response.body.decode())
    assert found, response.body.decode()[:500]
    return int(found.group(1))


def test_the_page_writes_and_reads_the_database(browser):
    response = browser.post("/", {"author": "stack test", "text": "written through nginx"})
    assert response.status == 302, response.body[:500]
    page = browser.get("/")
    assert page.status == 200
    assert "written through nginx" in page.body.decode()


def test_the_session_survives_requests_and_lives_in_the_cache(host, browser):
    first = visits(browser.get("/"))
    assert visits(browser.get("/")) == first + 1
    session = browser.cookies["sessionid"]
    # cached_db: the session is in Redis (and in the database behind it)
    assert redis_cli(host, "EXISTS", f":1:django.contrib.sessions.cached_db{session}").strip() == "1"


def test_static_files_are_hashed_and_served_by_nginx(host, browser):
    page = browser.get("/").body.decode()
    css = re.search(r'href="(/static/entries/site\.[0-9a-f]{12}\.css)"', page)
    assert css, page[:800]
    response = request(browser.address, NAME, css.group(1))
    assert response.status == 200
    assert "immutable" in response.header("Cache-Control")
    # the file on disk is nginx's to serve: gunicorn never sees the request
    assert host.file(f"/srv/guestbook/shared{css.group(1)}").exists


def test_admin_login_works(host, address):
    out = host.run(
        f'{MANAGE} shell -c "from django.contrib.auth.models import User; '
        "User.objects.filter(username='admin').exists() or "
        "User.objects.create_superuser('admin', 'admin@guestbook.test', 'stack-admin-pw-7d3f')\""
    )
    assert out.rc == 0, out.stderr
    admin = Browser(address, NAME)
    credentials = {"username": "admin", "password": "stack-admin-pw-7d3f", "next": "/admin/"}
    response = admin.post("/admin/login/?next=/admin/", credentials)
    assert response.status == 302, response.body.decode()[:800]
    assert response.header("Location") == "/admin/"
    page = admin.get("/admin/")
    assert page.status == 200
    assert "Site administration" in page.body.decode()


def test_check_deploy_is_clean(host):
    out = host.run(f"{MANAGE} check --deploy --fail-level WARNING")
    assert out.rc == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_the_worker_reads_the_database(host):
    assert host.service("guestbook-tally").is_running
    journal = host.run("journalctl -u guestbook-tally --no-pager -o cat -n 20").stdout
    assert re.search(r"tally: [1-9]\d* entries", journal), journal


def test_every_service_runs_sandboxed(host):
    # `systemd-analyze security`: 0 is the best, 10 the worst; Debian's nginx alone is 9.6.
    version = host.run("ls /etc/postgresql").stdout.split()[0]
    levels = {
        unit: exposure(host, unit)
        for unit in (
            "nginx.service",
            f"postgresql@{version}-main.service",
            "redis-server.service",
            "memcached.service",
            "gunicorn-guestbook.service",
            "guestbook-tally.service",
            "djangoprod-backup-drill.service",
            "djangoprod-backup-full@guestbook.service",
        )
    }
    print(f"exposure: {levels}")
    assert {unit: level for unit, level in levels.items() if level > 2.5} == {}
    assert levels["gunicorn-guestbook.service"] <= 2.0
    assert levels["guestbook-tally.service"] <= 2.0


def test_lynis_scores_at_least_80(host):
    # The base role's README lists the suggestions left out, with the reason.
    assert host.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lynis").rc == 0
    try:
        out = host.run("lynis audit system --quick --no-colors")
        index = re.search(r"Hardening index : (\d+)", out.stdout)
        assert index, out.stdout[-2000:]
        print(f"lynis hardening index: {index.group(1)}")
        assert int(index.group(1)) >= 80, out.stdout[out.stdout.find("Suggestions") :][:4000]
    finally:
        host.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq lynis")


def test_backups_on_the_host_itself_are_taken_and_drilled(host):
    # No backupservers host: the repository is on this host (warned: see the check run).
    out = host.run("sudo -u postgres pgbackrest --stanza=guestbook --output=json info")
    info = json.loads(out.stdout)[0]
    assert info["status"]["code"] == 0 and info["cipher"] == "aes-256-cbc", info["status"]
    assert [b for b in info["backup"] if b["type"] == "full"], info["backup"]
    assert host.file("/etc/djangoprod/secrets/backup-repository").mode == 0o600
    for timer in ("full@guestbook", "diff@guestbook", "canary", "drill"):
        assert host.service(f"djangoprod-backup-{timer}.timer").is_enabled, timer
    drill = host.run("systemctl start djangoprod-backup-drill.service")
    record = json.loads(host.file("/var/lib/djangoprod/backup/drill.json").content_string)
    assert drill.rc == 0 and record["result"] == "ok", record
    status = host.run("sudo -u postgres djangoprod-backup status").stdout
    assert "last full" in status and "last drill: ok" in status, status


# A Sentry-compatible receiver: every envelope it is sent, decompressed, one per line.
SENTRY_RECEIVER = r"""
import gzip, http.server, zlib
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        elif self.headers.get("Content-Encoding") == "deflate":
            body = zlib.decompress(body)
        with open("/run/djp-sentry.log", "ab") as f:
            f.write(self.path.encode() + b"\n" + body + b"\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")
http.server.HTTPServer(("127.0.0.1", 9301), H).serve_forever()
"""


def test_errors_are_reported_with_the_release_and_the_environment(host):
    host.run("rm -f /run/djp-sentry.log")
    host.run(f"cat > /run/djp-sentry.py <<'EOF'\n{SENTRY_RECEIVER}\nEOF")
    assert host.run("systemd-run --unit djp-sentry --collect python3 /run/djp-sentry.py").rc == 0
    try:
        time.sleep(1)
        logged = host.run(
            f"{MANAGE} shell -c \"import logging; logging.getLogger('guestbook').error('djp-sentry-probe')\""
        )
        assert logged.rc == 0, logged.stderr
        wait_for(lambda: "djp-sentry-probe" in host.run("cat /run/djp-sentry.log").stdout, 20, 1)
        received = host.run("cat /run/djp-sentry.log").stdout
    finally:
        host.run("systemctl stop djp-sentry")
    assert "/api/1/envelope/" in received, received[:500]
    # The error as a report, and no log records shipped (sentry-sdk 3 ships them unless told).
    assert '"type":"log"' not in received, received[:2000]
    events = [json.loads(line) for line in received.splitlines() if '"djp-sentry-probe"' in line]
    assert events, received[:2000]
    release = host.file("/srv/guestbook/current").linked_to.rsplit("/", 1)[-1]
    assert events[0]["release"] == release
    assert events[0]["environment"] == "staging"
    # The DSN is a secret: in no file others can read, and not in the settings.
    leaked = host.run("grep -rl djpstacksentrykey /etc /srv/guestbook/current/ 2>/dev/null").stdout.split()
    for path in leaked:
        assert host.file(path).mode & 0o077 == 0 and host.file(path).user == "root", path


def test_health_check_sees_database_and_cache(address):
    health = json.loads(request(address, NAME, "/healthz/").body)
    assert health == {"database": "ok", "cache": "ok"}


def test_the_site_answers_with_the_cache_servers_stopped(host, address, browser):
    assert host.run("systemctl stop redis-server memcached").rc == 0
    try:
        assert not host.service("redis-server").is_running
        before = visits(browser.get("/"))
        assert visits(browser.get("/")) == before + 1  # sessions from the database alone
        response = browser.post("/", {"author": "stack test", "text": "written without a cache"})
        assert response.status == 302
        assert "written without a cache" in browser.get("/").body.decode()
        health = request(address, NAME, "/healthz/")
        assert health.status == 200
        assert json.loads(health.body)["database"] == "ok"
    finally:
        host.run("systemctl start redis-server memcached")
    assert host.service("redis-server").is_running
    assert browser.get("/").status == 200


# Faults under a steady load of a page that reads the database: no request fails.
FAULTS = {
    # what the postgresql role's restart handler runs; the app's engine (djangoprod_db)
    # waits for the server and runs the cut SELECTs again
    "postgresql-restarted": "systemctl restart postgresql@{version}-main.service",
    "nginx-reloaded": "systemctl reload nginx.service",
    "gunicorn-master-killed": "kill -9 $(systemctl show -p MainPID --value gunicorn-guestbook.service)",
    # the cache answers as empty while Redis is away (djangoprod_cache); Memcached is
    # not the app's cache here, and stopping it must not matter either
    "redis-stopped": "systemctl stop redis-server.service",
    "memcached-stopped": "systemctl stop memcached.service",
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_under_load_fails_no_request(host, address, fault):
    version = host.run("ls /etc/postgresql").stdout.split()[0]
    try:
        with Load(address, NAME, "/count/") as load:
            done = host.run(FAULTS[fault].format(version=version))
            time.sleep(3)
    finally:
        host.run("systemctl start redis-server.service memcached.service")
    assert done.rc == 0, done.stderr
    print(f"{fault} under load: {load.total} requests, {len(load.failures)} failed {load.failures[:3]}")
    assert load.total > 0 and load.failures == []
    assert host.service("gunicorn-guestbook").is_running


@ONE_RELEASE  # two converges under load: about three minutes, the same path on Debian 13
def test_the_postgresql_roles_own_restart_fails_no_request(host, address):
    # A setting that needs a restart (max_connections, from the expected connections),
    # changed and then put back by converging: the role restarts PostgreSQL itself,
    # twice, under load.
    for expected in (61, None):
        with Load(address, NAME, "/count/") as load:
            run = converge({"postgresql_expected_connections": expected} if expected else None)
        assert run.rc == 0, run.output[-3000:]
        restart = "Restart PostgreSQL for settings that need it"
        assert any(task.endswith(restart) for task in run.changed_tasks), run.changed_tasks
        print(f"the role's PostgreSQL restart under load: {load.total} requests, {len(load.failures)} failed")
        assert load.total > 0 and load.failures == [], load.failures[:3]


def test_only_ssh_and_the_web_listen_beyond_loopback(host):
    sockets = host.run("ss -Hltn").stdout.split("\n")
    exposed = set()
    for line in filter(None, sockets):
        local = line.split()[3]
        address, port = local.rsplit(":", 1)
        # loopback only: 127.0.0.0/8 (docker's resolver listens on 127.0.0.11) and ::1
        if not (address.startswith("127.") or address == "[::1]"):
            exposed.add(int(port))
    assert exposed <= {22, 80, 443}, exposed


def test_a_check_run_on_the_converged_stack_passes_and_changes_nothing(host):
    before = host.file("/srv/guestbook/current").linked_to
    result = converge(check=True)
    assert result.rc == 0, result.output[-3000:]
    assert result.changed_tasks == [], result.changed_tasks
    # with no backupservers host, every run says that the backups share the disk
    assert "BACKUPS ON THE SAME DISK" in result.output
    assert host.file("/srv/guestbook/current").linked_to == before


def inside(host, path: str) -> str:
    """The status of a request from the host itself (an address nginx_maintenance_allow names)."""
    out = host.run(
        f"curl -sk -o /dev/null -w '%{{http_code}}' --resolve {NAME}:443:127.0.0.1 https://{NAME}{path}"
    )
    return out.stdout


def maintenance(state: str | None):
    return converge({"djangoprod_maintenance": state} if state else None, "../../playbooks/maintenance.yml")


def test_maintenance_mode_on_and_off(host, address):
    css = re.search(r'href="(/static/[^"]+\.css)"', request(address, NAME, "/").body.decode()).group(1)
    on = maintenance("on")
    assert on.rc == 0, on.output[-2000:]
    try:
        page = request(address, NAME, "/")
        assert page.status == 503 and page.header("Retry-After") == "30"
        assert b"Closed for a moment" in page.body  # the user's own page
        assert request(address, NAME, "/admin/login/").status == 503
        assert request(address, NAME, css).status == 200  # the page may use the site's static files
        # the deploy's health check and the allowed addresses still pass
        assert inside(host, "/_djangoprod/health") == "200"
        assert inside(host, "/") == "200"
        assert maintenance("on").changed_tasks == []
    finally:
        off = maintenance("off")
    assert off.rc == 0, off.output[-2000:]
    assert request(address, NAME, "/").status == 200
    assert maintenance("off").changed_tasks == []
    refused = maintenance(None)
    assert refused.rc != 0 and "-e djangoprod_maintenance=on" in refused.output


# Site inputs that cannot work: each refused on the controller before any host changes,
# naming the variable.
BAD_INPUTS = [
    ({"djangoprod_project": "My Shop"}, "djangoprod_project: 'My Shop' cannot name"),
    (
        {"djangoprod_domains": ["https://guestbook.test"]},
        "djangoprod_domains: 'https://guestbook.test' has a scheme",
    ),
    ({"djangoprod_domains": ["guestbook.test/shop"]}, "djangoprod_domains: 'guestbook.test/shop' has a path"),
    ({"djangoprod_domains": ["guestbook.test:8443"]}, "djangoprod_domains: 'guestbook.test:8443' has a port"),
    ({"djangoprod_domains": "guestbook.test"}, "djangoprod_domains: 'guestbook.test' is text, not a list"),
    ({"djangoprod_domains": []}, "djangoprod_domains: is empty"),
    ({"nginx_tls_mode": "letsencrypt"}, "nginx_tls_mode: 'letsencrypt' is not a TLS mode"),
    ({"nginx_tls_mode": "acme", "djangoprod_domains": ["*.guestbook.test"]}, "is a wildcard"),
    (
        {"nginx_tls_mode": "acme", "nginx_acme_email": "ops"},
        "nginx_acme_email: 'ops' is not an e-mail address",
    ),
    ({"app_admins": [["Ops", "ops"]]}, "app_admins: 'ops' is not an e-mail address"),
    ({"base_admin_user": "root"}, "base_admin_user: 'root' cannot be the administrator's login"),
    ({"base_timezone": "Europe/Pariss"}, "base_timezone: 'Europe/Pariss' is not a time zone"),
    ({"base_ssh_port": 70000}, "base_ssh_port: 70000 is not a port"),
    ({"postgresql_port": 6379, "redis_port": 6379}, "redis_port: 6379 is also postgresql_port"),
    ({"app_cache_backend": "database"}, "app_cache_backend: 'database' is not a cache backend"),
    ({"djangoprod_memcached": "no"}, "djangoprod_memcached: 'no' is text"),
    ({"djangoprod_deploy_serial": "150%"}, "djangoprod_deploy_serial: '150%' is not a batch size"),
    (
        {"djangoprod_source_path": "/nonexistent/guestbook"},
        "djangoprod_source_path: '/nonexistent/guestbook' is not a",
    ),
    ({"app_root": "/etc"}, "app_root: '/etc' is not a directory of its own"),
]


@pytest.fixture(scope="module")
def before_bad_inputs(host) -> str:
    """A file older than anything the refused runs could write, and the packages then."""
    assert host.run("touch /run/djangoprod-bad-inputs && sleep 1").rc == 0
    return host.run("dpkg-query -W -f='${Package} ${Version}\\n'").stdout


@ONE_RELEASE
@pytest.mark.parametrize(("extra", "says"), BAD_INPUTS, ids=[next(iter(case[0])) for case in BAD_INPUTS])
def test_a_bad_input_is_refused_before_anything_changes(before_bad_inputs, extra, says):
    run = converge(extra)
    assert run.failed, run.output[-2000:]
    assert says in run.output, run.output[-2000:]
    assert "need fixing before anything on" in run.output
    assert run.changed_tasks == []
    # Refused by the first play, before facts are gathered or any host is touched.
    assert "TASK [Gathering Facts]" not in run.output


@ONE_RELEASE
def test_no_refused_run_changed_the_host(host, before_bad_inputs):
    # (less what the stack's own timers write meanwhile: the hourly media backup's state)
    changed = host.run(
        "find /etc /srv /var/lib/djangoprod /usr/local /home -newer /run/djangoprod-bad-inputs"
        " -not -path '/etc/ld.so.cache' -not -path '/var/lib/djangoprod/media-backup*' 2>/dev/null"
    ).stdout.split()
    assert changed == []
    assert host.run("dpkg-query -W -f='${Package} ${Version}\\n'").stdout == before_bad_inputs
