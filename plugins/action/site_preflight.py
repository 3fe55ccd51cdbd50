# Copyright: djangoprod.stack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action: the site's inputs checked on the controller, before any host is touched."""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo
from collections.abc import Callable, Mapping

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

# Names the database, the unix user, the units and the directories are made from.
PROJECT = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
EMAIL = re.compile(r"^[^@\s<>\"',;]+@([^@\s<>\"',;]+)$")
UNIX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
GIT_REF = re.compile(r"^[^\s~^:?*\[\\]+$")
SERIAL = re.compile(r"^([1-9][0-9]?|100)%$")
TLS_MODES = ("self_signed", "provided", "acme")
CACHE_BACKENDS = ("redis", "memcached", "locmem", "none")
PORTS = ("base_ssh_port", "postgresql_port", "redis_port", "memcached_port")
TIMEZONE = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")


def _kind(value: object) -> str:
    for kind, name in (
        (bool, "true/false"),
        (str, "text"),
        (int, "a number"),
        (list, "a list"),
        (dict, "a mapping"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def check_hostname(name: object, acme: bool) -> str | None:
    """Why `name` cannot be one of the site's domains, or None."""
    if not isinstance(name, str) or not name.strip():
        return f"{name!r} is {_kind(name)}, not a domain"
    if "://" in name:
        return f"{name!r} has a scheme: give the name alone ({name.split('://', 1)[1].split('/')[0]!r})"
    if "/" in name:
        return f"{name!r} has a path: give the name alone ({name.split('/')[0]!r}); a site is served from /"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        if acme:
            return (
                f"{name!r} is an address: an ACME CA certifies names only"
                " (or set nginx_tls_mode: self_signed)"
            )
        return None
    if ":" in name:
        return (
            f"{name!r} has a port: give the name alone ({name.rsplit(':', 1)[0]!r}); nginx serves 80 and 443"
        )
    if name != name.strip() or " " in name:
        return f"{name!r} has spaces"
    labels = name.lower().rstrip(".").split(".")
    if labels[0] == "*":
        if acme:
            return f"{name!r} is a wildcard: an HTTP challenge cannot prove one (list each name)"
        labels = labels[1:]
        if len(labels) < 2:
            return f"{name!r} is a wildcard over a top-level domain"
    if len(name) > 253 or not labels or not all(LABEL.match(label) for label in labels):
        return f"{name!r} is not a host name (letters, digits and hyphens, in dot-separated labels)"
    if acme and len(labels) < 2:
        return f"{name!r} is not a public name an ACME CA can certify"
    return None


def check_email(value: object) -> str | None:
    if not isinstance(value, str):
        return f"{value!r} is {_kind(value)}, not an e-mail address"
    found = EMAIL.match(value)
    if (
        not found
        or "." not in found.group(1)
        or found.group(1).startswith(".")
        or found.group(1).endswith(".")
    ):
        return f"{value!r} is not an e-mail address (name@example.com)"
    return None


def check_port(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        return f"{value!r} is not a port number"
    if not 1 <= int(value) <= 65535:
        return f"{value} is not a port (1 to 65535)"
    return None


def problems(values: Mapping[str, object], cwd: str) -> list[str]:
    """What is wrong with the site's inputs (`values`: the variables that are set), each
    naming the variable and what to set instead."""
    found: list[str] = []

    def add(name: str, why: str, fix: str) -> None:
        found.append(f"{name}: {why}. {fix}")

    def given(name: str) -> bool:
        return name in values and values[name] is not None

    project = values.get("djangoprod_project")
    if given("djangoprod_project") and not (isinstance(project, str) and PROJECT.match(project)):
        suggestion = re.sub(r"[^a-z0-9_]+", "_", str(project).lower()).strip("_") or "shop"
        if not suggestion[0].isalpha():
            suggestion = "app_" + suggestion
        add(
            "djangoprod_project",
            f"{project!r} cannot name the database, the unix user and the services",
            f"Use lowercase letters, digits and _, starting with a letter, at most 31: "
            f"djangoprod_project: {suggestion[:31]}",
        )

    mode = values.get("nginx_tls_mode", "self_signed")
    if mode not in TLS_MODES:
        add("nginx_tls_mode", f"{mode!r} is not a TLS mode", f"Set one of {', '.join(TLS_MODES)}")
    acme = mode == "acme"

    if given("djangoprod_domains"):
        domains = values["djangoprod_domains"]
        if isinstance(domains, str):
            add(
                "djangoprod_domains",
                f"{domains!r} is text, not a list",
                f"Write it as a list: djangoprod_domains: [{domains}]",
            )
        elif not isinstance(domains, list) or not domains:
            add("djangoprod_domains", "is empty or not a list", "List the names the site answers to")
        else:
            for name in domains:
                why = check_hostname(name, acme)
                if why:
                    add("djangoprod_domains", why, "List each name the site answers to, as example.com")
            lowered = [str(name).lower().rstrip(".") for name in domains]
            repeated = sorted({name for name in lowered if lowered.count(name) > 1})
            if repeated:
                add("djangoprod_domains", f"{', '.join(repeated)} listed twice", "List each name once")

    if acme:
        email = values.get("nginx_acme_email", "")
        if email:
            why = check_email(email)
            if why:
                add(
                    "nginx_acme_email",
                    why,
                    "Set the address the ACME CA writes to about expiring certificates",
                )

    server_email = values.get("app_server_email")
    if server_email:
        why = check_email(server_email)
        if why:
            add("app_server_email", why, "Set the sender of the site's error mails, as errors@example.com")
    admins = values.get("app_admins")
    if given("app_admins"):
        if not isinstance(admins, list):
            add(
                "app_admins",
                f"is {_kind(admins)}",
                "List [name, e-mail] pairs: app_admins: [[Ops, ops@example.com]]",
            )
        else:
            for admin in admins:
                if not (isinstance(admin, list) and len(admin) == 2):
                    add(
                        "app_admins",
                        f"{admin!r} is not a [name, e-mail] pair",
                        "Write each as [Ops, ops@example.com]",
                    )
                elif check_email(admin[1]):
                    add("app_admins", check_email(admin[1]) or "", "Write each as [Ops, ops@example.com]")

    user = values.get("base_admin_user")
    if given("base_admin_user") and (
        not isinstance(user, str) or not UNIX_USER.match(user) or user == "root"
    ):
        add(
            "base_admin_user",
            f"{user!r} cannot be the administrator's login",
            "Use lowercase letters, digits, _ and -, starting with a letter, not root: "
            "base_admin_user: admin",
        )

    zone = values.get("base_timezone")
    if given("base_timezone"):
        # The controller's own time zone database, when it has one (Debian's tzdata):
        # the hosts' is the same, and a mistyped name is found before any host changes.
        known = zoneinfo.available_timezones()
        if not (isinstance(zone, str) and TIMEZONE.match(zone)) or (known and zone not in known):
            add(
                "base_timezone",
                f"{zone!r} is not a time zone",
                "Set a name of the tz database, such as Europe/Paris or Etc/UTC",
            )

    seen: dict[int, str] = {}
    for name in PORTS:
        if given(name):
            why = check_port(values[name])
            if why:
                add(name, why, "Set a number from 1 to 65535")
            elif int(values[name]) in seen:
                add(
                    name,
                    f"{values[name]} is also {seen[int(values[name])]}",
                    "Give each service its own port",
                )
            else:
                seen[int(values[name])] = name

    if given("app_cache_backend") and values["app_cache_backend"] not in CACHE_BACKENDS:
        add(
            "app_cache_backend",
            f"{values['app_cache_backend']!r} is not a cache backend",
            f"Set one of {', '.join(CACHE_BACKENDS)} (or leave it to the cacheservers group)",
        )

    for name in ("djangoprod_redis", "djangoprod_memcached"):
        if given(name) and not isinstance(values[name], bool):
            add(name, f"{values[name]!r} is {_kind(values[name])}", f"Set {name}: true or false")

    if given("djangoprod_deploy_serial"):
        serial = values["djangoprod_deploy_serial"]
        number = isinstance(serial, int) and not isinstance(serial, bool) and serial >= 1
        if not (
            number
            or (isinstance(serial, str) and ((serial.isdigit() and int(serial) >= 1) or SERIAL.match(serial)))
        ):
            add(
                "djangoprod_deploy_serial",
                f"{serial!r} is not a batch size",
                "Set a number of hosts (1 deploys one web server at a time) or a percentage such as 50%",
            )

    source_names = [name for name in ("djangoprod_source_path", "app_source_path") if values.get(name)]
    if source_names and values.get("djangoprod_git_repo"):
        add(
            source_names[0],
            "is set together with djangoprod_git_repo",
            "Deploy from one place: remove one of them",
        )
    for name in source_names:
        path = values[name]
        if not isinstance(path, str):
            add(name, f"{path!r} is {_kind(path)}", "Set the directory of your Django project")
            continue
        full = os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))
        if not os.path.isdir(full):
            add(
                name,
                f"{path!r} is not a directory on this machine (looked at {full})",
                "Set the directory of your Django project, absolute or relative to where you run "
                "ansible-playbook",
            )

    version = values.get("djangoprod_git_version")
    if (
        values.get("djangoprod_git_repo")
        and given("djangoprod_git_version")
        and (not isinstance(version, str) or not GIT_REF.match(version))
    ):
        add(
            "djangoprod_git_version",
            f"{version!r} is not a branch, tag or commit",
            "Set a branch, tag or commit: djangoprod_git_version: main",
        )

    root = values.get("app_root")
    if given("app_root") and (
        not isinstance(root, str)
        or not root.startswith("/")
        or os.path.normpath(root) in ("/", "/etc", "/usr", "/var", "/home", "/root", "/srv", "/opt", "/tmp")
    ):
        add("app_root", f"{root!r} is not a directory of its own", "Set an absolute path such as /srv/shop")

    for name in ("djangoprod_backup_s3", "djangoprod_media_s3"):
        if given(name) and values[name] != {}:
            for why, fix in check_bucket(values[name]):
                add(name, why, fix)
    if (
        given("djangoprod_backup_s3")
        and values["djangoprod_backup_s3"] != {}
        and values.get("groups_backupservers")
    ):
        add(
            "djangoprod_backup_s3",
            "is given and so is a backupservers host: the backups go to one place",
            "Keep either the bucket or the backupservers group",
        )
    web = list(values.get("groups_web") or [])
    has_app = any(
        values.get(name)
        for name in ("djangoprod_source_path", "app_source_path", "djangoprod_git_repo", "app_git_repo")
    )
    # (a bucket that cannot be read is said on its own)
    bucket = (
        values.get("djangoprod_media_s3") or values.get("app_media_s3") or values.get("unreadable_media_s3")
    )
    if has_app and len(web) > 1 and not bucket and values.get("djangoprod_media_shared_mount") is not True:
        add(
            "djangoprod_media_s3",
            f"is not set and {len(web)} web servers ({', '.join(web)}) would each keep uploads on their own "
            "disk: a file uploaded to one is missing on the others, and lost with its server",
            "Give an S3-compatible bucket for the uploads (djangoprod_media_s3: {bucket, endpoint, key, "
            "secret}), or set djangoprod_media_shared_mount: true if the media directory is a mount every "
            "web server shares (NFS)",
        )
    return found


def check_bucket(bucket: object) -> list[tuple[str, str]]:
    """What is wrong with an S3 bucket's settings ({bucket, endpoint, key, secret, ...})."""
    fix = "Give bucket, endpoint, key and secret"
    if not isinstance(bucket, Mapping):
        return [(f"is {_kind(bucket)}, not a mapping", fix)]
    found = []
    missing = [field for field in ("bucket", "endpoint", "key", "secret") if not bucket.get(field)]
    if missing:
        found.append((f"lacks {', '.join(missing)}", fix))
    if bucket.get("uri_style", "host") not in ("host", "path"):
        found.append(
            (
                f"uri_style {bucket.get('uri_style')!r} is neither host nor path",
                "Set uri_style: path for most self-hosted S3 servers, else leave it out",
            )
        )
    if "://" in str(bucket.get("endpoint", "")) or "/" in str(bucket.get("endpoint", "")):
        found.append(
            (
                f"endpoint {bucket.get('endpoint')!r} is not a host name",
                "Give the name alone (s3.example.com) and the port in port",
            )
        )
    return found


# The buckets' settings: what they refer to is the user's (a vault), never a role's.
BUCKETS = ("djangoprod_backup_s3", "djangoprod_media_s3", "app_media_s3")

# The variables checked, read from the host's variables when they are set.
NAMES = (
    "djangoprod_project",
    "djangoprod_domains",
    "nginx_tls_mode",
    "nginx_acme_email",
    "app_server_email",
    "app_admins",
    "base_admin_user",
    "base_timezone",
    *PORTS,
    "app_cache_backend",
    "djangoprod_redis",
    "djangoprod_memcached",
    "djangoprod_deploy_serial",
    "djangoprod_source_path",
    "app_source_path",
    "djangoprod_git_repo",
    "djangoprod_git_version",
    "app_root",
    "djangoprod_backup_s3",
    "djangoprod_media_s3",
    "app_media_s3",
    "djangoprod_media_shared_mount",
    "app_git_repo",
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        values: dict[str, object] = {}
        unreadable: list[str] = []
        template: Callable[[object], object] = self._templar.template
        for name in NAMES:
            if name not in task_vars:
                continue
            try:
                values[name] = template(task_vars[name])
            except AnsibleError as error:
                # It refers to what only the roles define (their defaults): their own
                # checks see it. A bucket refers to the user's own (vault) variables.
                if name in BUCKETS:
                    values["unreadable_media_s3"] = (
                        values.get("unreadable_media_s3") or name != "djangoprod_backup_s3"
                    )
                    unreadable.append(
                        f"{name}: cannot be read ({str(error).splitlines()[0]}). Define what it refers to "
                        "(a variable of your vault?) or leave it out"
                    )
                continue
        groups = task_vars.get("groups") or {}
        values["groups_backupservers"] = list(groups.get("backupservers") or [])
        values["groups_web"] = list(
            groups["webservers"] if "webservers" in groups else groups.get("all") or []
        )
        found = unreadable + problems(values, os.getcwd())
        result["changed"] = False
        result["problems"] = found
        if found:
            result["failed"] = True
            result["msg"] = (
                f"{len(found)} input(s) need fixing before anything on "
                f"{task_vars.get('inventory_hostname', 'the host')} changes:\n- " + "\n- ".join(found)
            )
        else:
            result["msg"] = "the site's inputs are usable"
        return result
