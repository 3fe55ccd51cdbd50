"""The table bench/run prints and the figures it writes to results.json."""

from __future__ import annotations

from .load import Wrk

RESULTS: dict = {}
ROWS: list[tuple[str, str, str, str]] = []


def row(name: str, value: str, target: str = "", verdict: str = "") -> None:
    ROWS.append((name, value, target, verdict))
    print(f"    {name:<44} {value:>40}  {target:<26} {verdict}", flush=True)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def record_downtime(name: str, runs: list[Wrk]) -> None:
    requests = sum(r.requests for r in runs)
    non2xx = sum(r.non2xx for r in runs)
    errors = sum(r.socket_errors for r in runs)
    kinds = {kind: sum(r.errors[kind] for r in runs) for kind in ("connect", "read", "write", "timeout")}
    RESULTS.setdefault("downtime", {})[name] = {
        "requests": requests,
        "non_2xx": non2xx,
        "socket_errors": errors,
        "socket_errors_by_kind": kinds,
    }
    detail = ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n)
    row(
        f"zero downtime {name}",
        f"{requests} req, {non2xx} non-2xx, {errors} err" + (f" ({detail})" if detail else ""),
        "0 failed",
        verdict(non2xx + errors == 0),
    )
