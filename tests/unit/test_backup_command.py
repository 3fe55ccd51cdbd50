"""The backup role's command (roles/backup/files/djangoprod-backup): the parts that
need no PostgreSQL (metrics, tolerances, log reading, refusals). The drill and the
restore themselves are proven on real hosts by the molecule scenarios."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "backup" / "files" / "djangoprod-backup"


@pytest.fixture(scope="module")
def command():
    loader = importlib.machinery.SourceFileLoader("djangoprod_backup", str(SCRIPT))
    spec = importlib.util.spec_from_loader("djangoprod_backup", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_metrics_are_prometheus_text_with_one_help_per_name(command):
    text = command.metrics(
        [
            ("a_seconds", "When", {"stanza": "shop", "type": "full"}, 1796283288.0),
            ("a_seconds", "When", {"stanza": "shop", "type": "diff"}, 12.5),
            ("b_success", "Whether", {}, 1),
        ]
    )
    assert text.splitlines() == [
        "# HELP a_seconds When",
        "# TYPE a_seconds gauge",
        'a_seconds{stanza="shop",type="full"} 1796283288',
        'a_seconds{stanza="shop",type="diff"} 12.500',
        "# HELP b_success Whether",
        "# TYPE b_success gauge",
        "b_success 1",
    ]


@pytest.mark.parametrize(
    "production,restored,close",
    [
        (1000, 1000, True),
        (1000, 905, True),
        (1000, 880, False),
        (5, 0, True),
        (0, 11, False),
        (100000, 89000, False),
    ],
)
def test_restored_row_counts_may_trail_production_a_little(command, production, restored, close):
    assert command.close_enough(production, restored, 0.1) is close


def test_the_server_log_gives_its_errors_first(command, tmp_path):
    log = tmp_path / "scratch.log"
    log.write_text(
        "LOG:  starting\nFATAL:  the database system is starting up\n"
        "FATAL:  recovery aborted because of insufficient parameter settings\nLOG:  shut down\n"
    )
    assert command.tail(str(log)) == "FATAL:  recovery aborted because of insufficient parameter settings"
    log.write_text("LOG:  one\nLOG:  two\n")
    assert command.tail(str(log)) == "LOG:  one / LOG:  two"
    assert command.tail(str(tmp_path / "missing")) == "(no log)"


def test_files_are_replaced_whole(command, tmp_path):
    target = tmp_path / "metrics" / "drill.prom"
    command.write_text(str(target), "one\n")
    command.write_text(str(target), "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["drill.prom"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_a_restore_into_the_production_directory_is_refused(command, tmp_path, monkeypatch, capsys):
    data = tmp_path / "main"
    data.mkdir()
    (data / "PG_VERSION").write_text("15\n")
    config = {"stanza": "shop", "drill_port": 5499, "pg_path": str(data)}
    assert command.cmd_restore_beside(config, str(data) + "/", None) == 2
    assert "restore beside it" in capsys.readouterr().err
    assert (data / "PG_VERSION").exists()


def test_usage_without_a_command(command, capsys):
    assert command.main([]) == 2
    assert "djangoprod-backup drill" in capsys.readouterr().out


def test_settings_come_from_the_role(command, tmp_path, monkeypatch):
    settings = tmp_path / "backup.json"
    settings.write_text(json.dumps({"stanza": "shop"}))
    monkeypatch.setattr(command, "CONFIG", str(settings))
    assert command.load_config() == {"stanza": "shop"}


@pytest.mark.parametrize(
    "text,epoch",
    [
        ("2026-12-03T07:50:12.5Z", 1796284212.5),
        ("2026-12-03T07:50:12.123456789+00:00", 1796284212.123456789),
        ("2026-12-03T08:50:12+01:00", 1796284212.0),
    ],
)
def test_restic_snapshot_times_are_read_to_the_second(command, text, epoch):
    assert command.snapshot_time(text) == pytest.approx(epoch, abs=1e-6)


def test_media_come_back_without_touching_newer_files(command, tmp_path, monkeypatch):
    media = tmp_path / "media"
    (media / "uploads").mkdir(parents=True)
    (media / "uploads" / "kept.txt").write_text("same")
    (media / "uploads" / "changed.txt").write_text("new text")
    (media / "added-since.txt").write_text("newer than the snapshot")
    snapshots = [
        {"id": "a" * 64, "short_id": "aaaa", "time": "2026-12-01T10:00:00Z"},
        {"id": "b" * 64, "short_id": "bbbb", "time": "2026-12-02T10:00:00Z"},
    ]

    def fake_restic(config, *args):  # what `restic restore <id> --target <staging>` writes
        if args[0] == "snapshots":
            return json.dumps(snapshots)
        assert args[:2] == ("restore", "a" * 64), args
        staged = Path(args[3]) / str(media).lstrip("/") / "uploads"
        staged.mkdir(parents=True)
        (staged / "kept.txt").write_text("same")
        (staged / "changed.txt").write_text("old text")
        (staged / "deleted.txt").write_text("gone since")
        return ""

    monkeypatch.setattr(command, "restic", fake_restic)
    config = {"path": str(media), "host": "web1", "state": str(tmp_path / "state")}
    assert command.cmd_media_restore(config, command.snapshot_time("2026-12-01T12:00:00Z")) == 0
    assert (media / "uploads" / "deleted.txt").read_text() == "gone since"
    assert (media / "uploads" / "changed.txt").read_text() == "old text"
    assert (media / "added-since.txt").exists()
    assert not (tmp_path / "state" / "restoring").exists()
    assert command.cmd_media_restore(config, command.snapshot_time("2026-11-30T00:00:00Z")) == 1
