"""app_serve against a real HTTPS server standing in for nginx and gunicorn: it answers the
health check with the release its fake systemctl last loaded (what `current` pointed to)."""

from __future__ import annotations

import datetime
import http.server
import json
import os
import ssl
import threading
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.module_utils import lock as locks
from ansible_collections.djangoprod.stack.plugins.module_utils.releases import RECORD
from ansible_collections.djangoprod.stack.plugins.modules import app_serve
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SYSTEMCTL = """#!/bin/sh
# systemctl as the module calls it: loading a unit makes it serve what current points to.
echo "$*" >> "$STATE/calls"
case "$1" in
  show) echo NRestarts=0; echo ActiveState=active; exit 0 ;;
  restart|reload-or-restart)
    [ -e "$STATE/fail-load" ] && { echo "Job failed" >&2; exit 1; }
    basename "$(readlink "$ROOT/current")" > "$STATE/serving" ;;
esac
"""
JOURNALCTL = '#!/bin/sh\necho "Traceback: ImportError in the new release"\n'


def certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "shop.example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def site(tmp_path: Path, monkeypatch):
    """The app's root, the fake units' state and the site's port."""
    root, state, bin_dir = tmp_path / "srv", tmp_path / "state", tmp_path / "bin"
    for directory in (root / "shared" / "static", state, bin_dir):
        directory.mkdir(parents=True)
    for name, text in (("systemctl", SYSTEMCTL), ("journalctl", JOURNALCTL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("STATE", str(state))
    monkeypatch.setenv("ROOT", str(root))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            serving = (state / "serving").read_text().strip() if (state / "serving").exists() else ""
            ok = serving and not serving.startswith("broken")
            body = json.dumps({"release": serving}).encode() if ok else b"Bad Gateway"
            self.send_response(200 if ok else 502)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, state, server.server_address[1]
    server.shutdown()


def build(root: Path, release: str, venv: str = "v1") -> None:
    directory = root / "releases" / release
    directory.mkdir(parents=True)
    (root / "venvs" / venv).mkdir(parents=True, exist_ok=True)
    (directory / "venv").symlink_to(f"../../venvs/{venv}")
    (root / "collected" / release).mkdir(parents=True)
    (root / "collected" / release / f"{release}.css").write_text(release)
    (directory / RECORD).write_text(json.dumps({"id": release, "built_at": release}))


def serve(capsys, site, release: str, check_mode: bool = False, **more) -> dict:
    root, _state, port = site
    args = {
        "root": str(root),
        "release": release,
        "by": "alice",
        "unit": "gunicorn-shop.service",
        "health_host": "shop.example.test",
        "health_timeout": 2,
        "port": port,
        **more,
    }
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), pytest.raises(SystemExit):
        app_serve.main()
    return json.loads(capsys.readouterr().out)


def current(root: Path) -> str:
    return os.path.basename(os.readlink(root / "current"))


def deployed(capsys, site, *releases: str) -> None:
    """The releases deployed one after the other, each healthy."""
    for release in releases:
        build(site[0], release)
        if not (site[0] / "current").exists():  # a first deploy's units start on it
            (site[1] / "serving").write_text(release)
        assert not serve(capsys, site, release).get("failed")


def test_a_first_deploy_switches_and_checks_without_loading(capsys, site):
    root, state, _port = site
    build(root, "r1")
    (state / "serving").write_text("r1")  # the units were started on it before the call
    result = serve(capsys, site, "r1")
    assert result["changed"] and result["loaded"] == "" and current(root) == "r1"
    assert result["health"]["release"] == "r1"
    assert (root / "shared" / "static" / "r1.css").exists()
    assert "reload" not in (state / "calls").read_text()


def test_a_deploy_switches_reloads_checks_and_prunes(capsys, site):
    root, state, _port = site
    deployed(capsys, site, "r1", "r2", "r3")
    build(root, "r4")
    result = serve(capsys, site, "r4", units=["shop-celery.service"], keep=2)
    assert result["changed"] and result["loaded"] == "reloaded" and result["previous"] == "r3"
    assert current(root) == "r4" and result["health"]["release"] == "r4"
    calls = (state / "calls").read_text().splitlines()
    assert "reload-or-restart gunicorn-shop.service" in calls
    assert "restart shop-celery.service" in calls
    assert sorted(os.listdir(root / "releases")) == ["r3", "r4"]
    log = [json.loads(line) for line in (root / "deploys.log").read_text().splitlines()]
    assert log[-1] == {**log[-1], "by": "alice", "from": "r3", "to": "r4", "reason": "deploy"}


def test_another_virtualenv_takes_a_restart(capsys, site):
    root, state, _port = site
    deployed(capsys, site, "r1")
    build(root, "r2", venv="v2")
    result = serve(capsys, site, "r2")
    assert result["loaded"] == "restarted" and result["venv_changed"]
    assert (state / "calls").read_text().splitlines()[-2] == "restart gunicorn-shop.service"


def test_the_same_release_is_left_alone_unless_forced(capsys, site):
    deployed(capsys, site, "r1", "r2")
    again = serve(capsys, site, "r2")
    assert not again["changed"] and again["loaded"] == ""
    forced = serve(capsys, site, "r2", force=True, restart=True)
    assert forced["changed"] and forced["loaded"] == "restarted"


def test_a_release_that_does_not_answer_is_switched_back(capsys, site):
    root, state, _port = site
    deployed(capsys, site, "r1")
    build(root, "broken-r2")
    result = serve(capsys, site, "broken-r2")
    assert result["failed"] and result["step"] == "health" and result["restored"]
    assert "Release broken-r2 failed after the switch, at 'health'" in result["msg"]
    assert "Switched back to r1, which serves again." in result["msg"]
    assert "answered 502" in result["msg"]
    assert current(root) == "r1" and (state / "serving").read_text().strip() == "r1"
    assert (root / "releases" / "broken-r2").exists()  # the role's rescue decides what to remove


def test_a_failed_load_is_switched_back_with_the_units_log(capsys, site):
    root, state, _port = site
    deployed(capsys, site, "r1")
    build(root, "r2")
    (state / "fail-load").touch()
    result = serve(capsys, site, "r2")
    assert result["failed"] and result["step"] == "load"
    assert "Job failed" in result["msg"] and "ImportError in the new release" in result["msg"]
    assert current(root) == "r1"


def test_an_earlier_switch_of_the_run_is_undone_too(capsys, site):
    """The units were rewritten after the run switched: `previous` names what ran before."""
    root, _state, _port = site
    deployed(capsys, site, "r1")
    build(root, "broken-r2")
    os.replace(root / "current", root / "current.old")
    (root / "current").symlink_to("releases/broken-r2")
    result = serve(capsys, site, "broken-r2", previous="r1", force=True)
    assert result["failed"] and current(root) == "r1" and result["restored"]


def test_check_mode_changes_nothing_and_checks_the_running_release(capsys, site):
    root, state, _port = site
    deployed(capsys, site, "r1")
    build(root, "r2")
    calls = (state / "calls").read_text()
    result = serve(capsys, site, "r2", check_mode=True)
    assert result["changed"] and result["health"]["release"] == "r1"
    assert current(root) == "r1" and (state / "calls").read_text().count("restart") == calls.count("restart")


def test_a_release_that_serves_gives_the_runs_lock_back_and_records_it(capsys, site, tmp_path, monkeypatch):
    root, _state, _port = site
    monkeypatch.setattr(locks, "LOCK_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir()
    ours = {"run": "ctl:10:1", "what": "deploy", "user": "alice", "controller": "ctl"}
    lock = tmp_path / "run" / "app-shop.lock"
    lock.write_text(json.dumps({**ours, "since": "2026-01-01T00:00:00Z"}))
    unlock = {
        "name": "app-shop",
        "holder": ours,
        "audit_log": str(root / "audit.log"),
        "audit": {"result": "ok"},
    }
    deployed(capsys, site, "r1")
    build(root, "r2")
    result = serve(capsys, site, "r2", unlock=unlock)
    assert result["unlocked"]["result"] == "ok" and result["unlocked"]["by"] == "alice", result
    assert lock.read_text() == ""
    audit = [json.loads(line) for line in (root / "audit.log").read_text().splitlines()]
    assert audit == [result["unlocked"]] and audit[0]["started"] == "2026-01-01T00:00:00Z"

    # another run's lock is left as it is (the role's unlock step says so)
    theirs = {"run": "ctl:11:1", "what": "deploy", "since": "2026-01-01T00:00:00Z"}
    lock.write_text(json.dumps(theirs))
    build(root, "r3")
    again = serve(capsys, site, "r3", unlock=unlock)
    assert again["unlocked"] == {} and json.loads(lock.read_text()) == theirs

    # a release that does not serve leaves the lock to the caller
    lock.write_text(json.dumps({**ours, "since": "2026-01-01T00:00:00Z"}))
    build(root, "broken-r4")
    failed = serve(capsys, site, "broken-r4", unlock=unlock)
    assert failed["failed"] and json.loads(lock.read_text())["run"] == ours["run"]
    assert len((root / "audit.log").read_text().splitlines()) == 1
