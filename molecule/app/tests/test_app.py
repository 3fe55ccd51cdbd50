"""The app role deploying the example project: v1 (the converge), v2 (code only, under a
steady request loop), v3 (a failing migration), a rollback refused while the database is
ahead and allowed after the printed migrate, two deploys at the same moment (one is
refused), a deploy killed midway and completed by the next run, each run in the audit log
and on the webhook; secrets never in the output or in world-readable files. The tests
run in order: each builds on the one before."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import signal
import threading
from pathlib import Path

import pytest
from conftest import Load, converge, finish, request, start_converge

NAME = "guestbook.test"
ROOT = "/srv/guestbook"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "guestbook"
CACHE_PASSWORD = "redis-molecule-3f9c2e7d1b8a"
ROLLBACK = "../../playbooks/rollback.yml"
OUTPUTS: list[str] = []
NOTICES: list[dict] = []

MIGRATION = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("entries", "{previous}")]
    operations = [{operations}]
"""


# A local package (a path in requirements.txt) whose build records what the code a
# dependency runs while it builds could do on the host.
PROBE = """
import json, os, pwd, socket
from setuptools import setup


def attempt(action):
    try:
        action()
        return "done"
    except OSError as error:
        return type(error).__name__


def connect(path):
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(path)


facts = {
    "user": pwd.getpwuid(os.getuid()).pw_name,
    "write /etc": attempt(lambda: open("/etc/djangoprod-probe", "w").close()),
    "write /usr": attempt(lambda: open("/usr/local/bin/djangoprod-probe", "w").close()),
    "read the secrets": attempt(lambda: os.listdir("/etc/djangoprod/guestbook")),
    "reach the database": attempt(lambda: connect("/run/postgresql/.s.PGSQL.5432")),
    "write the running release": attempt(lambda: open("/srv/guestbook/current/probe", "w").close()),
}
with open("buildprobe.py", "w") as handle:
    handle.write("FACTS = " + json.dumps(facts) + "\\n")
setup(name="buildprobe", version="1.0", py_modules=["buildprobe"])
"""


def version(tmp: Path, name: str, greeting: str, migrations: dict[str, str], probe: bool = False) -> Path:
    """A copy of the example project with another greeting and more migrations."""
    copy = tmp / name
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    if probe:
        (copy / "vendor" / "buildprobe").mkdir(parents=True)
        (copy / "vendor" / "buildprobe" / "setup.py").write_text(PROBE)
        with (copy / "requirements.txt").open("a") as requirements:
            requirements.write("./vendor/buildprobe\n")
    settings = copy / "guestbook" / "settings.py"
    settings.write_text(settings.read_text().replace("Welcome to the guestbook", greeting))
    previous = "0001_initial"
    for migration, operations in migrations.items():
        (copy / "entries" / "migrations" / f"{migration}.py").write_text(
            MIGRATION.format(previous=previous, operations=operations)
        )
        previous = migration
    return copy


V2_MIGRATIONS = {
    "0002_entry_mood": 'migrations.AddField("entry", "mood", models.CharField(max_length=20, default=""))'
}
V3_MIGRATIONS = {
    **V2_MIGRATIONS,
    "0003_broken": 'migrations.RunSQL("SELECT * FROM no_such_table")',
}


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("versions")
    return {
        "v2": version(tmp, "v2", "Version two", V2_MIGRATIONS),
        "v3": version(tmp, "v3", "Version three", V3_MIGRATIONS),
        "v4": version(tmp, "v4", "Version four", V2_MIGRATIONS, probe=True),
    }


class _Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        NOTICES.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module", autouse=True)
def webhook():
    """A chat webhook on the controller, told of each deploy the tests run."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["DJANGOPROD_TEST_WEBHOOK"] = f"http://127.0.0.1:{server.server_port}/hook"
    yield
    server.shutdown()


def current(host) -> str:
    return host.file(f"{ROOT}/current").linked_to


def hello(address: str) -> str:
    return request(address, NAME, "/hello/").body.decode().strip()


def run_vars(extra: dict | None = None) -> dict:
    # the collection's playbooks pick their hosts from this (webservers:workers by default)
    return {
        "djangoprod_app_hosts": "all",
        "app_notify_webhook": os.environ["DJANGOPROD_TEST_WEBHOOK"],
        **(extra or {}),
    }


def run(extra: dict | None = None, playbook: str = "converge.yml"):
    result = converge(run_vars(extra), playbook)
    OUTPUTS.append(result.output)
    return result


def audit(host) -> list[dict]:
    return [json.loads(line) for line in host.file(f"{ROOT}/audit.log").content_string.splitlines()]


def test_v1_serves_its_page_through_nginx(address):
    page = request(address, NAME, "/")
    assert page.status == 200
    body = page.body.decode()
    assert "Welcome to the guestbook" in body
    assert re.search(r'href="/static/entries/site\.[0-9a-f]{12}\.css"', body)
    assert request(address, NAME, "/healthz/").body == b'{"database": "ok", "cache": "ok"}'


def test_the_stacks_health_check_names_the_release_and_only_this_host_reaches_it(host, address):
    assert request(address, NAME, "/_djangoprod/health").status == 403
    inside = host.run(f"curl -sk --resolve {NAME}:443:127.0.0.1 https://{NAME}/_djangoprod/health")
    assert json.loads(inside.stdout) == {"release": current(host).rsplit("/", 1)[-1], "database": "ok"}


def test_static_files_are_hashed_precompressed_and_served_by_nginx(host, address):
    body = request(address, NAME, "/").body.decode()
    css = re.search(r"/static/entries/site\.[0-9a-f]{12}\.css", body)[0]
    resp = request(address, NAME, css, headers={"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.headers["content-encoding"] == "gzip"
    assert "immutable" in resp.headers["cache-control"]
    assert host.file(f"{ROOT}/shared/static/{css.removeprefix('/static/')}.br").exists


def test_code_is_read_only_to_the_app_and_secrets_are_root_only(host):
    release = f"{ROOT}/{current(host).split(ROOT + '/')[-1]}"
    assert host.file(f"{release}/manage.py").user == "root"
    assert host.run(f"runuser -u guestbook -- touch {release}/x").rc != 0
    collected = f"{ROOT}/collected/{release.rsplit('/', 1)[-1]}"
    assert host.file(f"{collected}/staticfiles.json").exists
    assert host.run(f"runuser -u guestbook -- touch {collected}/x").rc != 0
    assert (
        host.run(f"runuser -u guestbook -- touch {ROOT}/shared/media/x && rm {ROOT}/shared/media/x").rc == 0
    )
    secrets = host.file("/etc/djangoprod/guestbook")
    assert (secrets.user, secrets.mode) == ("root", 0o700)
    assert host.file("/etc/djangoprod/guestbook/secret_key").mode == 0o600
    settings = host.file(f"{release}/djangoprod_settings.py").content_string
    assert "DEBUG = False" in settings
    assert CACHE_PASSWORD not in settings


def test_check_deploy_is_clean_and_manage_runs_as_the_app(host):
    check = host.run("/usr/local/sbin/guestbook-manage check --deploy --fail-level WARNING")
    assert check.rc == 0, check.stdout + check.stderr
    assert "no issues" in check.stdout
    who = host.run("/usr/local/sbin/guestbook-manage shell -v 0 -c 'import os; print(os.getuid())'")
    assert who.stdout.strip().splitlines()[-1] == host.run("id -u guestbook").stdout.strip()


def test_gunicorn_keeps_its_control_socket_in_its_runtime_directory(host):
    log = host.run("journalctl -u gunicorn-guestbook.service --no-pager -o cat").stdout
    assert "Listening at" in log or "Booting worker" in log, log[-2000:]
    assert "Control server error" not in log, log[-2000:]
    version = host.run(f"{ROOT}/current/venv/bin/python -c 'import gunicorn; print(gunicorn.__version__)'")
    if int(version.stdout.split(".")[0]) >= 25:  # the control socket came with gunicorn 25
        assert host.file("/run/gunicorn-guestbook/gunicorn.ctl").is_socket


def test_the_page_writes_and_reads_the_database(host, address):
    host.run(
        "/usr/local/sbin/guestbook-manage shell -v 0 -c "
        "\"from entries.models import Entry; Entry.objects.create(author='t', text='kept')\""
    )
    assert request(address, NAME, "/count/").body == b'{"entries": 1}'


def test_v2_code_only_deploy_without_a_failed_request(host, address, versions):
    before = current(host)
    with Load(address, NAME, "/hello/") as load:
        result = run({"app_source_path": str(versions["v2"])})
    print(f"v2 deploy under load: {load.total} requests, {dict(load.bodies)}, {len(load.failures)} failed")
    assert result.rc == 0, result.output[-3000:]
    assert load.failures == []
    assert load.bodies["Welcome to the guestbook"] > 0 and load.bodies["Version two"] > 0
    assert current(host) != before
    assert hello(address) == "Version two"
    # same dependencies: the virtualenv was reused, nothing installed
    assert "djangoprod.stack.app : Install the dependencies" not in result.changed_tasks
    assert "djangoprod.stack.app : Migrate the database" in result.changed_tasks
    assert request(address, NAME, "/count/").body == b'{"entries": 1}'  # data kept
    # the unchanged stylesheet kept v1's compressed copies (linked, not made again), and
    # every compressed copy of v2 is its file's content
    v1, v2 = (f"{ROOT}/collected/{path.rsplit('/', 1)[-1]}" for path in (before, current(host)))
    css = host.run(f"cd {v2} && ls entries/site*.css").stdout.split()
    assert len(css) == 2, css  # the original name and the hashed one
    for name in css:
        for ext in ("gz", "br"):
            inodes = host.run(f"stat -c %i {v1}/{name}.{ext} {v2}/{name}.{ext}").stdout.split()
            assert len(inodes) == 2 and inodes[0] == inodes[1], (name, ext, inodes)
    check = host.run(
        f'cd {v2} && find . -name \'*.gz\' | while read -r z; do gzip -dc "$z" | cmp -s - "${{z%.gz}}" '
        '|| echo "$z"; done'
    )
    assert check.rc == 0 and check.stdout == "", check.stdout + check.stderr


def test_v3_with_a_failing_migration_leaves_v2_serving(host, address, versions):
    before = current(host)
    releases = set(host.run(f"ls {ROOT}/releases").stdout.split())
    result = run({"app_source_path": str(versions["v3"])})
    assert result.rc != 0
    assert "failed before going live" in result.output
    assert "no_such_table" in result.output
    assert current(host) == before
    assert set(host.run(f"ls {ROOT}/releases").stdout.split()) == releases  # v3's directory is gone
    assert hello(address) == "Version two"
    # on the record: the audit log and the webhook name the failing step
    failed = audit(host)[-1]
    assert (failed["result"], failed["what"]) == ("failed", "converge")
    assert failed["step"] == "Migrate the database"
    assert "no_such_table" in failed["message"] and failed["by"] and failed["controller"]
    notice = NOTICES[-1]["text"]
    assert "guestbook on" in notice and "converge failed" in notice and "Migrate the database" in notice


def test_rollback_is_refused_while_the_database_is_ahead(host, address):
    result = run(playbook=ROLLBACK)
    assert result.rc != 0
    assert "guestbook-manage migrate entries 0001_initial" in result.output
    assert hello(address) == "Version two"


def test_rollback_after_the_printed_migrate(host, address):
    out = host.run("/usr/local/sbin/guestbook-manage migrate entries 0001_initial")
    assert out.rc == 0, out.stderr
    with Load(address, NAME, "/hello/") as load:
        result = run(playbook=ROLLBACK)
    print(f"rollback under load: {load.total} requests, {dict(load.bodies)}, {len(load.failures)} failed")
    assert result.rc == 0, result.output[-3000:]
    assert load.failures == []
    assert hello(address) == "Welcome to the guestbook"
    assert request(address, NAME, "/count/").body == b'{"entries": 1}'


def test_two_deploys_at_once_one_runs_and_the_other_is_refused(host, address, versions):
    before = current(host)
    runs = [start_converge(run_vars({"app_source_path": str(versions["v2"])})) for _run in range(2)]
    results = [finish(proc) for proc in runs]
    OUTPUTS.extend(result.output for result in results)
    done = [result for result in results if result.rc == 0]
    refused = [result for result in results if result.rc != 0]
    assert len(done) == 1 and len(refused) == 1, [result.output[-2000:] for result in results]
    said = refused[0].output
    assert "Another run holds the lock app-guestbook" in said and "converge by " in said, said[-2000:]
    assert "Nothing was changed" in said
    # the refused run stopped before it changed anything; the other one deployed
    assert refused[0].changed_tasks == [], refused[0].changed_tasks
    assert current(host) != before and hello(address) == "Version two"
    last = audit(host)[-1]
    assert (last["result"], last["to"]) == ("ok", current(host).rsplit("/", 1)[-1])
    assert host.file("/run/djangoprod/app-guestbook.lock").content_string == ""


def test_a_deploy_killed_midway_is_completed_by_the_next_run(host, address, versions):
    before = current(host)
    proc = start_converge(run_vars({"app_source_path": str(versions["v4"])}))
    for line in proc.stdout:  # killed while the new release is being built
        if "Build, check and collect the release" in line:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert host.file("/run/djangoprod/app-guestbook.lock").content_string != ""  # left behind
    assert current(host) == before and hello(address) == "Version two"
    result = run({"app_source_path": str(versions["v4"])})
    assert result.rc == 0, result.output[-3000:]
    assert "took over the lock app-guestbook from a run that is gone" in result.output
    assert hello(address) == "Version four"
    abandoned, done = audit(host)[-2:]
    assert abandoned["result"] == "abandoned" and done["result"] == "ok"
    # nothing half built is left: every release has its record, every virtualenv is complete
    for release in host.run(f"ls {ROOT}/releases").stdout.split():
        assert host.file(f"{ROOT}/releases/{release}/.djangoprod-release.json").exists, release
    for venv in host.run(f"ls {ROOT}/venvs").stdout.split():
        assert host.file(f"{ROOT}/venvs/{venv}/.djangoprod-complete").exists, venv
    assert "guestbook on" in NOTICES[-1]["text"] and "converge ok" in NOTICES[-1]["text"]
    assert NOTICES[-1]["djangoprod"]["result"] == "ok"


def test_dependencies_build_as_the_build_user_in_a_sandbox(host):
    # v4's local package recorded, while it built, what its build could do.
    probe = host.run(
        f"{ROOT}/current/venv/bin/python -c 'import buildprobe, json; print(json.dumps(buildprobe.FACTS))'"
    )
    assert probe.rc == 0, probe.stderr
    facts = json.loads(probe.stdout)
    print(f"a dependency's build: {facts}")
    assert facts.pop("user") == "guestbook-build"
    assert [action for action, outcome in facts.items() if outcome == "done"] == []
    # Once built, the code and the virtualenvs are root's and nobody else may write them.
    for top in (f"{ROOT}/releases", f"{ROOT}/venvs", f"{ROOT}/collected"):
        found = host.run(
            f"find {top} \\( -not -user root -o -perm /6022 \\) -not -type l -printf '%p %u %m\\n'"
        )
        assert found.rc == 0 and found.stdout == "", found.stdout[:2000]
    assert not host.file("/etc/djangoprod-probe").exists


def test_a_deploy_from_git(host, address):
    # The running code, committed to a repository on the host, deployed from it.
    source = f"{ROOT}/releases/{current(host).rsplit('/', 1)[-1]}"
    made = host.run(
        "apt-get install -y -qq git >/dev/null && rm -rf /srv/git /tmp/checkout && mkdir -p /srv/git"
        " && git init -q --bare -b main /srv/git/guestbook.git"
        f" && cp -a {source} /tmp/checkout && cd /tmp/checkout"
        " && rm -rf venv build .djangoprod-release.json djangoprod_*.py vendor/buildprobe/build"
        " && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm v4"
        " && git push -q /srv/git/guestbook.git main && git rev-parse HEAD"
    )
    assert made.rc == 0, made.stderr
    commit = made.stdout.strip()
    result = run(
        {"app_source": "git", "app_git_repo": "file:///srv/git/guestbook.git", "app_git_version": "main"}
    )
    assert result.rc == 0, result.output[-3000:]
    assert current(host).rsplit("/", 1)[-1].startswith(commit[:12])
    assert hello(address) == "Version four"
    record = json.loads(host.file(f"{ROOT}/current/.djangoprod-release.json").content_string)
    assert record["source"] == {
        "type": "git",
        "repo": "file:///srv/git/guestbook.git",
        "version": "main",
        "commit": commit,
    }
    # the working copy's .git/config names the repository: root's alone
    assert host.file(f"{ROOT}/repository").mode == 0o700


def test_releases_are_recorded_and_listed(host):
    result = run(playbook="../../playbooks/releases.yml")
    assert result.rc == 0
    assert "deploy by" in result.output and "rollback by" in result.output
    assert re.search(r"\* [0-9a-f]{12}-[0-9a-f]{8}  built ", result.output)
    # the audit log's runs: who, from where, what, the result and the failing step
    assert re.search(r"converge ok by \S+ from \S+ in \d+ s", result.output), result.output[-3000:]
    runs = {(entry["what"], entry["result"]) for entry in audit(host)}
    expected = {("converge", "ok"), ("converge", "failed"), ("converge", "abandoned")}
    assert expected | {("rollback", "failed"), ("rollback", "ok")} <= runs, runs
    assert "rollback failed by" in result.output, result.output[-3000:]


def test_secrets_never_in_the_output_or_world_readable_files(host):
    secret_key = host.run("cat /etc/djangoprod/guestbook/secret_key").stdout.strip()
    assert len(secret_key) == 64
    for output in OUTPUTS:
        assert secret_key not in output
        assert CACHE_PASSWORD not in output
    for secret in (secret_key, CACHE_PASSWORD):
        found = host.run(f"grep -rlsF -- {secret} /etc /srv /var/log /run /tmp /var/lib/redis").stdout.split()
        readable = [p for p in found if host.file(p).mode & 0o004]
        assert readable == [], readable
        assert host.run(f"journalctl --no-pager | grep -cF -- {secret}").stdout.strip() == "0"


def test_the_app_not_answering_shows_a_page_not_a_bare_502(host, address):
    serving = hello(address)
    stopped = host.run("systemctl stop gunicorn-guestbook.socket gunicorn-guestbook.service")
    assert stopped.rc == 0, stopped.stderr
    try:
        down = request(address, NAME, "/hello/")
        assert down.status == 503 and down.header("Retry-After") == "30"
        assert b"Back shortly" in down.body
    finally:
        host.run("systemctl start gunicorn-guestbook.socket")
    assert hello(address) == serving
