"""site_preflight: every bad site input refused with the variable named and what to set."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import pytest
import yaml
from ansible_collections.djangoprod.stack.plugins.action.site_preflight import check_hostname, problems

ROOT = Path(__file__).resolve().parents[4]
GOOD = {
    "djangoprod_project": "shop",
    "djangoprod_domains": ["example.com", "www.example.com"],
    "nginx_tls_mode": "acme",
    "nginx_acme_email": "ops@example.com",
    "app_admins": [["Ops", "ops@example.com"]],
    "app_server_email": "errors@example.com",
    "base_admin_user": "admin",
    "base_timezone": "Europe/Paris",
    "base_ssh_port": 2222,
    "postgresql_port": "5432",
    "app_cache_backend": "memcached",
    "djangoprod_redis": False,
    "djangoprod_deploy_serial": "50%",
    "djangoprod_git_repo": "git@github.com:example/shop.git",
    "djangoprod_git_version": "v1.4",
    "app_root": "/srv/shop",
    "djangoprod_backup_s3": {
        "bucket": "b",
        "endpoint": "s3.example.com",
        "key": "k",
        "secret": "s",
        "uri_style": "path",
    },
    "djangoprod_media_s3": {"bucket": "m", "endpoint": "s3.example.com", "key": "k", "secret": "s"},
    "groups_web": ["web1", "web2"],
}


def test_good_inputs_pass(tmp_path):
    assert problems(GOOD, str(tmp_path)) == []
    assert problems({}, str(tmp_path)) == []


def test_a_source_directory_relative_to_where_the_run_starts(tmp_path):
    (tmp_path / "shop").mkdir()
    assert problems({"djangoprod_source_path": "shop"}, str(tmp_path)) == []
    assert problems({"djangoprod_source_path": str(tmp_path / "shop")}, "/") == []


@pytest.mark.parametrize(
    ("changes", "named", "says"),
    [
        ({"djangoprod_project": "My Shop"}, "djangoprod_project", "djangoprod_project: my_shop"),
        (
            {"djangoprod_backup_s3": {"bucket": "b", "endpoint": "s3.example.com"}},
            "djangoprod_backup_s3",
            "lacks key, secret",
        ),
        (
            {"djangoprod_backup_s3": {**GOOD["djangoprod_backup_s3"], "endpoint": "https://s3.example.com"}},
            "djangoprod_backup_s3",
            "is not a host name",
        ),
        (
            {"djangoprod_backup_s3": {**GOOD["djangoprod_backup_s3"], "uri_style": "virtual"}},
            "djangoprod_backup_s3",
            "neither host nor path",
        ),
        ({"groups_backupservers": ["backup1"]}, "djangoprod_backup_s3", "the backups go to one place"),
        (
            {"djangoprod_media_s3": {"bucket": "m", "endpoint": "s3.example.com:9000", "key": "k"}},
            "djangoprod_media_s3",
            "lacks secret",
        ),
        (
            {"djangoprod_media_s3": {}},
            "djangoprod_media_s3",
            "2 web servers (web1, web2) would each keep uploads on their own disk",
        ),
        (
            {"djangoprod_media_s3": {}, "djangoprod_media_shared_mount": "yes"},
            "djangoprod_media_s3",
            "set djangoprod_media_shared_mount: true if the media directory is a mount",
        ),
        ({"djangoprod_project": "1shop"}, "djangoprod_project", "starting with a letter"),
        ({"djangoprod_project": "shop-prod"}, "djangoprod_project", "djangoprod_project: shop_prod"),
        ({"djangoprod_domains": ["https://example.com"]}, "djangoprod_domains", "has a scheme"),
        ({"djangoprod_domains": ["example.com/shop"]}, "djangoprod_domains", "has a path"),
        ({"djangoprod_domains": ["example.com:8443"]}, "djangoprod_domains", "has a port"),
        ({"djangoprod_domains": ["*.example.com"]}, "djangoprod_domains", "is a wildcard"),
        ({"djangoprod_domains": ["192.0.2.7"]}, "djangoprod_domains", "is an address"),
        ({"djangoprod_domains": ["exa mple.com"]}, "djangoprod_domains", "spaces"),
        ({"djangoprod_domains": ["bad_name.example.com"]}, "djangoprod_domains", "is not a host name"),
        ({"djangoprod_domains": ["localhost"]}, "djangoprod_domains", "not a public name"),
        ({"djangoprod_domains": "example.com"}, "djangoprod_domains", "djangoprod_domains: [example.com]"),
        ({"djangoprod_domains": []}, "djangoprod_domains", "is empty"),
        ({"djangoprod_domains": ["example.com", "Example.com"]}, "djangoprod_domains", "listed twice"),
        ({"nginx_tls_mode": "letsencrypt"}, "nginx_tls_mode", "self_signed, provided, acme"),
        ({"nginx_acme_email": "ops@localhost"}, "nginx_acme_email", "is not an e-mail address"),
        ({"app_server_email": "errors"}, "app_server_email", "is not an e-mail address"),
        ({"app_admins": [["Ops"]]}, "app_admins", "not a [name, e-mail] pair"),
        ({"app_admins": [["Ops", "ops at example.com"]]}, "app_admins", "is not an e-mail address"),
        ({"base_admin_user": "root"}, "base_admin_user", "not root"),
        ({"base_admin_user": "Admin User"}, "base_admin_user", "cannot be the administrator's login"),
        pytest.param(
            {"base_timezone": "Europe/Pariss"},
            "base_timezone",
            "'Europe/Pariss' is not a time zone",
            marks=pytest.mark.skipif(not zoneinfo.available_timezones(), reason="no tz database here"),
        ),
        ({"base_timezone": "../../etc/passwd"}, "base_timezone", "is not a time zone"),
        ({"base_ssh_port": 70000}, "base_ssh_port", "1 to 65535"),
        ({"postgresql_port": "postgres"}, "postgresql_port", "is not a port number"),
        ({"redis_port": 2222}, "redis_port", "is also base_ssh_port"),
        ({"app_cache_backend": "database"}, "app_cache_backend", "is not a cache backend"),
        ({"djangoprod_memcached": "no"}, "djangoprod_memcached", "true or false"),
        ({"djangoprod_deploy_serial": 0}, "djangoprod_deploy_serial", "is not a batch size"),
        ({"djangoprod_deploy_serial": "150%"}, "djangoprod_deploy_serial", "is not a batch size"),
        ({"djangoprod_source_path": "/nonexistent/shop"}, "djangoprod_source_path", "is set together with"),
        ({"djangoprod_git_version": "main branch"}, "djangoprod_git_version", "not a branch, tag or commit"),
        ({"app_root": "srv/shop"}, "app_root", "absolute path"),
        ({"app_root": "/etc"}, "app_root", "is not a directory of its own"),
    ],
)
def test_each_bad_input_is_refused_naming_the_variable(tmp_path, changes, named, says):
    found = problems({**GOOD, **changes}, str(tmp_path))
    assert found, changes
    assert all(line.startswith(f"{named}: ") for line in found), found
    assert says in " ".join(found)


@pytest.mark.parametrize(
    "changes",
    [
        {"djangoprod_media_s3": {}, "djangoprod_media_shared_mount": True},
        {"djangoprod_media_s3": {}, "groups_web": ["web1"]},
        {"djangoprod_media_s3": {}, "djangoprod_git_repo": ""},
        {
            "djangoprod_media_s3": {},
            "app_media_s3": {"bucket": "m", "endpoint": "s3.example.com", "key": "k", "secret": "s"},
        },
    ],
    ids=["a-shared-mount", "one-web-server", "no-app", "the-app-roles-own-bucket"],
)
def test_local_media_pass_where_no_upload_goes_missing(tmp_path, changes):
    assert problems({**GOOD, **changes}, str(tmp_path)) == []


def test_a_missing_source_directory_says_where_it_looked(tmp_path):
    found = problems({"djangoprod_source_path": "../shop"}, str(tmp_path / "infra"))
    assert found == [
        f"djangoprod_source_path: '../shop' is not a directory on this machine (looked at {tmp_path}/shop). "
        "Set the directory of your Django project, absolute or relative to where you run ansible-playbook"
    ]


def test_every_problem_is_listed_at_once(tmp_path):
    found = problems(
        {"djangoprod_project": "My Shop", "djangoprod_domains": ["https://x.example/a"]}, str(tmp_path)
    )
    assert [line.split(":")[0] for line in found] == ["djangoprod_project", "djangoprod_domains"]


@pytest.mark.parametrize(
    "name", ["example.com", "*.example.com", "192.0.2.7", "localhost", "xn--bcher-kva.example"]
)
def test_self_signed_sites_take_wildcards_addresses_and_local_names(name):
    assert check_hostname(name, acme=False) is None


def test_every_tls_mode_the_nginx_role_takes_passes(tmp_path):
    spec = yaml.safe_load((ROOT / "roles/nginx/meta/argument_specs.yml").read_text())
    choices = spec["argument_specs"]["main"]["options"]["nginx_tls_mode"]["choices"]
    for mode in choices:
        values = {**GOOD, "nginx_tls_mode": mode, "djangoprod_domains": ["example.com"]}
        found = problems(values, str(tmp_path))
        assert [p for p in found if p.startswith("nginx_tls_mode")] == [], (mode, found)
