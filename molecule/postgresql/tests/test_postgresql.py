"""The postgresql role alone: logins, derived sizing, TLS over TCP from the controller,
reload versus restart on changed inputs, refusals that change nothing, data kept."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest
from conftest import assert_refused, converge, exposure

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / ".collections"))
from ansible_collections.djangoprod.stack.plugins.filter.tuning import postgresql_tuning

SECRET = "reporting-molecule-secret"


def psql(host, sql: str, user: str = "postgres", db: str = "postgres"):
    return host.run(f"runuser -u {user} -- psql -X -At -d {db} -c {sql!r}")


def setting_kb(host, name: str) -> int:
    out = psql(host, f"SELECT setting::bigint * 8 FROM pg_settings WHERE name = '{name}'")
    assert out.rc == 0, out.stderr
    return int(out.stdout.strip())


def postmaster_pid(host) -> str:
    return host.run("head -n 1 /var/lib/postgresql/*/main/postmaster.pid").stdout.strip()


def tcp(address: str, user: str, password: str, sslmode: str = "require", db: str = "shop"):
    return psycopg.connect(
        host=address, user=user, password=password, dbname=db, sslmode=sslmode, connect_timeout=5
    )


@pytest.fixture(scope="module")
def version(host) -> str:
    """The major version of the host's cluster: 15 on Debian 12, 17 on Debian 13."""
    return host.run("pg_lsclusters --no-header").stdout.split()[0]


def test_cluster_is_debians_version(host, version):
    release = host.system_info.release.split(".")[0]
    assert version == {"12": "15", "13": "17"}[release]


def test_cluster_runs_hardened(host, version):
    unit = host.service(f"postgresql@{version}-main")
    assert unit.is_running
    assert unit.is_enabled
    assert exposure(host, f"postgresql@{version}-main.service") <= 2.0


def test_app_user_logs_in_by_peer_and_another_user_cannot(host):
    out = psql(host, "SELECT current_user", user="shop", db="shop")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "shop"
    # Another OS user can neither pose as the app's role nor log in as itself.
    host.run("id intruder || useradd --system intruder")
    assert host.run("runuser -u intruder -- psql -X -d shop -U shop -c 'SELECT 1'").rc != 0
    assert host.run("runuser -u intruder -- psql -X -d shop -c 'SELECT 1'").rc != 0


def test_derived_sizing_is_in_effect(host):
    facts = host.ansible("setup", "filter=ansible_memtotal_mb,ansible_processor_vcpus")["ansible_facts"]
    wanted = postgresql_tuning(facts["ansible_memtotal_mb"], facts["ansible_processor_vcpus"], 40)
    assert setting_kb(host, "shared_buffers") == int(wanted["shared_buffers"][:-2])
    assert psql(host, "SHOW max_connections").stdout.strip() == "50"
    assert psql(host, "SHOW log_min_duration_statement").stdout.strip() == "250ms"
    assert psql(host, "SHOW password_encryption").stdout.strip() == "scram-sha-256"


def test_listens_on_loopback_and_the_private_address_only(host, address):
    listening = {s for s in host.socket.get_listening_sockets() if s.endswith(":5432")}
    assert {"tcp://127.0.0.1:5432", f"tcp://{address}:5432"} <= listening
    # ::1 too where the host has IPv6; never a wildcard address.
    assert listening <= {"tcp://127.0.0.1:5432", "tcp://::1:5432", f"tcp://{address}:5432"}


def test_password_is_stored_as_scram(host):
    out = psql(host, "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'reporting'")
    assert out.stdout.strip() == "t"


def test_tcp_client_logs_in_with_tls_and_password(address):
    with tcp(address, "reporting", SECRET) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT current_database()").fetchone() == ("shop",)


@pytest.mark.parametrize(
    ("user", "password", "sslmode", "db"),
    [
        ("reporting", SECRET, "disable", "shop"),  # no TLS
        ("reporting", "wrong-password", "require", "shop"),
        ("shop", "", "require", "shop"),  # a peer-only role
        ("reporting", SECRET, "require", "postgres"),  # not its database
    ],
)
def test_tcp_client_is_refused_otherwise(address, user, password, sslmode, db):
    with pytest.raises(psycopg.OperationalError):
        tcp(address, user, password, sslmode, db)


def test_data_survives_everything_below(host):
    sql = "CREATE TABLE IF NOT EXISTS keep (v text); TRUNCATE keep; INSERT INTO keep VALUES ('precious')"
    assert psql(host, sql, user="shop", db="shop").rc == 0


def test_a_reloadable_change_reloads_without_restart(host):
    before = postmaster_pid(host)
    run = converge({"postgresql_settings": {"log_min_duration_statement": "250ms", "work_mem": "8MB"}})
    assert not run.failed, run.output
    assert sorted(run.changed_tasks) == sorted(
        [
            "djangoprod.stack.postgresql : Write the settings drop-in and the client authentication rules",
            "djangoprod.stack.postgresql : Reload PostgreSQL",
        ]
    ), run.output
    assert psql(host, "SHOW work_mem").stdout.strip() == "8MB"
    assert postmaster_pid(host) == before


def test_a_restart_only_change_restarts(host):
    before = postmaster_pid(host)
    run = converge({"postgresql_settings": {"log_min_duration_statement": "250ms", "max_connections": 77}})
    assert not run.failed, run.output
    assert "djangoprod.stack.postgresql : Restart PostgreSQL for settings that need it" in run.changed_tasks
    assert psql(host, "SHOW max_connections").stdout.strip() == "77"
    assert postmaster_pid(host) != before
    # Back to the scenario's inputs.
    assert not converge().failed


def test_a_version_change_is_refused_before_any_change(host, version):
    run = converge(
        {
            "postgresql_version": "16",
            "postgresql_apt_repository": {"uris": "http://deb.debian.org/debian", "suites": "bookworm"},
        }
    )
    assert run.failed
    assert f"already has a PostgreSQL {version} cluster" in run.output
    assert run.changed_tasks == []
    assert not host.file("/etc/apt/sources.list.d/djangoprod-postgresql.sources").exists


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"postgresql_allowed_clients": ["10.0.0.1/8"]}, "postgresql_allowed_clients"),
        (
            {"postgresql_databases": [{"name": "x", "owner": "nobody_here"}]},
            "owners missing there: nobody_here",
        ),
        ({"postgresql_version": "16"}, "postgresql_version '16'"),
        ({"postgresql_storage": "tape"}, "postgresql_storage"),
    ],
)
def test_bad_input_fails_naming_the_variable_and_changes_nothing(extra, named):
    assert_refused(extra, named)


def test_data_is_still_there(host):
    out = psql(host, "SELECT v FROM keep", user="shop", db="shop")
    assert out.stdout.strip() == "precious"
