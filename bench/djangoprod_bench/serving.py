"""5-6. Serving throughput next to bare configurations, and the gunicorn sweep."""

from __future__ import annotations

import re
from pathlib import Path

from .common import SINGLE, TARGETS, say, sh, ssh
from .load import Wrk, wrk
from .report import RESULTS, row, verdict
from .runs import playbook

BARE_SITE = """# bench only: bare configurations on the same host, the ceiling to compare with
server {{
    listen 8443 ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    access_log off;
    location = /200 {{ return 200 "ok"; }}
    location /static/ {{ alias {static}/; gzip_static on; }}
    location /hello/ {{
        proxy_pass http://unix:/run/djp-bench-bare/gunicorn.sock;
        proxy_set_header Host $host;
    }}
}}
"""

# A bare Django hello: one view, no middleware, no database, default gunicorn options
# (run with the site's virtualenv, as the app's user, without any sandbox).
BARE_DJANGO = """from django.conf import settings
settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="bench", MIDDLEWARE=[])
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path
urlpatterns = [path("hello/", lambda request: HttpResponse("hello\\n", content_type="text/plain"))]
application = get_wsgi_application()
"""


def bare_nginx_up(ip: str) -> None:
    conf = (
        ssh(ip, "grep -m1 -h 'ssl_certificate ' /etc/nginx/sites-enabled/*.conf")
        .stdout.split()[1]
        .rstrip(";")
    )
    cert_key = (
        ssh(ip, "grep -m1 -h 'ssl_certificate_key ' /etc/nginx/sites-enabled/*.conf")
        .stdout.split()[1]
        .rstrip(";")
    )
    site = BARE_SITE.format(cert=conf, key=cert_key, static="/srv/guestbook/shared/static")
    ssh(
        ip,
        f"cat > /etc/nginx/sites-enabled/zz-bench.conf <<'EOF'\n{site}EOF\n"
        "nginx -t -q && systemctl reload nginx && "
        "nft insert rule inet djangoprod input tcp dport 8443 accept",
    )


def bare_nginx_down(ip: str) -> None:
    ssh(
        ip,
        "rm -f /etc/nginx/sites-enabled/zz-bench.conf && systemctl reload nginx; "
        "nft -a list chain inet djangoprod input | sed -n 's/.*dport 8443 accept # handle //p' | "
        "xargs -r -n1 nft delete rule inet djangoprod input handle",
        check=False,
    )


def bare_django_up(ip: str, args: list[str]) -> None:
    """The bare Django hello under gunicorn with `args`, behind the bare nginx server."""
    bare_django_down(ip)
    ssh(
        ip,
        "mkdir -p /opt/djp-bench-bare && "
        f"cat > /opt/djp-bench-bare/bare.py <<'EOF'\n{BARE_DJANGO}EOF\n"
        "systemd-run --quiet --unit=djp-bench-bare --uid=guestbook --gid=guestbook "
        "-p RuntimeDirectory=djp-bench-bare -p RuntimeDirectoryMode=0755 "
        "/srv/guestbook/current/venv/bin/python -m gunicorn --chdir /opt/djp-bench-bare "
        f"--bind unix:/run/djp-bench-bare/gunicorn.sock {' '.join(args)} bare:application && "
        "for i in $(seq 100); do curl -sf --unix-socket /run/djp-bench-bare/gunicorn.sock "
        "http://bench/hello/ >/dev/null && exit 0; sleep 0.1; done; exit 1",
    )


def bare_django_down(ip: str) -> None:
    ssh(ip, "systemctl stop djp-bench-bare; systemctl reset-failed djp-bench-bare", check=False)


def static_paths(ip: str) -> dict[str, str]:
    page = sh(["curl", "-sk", f"https://{ip}/"]).stdout
    css = re.search(r'href="(/static/entries/site\.[0-9a-f]{12}\.css)"', page).group(1)
    bulk = re.search(r'src="(/static/entries/words\.[0-9a-f]{12}\.js)"', page)
    return {"css": css, "js100k": bulk.group(1) if bulk else ""}


def best_of(url: str, args, headers: dict | None = None) -> Wrk:
    runs = [wrk(url, args.duration, headers=headers) for _run in range(args.runs)]
    runs.sort(key=lambda r: r.rps)
    return runs[len(runs) // 2]  # the median run


def bench_serving(args) -> None:
    say("5. serving throughput with wrk from this machine (2 threads, 32 connections)")
    ip = SINGLE["ip"]
    paths = static_paths(ip)
    gzip = {"Accept-Encoding": "gzip"}  # both serve their precompressed .gz copy
    bare_nginx_up(ip)
    cores = int(ssh(ip, "nproc").stdout)
    try:
        bare = {
            "nginx return 200": best_of(f"https://{ip}:8443/200", args),
            "bare nginx: 1 KB static": best_of(f"https://{ip}:8443{paths['css']}", args),
        }
        if paths["js100k"]:
            bare["bare nginx: 100 KB JS (gz)"] = best_of(f"https://{ip}:8443{paths['js100k']}", args, gzip)
        # gunicorn's documented starting points: (2 x cores) + 1 sync workers, and
        # threads for I/O-bound apps
        for label, options in {
            f"sync x{2 * cores + 1}": ["--workers", str(2 * cores + 1)],
            f"gthread x{cores + 1}x4": ["--workers", str(cores + 1), "--threads", "4"],
        }.items():
            bare_django_up(ip, options)
            bare[f"bare Django hello, {label}"] = best_of(f"https://{ip}:8443/hello/", args)
    finally:
        bare_django_down(ip)
        bare_nginx_down(ip)
    site = {
        "hello view": best_of(f"https://{ip}/hello/", args),
        "one-query view": best_of(f"https://{ip}/count/", args),
        "1 KB static": best_of(f"https://{ip}{paths['css']}", args),
    }
    if paths["js100k"]:
        site["100 KB hashed JS (precompressed)"] = best_of(f"https://{ip}{paths['js100k']}", args, gzip)
    ceiling = bare["nginx return 200"].rps
    RESULTS["serving"] = {}
    for name, result in {**bare, **site}.items():
        RESULTS["serving"][name] = {
            "rps": result.rps,
            "p99_ms": result.p99_ms,
            "ratio_to_return_200": result.rps / ceiling,
        }
    for name, result in bare.items():
        row(
            name,
            f"{result.rps:,.0f} req/s p99 {result.p99_ms:.1f} ms",
            f"{result.rps / ceiling:.0%} of ceiling",
        )
    targets = {"hello view": TARGETS["hello_rps"], "1 KB static": TARGETS["static_1k_rps"]}
    bare_for = {
        "1 KB static": "bare nginx: 1 KB static",
        "100 KB hashed JS (precompressed)": "bare nginx: 100 KB JS (gz)",
        "hello view": max(
            (name for name in bare if name.startswith("bare Django hello")), key=lambda n: bare[n].rps
        ),
    }
    for name, result in site.items():
        checks, target, of_bare = [], "", ""
        if name in targets:
            checks.append(result.rps >= targets[name])
            target = f">= {targets[name]:,.0f}"
        if name in bare_for and bare_for[name] in bare:
            ratio = result.rps / bare[bare_for[name]].rps
            RESULTS["serving"][name]["ratio_to_bare"] = ratio
            RESULTS["serving"][name]["bare"] = bare_for[name]
            checks.append(ratio >= TARGETS["bare_ratio"])
            of_bare = f", {ratio:.0%} of bare"
            target = " and ".join(filter(None, [target, f">= {TARGETS['bare_ratio']:.0%} of bare"]))
        row(
            name,
            f"{result.rps:,.0f} req/s p99 {result.p99_ms:.1f} ms{of_bare}",
            target,
            verdict(all(checks)) if checks else "",
        )
    RESULTS.setdefault("bare", {}).update({k: v.rps for k, v in bare.items()})


def bench_sweep(args, inventory: Path) -> None:
    say("6. gunicorn worker class x worker count (hello and one-query views)")
    ip = SINGLE["ip"]
    cores = int(ssh(ip, "nproc").stdout)
    counts = {
        "sync": sorted({cores, 2 * cores + 1, 4 * cores}),
        "gthread": sorted({cores, cores + 1, 2 * cores + 1}),
    }
    configs = [
        {
            "gunicorn_worker_class": worker_class,
            "gunicorn_workers": workers,
            **({"gunicorn_threads": 4} if worker_class == "gthread" else {}),
        }
        for worker_class, numbers in counts.items()
        for workers in numbers
    ]
    results = []
    playbook(inventory, "playbooks/deploy.yml")  # the role's derived defaults
    derived = ssh(
        ip,
        "systemctl cat gunicorn-guestbook.service"
        " | grep -o -- '--workers [0-9]*\\|--threads [0-9]*\\|--worker-class [a-z.A-Z_]*' | tr '\\n' ' '",
    ).stdout.strip()
    default_rps = {view: best_of(f"https://{ip}{view}", args).rps for view in ("/hello/", "/count/")}
    for config in configs:
        playbook(inventory, "playbooks/deploy.yml", config)
        figures = {view: best_of(f"https://{ip}{view}", args).rps for view in ("/hello/", "/count/")}
        results.append({**config, **figures})
        label = f"{config['gunicorn_worker_class']} x{config['gunicorn_workers']}"
        row(f"  {label}", f"hello {figures['/hello/']:,.0f}  count {figures['/count/']:,.0f}")
    playbook(inventory, "playbooks/deploy.yml")  # back to the defaults
    best = {view: max(r[view] for r in results) for view in ("/hello/", "/count/")}
    RESULTS["sweep"] = {"configs": results, "derived": derived, "derived_rps": default_rps, "best_rps": best}
    for view in ("/hello/", "/count/"):
        ratio = default_rps[view] / best[view]
        row(
            f"derived defaults ({derived}) on {view}",
            f"{default_rps[view]:,.0f} req/s = {ratio:.0%} of best",
            f">= {TARGETS['sweep_ratio']:.0%}",
            verdict(ratio >= TARGETS["sweep_ratio"]),
        )
