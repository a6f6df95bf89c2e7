"""Sync health: is the sync still working? Said plainly, instead of the sync going quiet.

Warnings (each with a code, so a monitor can act on it):
- `no_recent_sync`: sources are configured but no sync succeeded for `sync_stale_h` hours (or ever);
- `source_unreachable`: a source was unreachable in each of the last `unreachable_runs` syncs;
- `no_recent_run`: no new run for `quiet_days` days while the runner usually runs more often.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.assess import RUNNING_SPORTS
from pipeline.store import Store


@dataclass(frozen=True)
class HealthSettings:
    sync_stale_h: float = 36.0
    unreachable_runs: int = 3
    quiet_days: int = 14
    usual_runs: int = 4  # "usually runs": at least this many runs in the 8 weeks before the quiet spell


@dataclass
class Health:
    last_sync: datetime | None
    sources: list[str]
    waiting: list[str]  # inbox files not handled yet, and files a sync could not read or store
    quarantined: int
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (code, plain words)

    def as_dict(self) -> dict[str, Any]:
        return {"last_sync": None if self.last_sync is None else self.last_sync.isoformat(),
                "sources": self.sources, "waiting": self.waiting, "quarantined": self.quarantined,
                "warnings": [{"code": c, "message": m} for c, m in self.warnings]}


def health(store: Store, sources: list[tuple[str, Path]], now: datetime | None = None,
           s: HealthSettings = HealthSettings()) -> Health:
    now = now or datetime.now(UTC)
    runs = sorted(store.read("sync_runs").to_pylist(), key=lambda r: r["started_at"])
    good = [r for r in runs if r["ok"]]
    last = good[-1]["finished_at"] if good else None
    waiting = []
    for kind, path in sources:
        if kind == "inbox" and path.is_dir():
            waiting += [str(p) for p in sorted(path.rglob("*")) if p.is_file()
                        and p.relative_to(path).parts[0] not in ("processed", "quarantine")]
    # files a sync could not read or store (gone mid-sync, a watch unplugged, a full disk): the next reads them
    waiting += sorted(r["path"] for r in store.read("sync_seen").to_pylist()
                      if r["outcome"] == "waiting" and r["path"] not in waiting)
    quarantined = sum(1 for r in store.read("imports").to_pylist() if r["outcome"] == "quarantined")
    h = Health(last, _latest_per_source(runs, sources), waiting, quarantined)
    if sources and (last is None or now - last > timedelta(hours=s.sync_stale_h)):
        since = "ever" if last is None else f"since {last:%Y-%m-%d %H:%M} UTC"
        h.warnings.append(("no_recent_sync", f"No successful sync {since}. Is `kindpace serve` running?"))
    recent = runs[-s.unreachable_runs:]
    if len(recent) == s.unreachable_runs:
        always = set(recent[0]["missing_sources"]).intersection(*(set(r["missing_sources"]) for r in recent))
        for missing in sorted(always):
            h.warnings.append(("source_unreachable", f"{missing} was not reachable in the last "
                                                     f"{s.unreachable_runs} syncs. Plugged in? Moved?"))
    starts = sorted(a["start_time"] for a in store.read("activities").to_pylist() if a["sport"] in RUNNING_SPORTS)
    if starts and now - starts[-1] > timedelta(days=s.quiet_days):
        window = [t for t in starts if starts[-1] - timedelta(weeks=8) <= t]
        if len(window) >= s.usual_runs:
            h.warnings.append(("no_recent_run", f"No new run for {(now - starts[-1]).days} days, though you usually "
                                                "run more often. If you have been running, the watch files may "
                                                "not be arriving; if you have been resting, that is fine too."))
    return h


def _latest_per_source(runs: list[dict[str, Any]], sources: list[tuple[str, Path]]) -> list[str]:
    """What each configured source held when a sync last read it (an inbox-only sync after a dropped
    file does not hide the watch), then any other source the last sync read."""
    out = []
    for kind, path in sources:
        prefix = f"{kind} {path}:"
        seen = next((entry for r in reversed(runs) for entry in r["sources"] if entry.startswith(prefix)), None)
        out.append(seen or f"{kind} {path}: not synced yet")
    configured = {f"{kind} {path}:" for kind, path in sources}
    if runs:
        out += [e for e in runs[-1]["sources"] if not any(e.startswith(p) for p in configured)]
    return out
