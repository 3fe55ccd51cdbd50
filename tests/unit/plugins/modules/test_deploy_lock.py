"""deploy_lock: one run at a time, re-entrant for its holder, abandoned locks taken over
and recorded, and an audit line per run given back."""

from __future__ import annotations

import json
import time

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.djangoprod.stack.plugins.module_utils.releases import RECORD
from ansible_collections.djangoprod.stack.plugins.modules import app_release, deploy_lock

ALICE = {"run": "ci-1:100:5", "user": "alice", "controller": "ci-1", "what": "deploy"}
BOB = {"run": "laptop:200:7", "user": "bob", "controller": "laptop", "what": "converge"}


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(deploy_lock, "LOCK_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


def run(capsys, **args) -> dict:
    with patch_module_args({"name": "app-shop", **args}), pytest.raises(SystemExit):
        deploy_lock.main()
    return json.loads(capsys.readouterr().out)


def audit(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]


def test_a_second_run_is_refused_naming_the_holder(capsys, tmp_path, lock_dir):
    first = run(capsys, holder=ALICE)
    assert not first["conflict"] and not first["changed"]
    assert (lock_dir / "app-shop.lock").stat().st_mode & 0o777 == 0o600
    second = run(capsys, holder=BOB)
    assert second["conflict"] and second["holder"]["user"] == "alice" and second["holder"]["since"]
    # the holder takes it again (re-entrant) and renews it
    assert not run(capsys, holder=ALICE)["conflict"]


def test_giving_back_records_the_run_and_frees_the_lock(capsys, tmp_path):
    log = str(tmp_path / "audit.log")
    run(capsys, holder=ALICE, audit_log=log)
    back = run(capsys, holder=ALICE, state="unlocked", audit_log=log, audit={"result": "ok", "to": "r2"})
    assert back["audit"]["result"] == "ok"
    [entry] = audit(tmp_path)
    assert entry["by"] == "alice" and entry["controller"] == "ci-1" and entry["to"] == "r2"
    assert entry["what"] == "deploy" and entry["seconds"] >= 0 and entry["started"]
    assert not run(capsys, holder=BOB)["conflict"]


def test_another_runs_lock_is_not_given_back(capsys):
    run(capsys, holder=ALICE)
    other = run(capsys, holder=BOB, state="unlocked")
    assert other["conflict"]
    assert run(capsys, holder=BOB)["conflict"]


def test_a_named_or_expired_holder_is_taken_over_and_recorded(capsys, tmp_path, lock_dir):
    log = str(tmp_path / "audit.log")
    run(capsys, holder=ALICE)
    taken = run(capsys, holder=BOB, takeover=ALICE["run"], audit_log=log)
    assert not taken["conflict"] and taken["abandoned"]["run"] == ALICE["run"]
    assert taken["holder"]["run"] == BOB["run"]
    assert audit(tmp_path)[0]["result"] == "abandoned" and audit(tmp_path)[0]["by"] == "alice"
    # a lease not renewed for longer than `lease` counts as abandoned
    record = json.loads((lock_dir / "app-shop.lock").read_text())
    record["renewed"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 120))
    (lock_dir / "app-shop.lock").write_text(json.dumps(record))
    assert run(capsys, holder=ALICE, lease=600)["conflict"]
    assert not run(capsys, holder=ALICE, lease=60)["conflict"]


def test_check_mode_takes_nothing(capsys, lock_dir):
    assert not run(capsys, holder=ALICE, _ansible_check_mode=True)["conflict"]
    assert (lock_dir / "app-shop.lock").read_text() == ""
    assert not run(capsys, holder=BOB)["conflict"]


def test_a_run_without_identity_is_refused(capsys):
    assert "action plugin" in run(capsys, holder={"what": "deploy"})["msg"]


def test_the_last_result_of_each_kind_of_run_is_kept_for_monitoring(capsys, tmp_path):
    textfiles = tmp_path / "node-exporter"
    textfiles.mkdir()
    metrics = {"metrics_directory": str(textfiles), "metrics_app": "shop"}
    for holder, result in ((ALICE, "failed"), (BOB, "ok"), (ALICE, "ok"), (BOB, "failed")):
        run(capsys, holder=holder)
        run(capsys, holder=holder, state="unlocked", audit={"result": result}, **metrics)
    text = (textfiles / "djangoprod_deploy_app-shop.prom").read_text()
    assert 'djangoprod_deploy_last_run_success{app="shop",what="deploy"} 1\n' in text
    assert 'djangoprod_deploy_last_run_success{app="shop",what="converge"} 0\n' in text
    stamps = [
        line for line in text.splitlines() if line.startswith("djangoprod_deploy_last_run_timestamp_seconds{")
    ]
    assert len(stamps) == 2 and all(abs(float(s.rsplit(" ", 1)[1]) - time.time()) < 60 for s in stamps)
    assert text.count("# TYPE") == 2


def test_no_metrics_without_the_textfile_directory(capsys, tmp_path):
    run(capsys, holder=ALICE)
    run(
        capsys,
        holder=ALICE,
        state="unlocked",
        audit={"result": "failed"},
        metrics_directory=str(tmp_path / "absent"),
    )
    assert not (tmp_path / "absent").exists()


def test_the_lock_reads_the_releases_as_app_release_does(capsys, tmp_path):
    # one call takes the lock and says what the host runs: app_release's info, exactly
    root = tmp_path / "srv"
    (root / "releases" / "r1").mkdir(parents=True)
    (root / "releases" / "r1" / RECORD).write_text('{"id": "r1"}')
    (root / "current").symlink_to("releases/r1")
    record, missing = str(root / "host-record"), str(root / "missing")
    (root / "host-record").write_text("signature\n")
    taken = run(capsys, holder=ALICE, releases_root=str(root), read=[record, missing])
    assert taken["releases"]["current"] == "r1"
    assert taken["releases"]["files"] == {record: "signature\n", missing: None}
    with patch_module_args({"root": str(root), "read": [record, missing]}), pytest.raises(SystemExit):
        app_release.main()
    info = json.loads(capsys.readouterr().out)
    not_info = ("changed", "invocation", "warnings")
    assert taken["releases"] == {k: v for k, v in info.items() if k not in not_info}
    # refused: the releases are still read (a check run shows what it would deploy over)
    refused = run(capsys, holder=BOB, releases_root=str(root))
    assert refused["conflict"] and refused["releases"]["current"] == "r1"
    # without releases_root nothing is read
    assert "releases" not in run(capsys, holder=ALICE)
