"""How retention shows: ``vigil retention show`` and the Retention section of ``vigil status``.

Contract: pure functions from the rows of :mod:`vigil_cli.retention_store` and the report of
:mod:`vigil_cli.retention_activity` to JSON-ready dicts (intervals as seconds: ``*_s``) and
to text (tables via :mod:`vigil_cli.output`; durations as ``30m``, ``1h``, ``7d``; sizes in
binary units). No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

from vigil_cli.output import render_table

POLICY_HEADERS: Final = ("table", "granularity", "days", "min_days", "premake", "action",
                         "archive_keep_days")  # fmt: skip
ROLLUP_HEADERS: Final = ("rollup", "sources", "bucket", "lateness", "keep_days",
                         "finalized_through", "refreshed_through", "last_run_at")  # fmt: skip
STATUS_TABLE_HEADERS: Final = ("table", "granularity", "days", "action", "partitions", "ahead",
                               "oldest", "oldest_start", "size")  # fmt: skip
STATUS_ROLLUP_HEADERS: Final = ("rollup", "finalized_through", "lag", "refreshed_through",
                                "last_run_at")  # fmt: skip


def format_duration(delta: timedelta | float | None) -> str | None:
    """``30m``, ``1h``, ``7d``, ``1h30m``, ``45s`` (whole seconds); None stays None."""
    if delta is None:
        return None
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    if seconds == 0:
        return "0s"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + "".join(parts)


def format_bytes(size: int | None) -> str | None:
    """``0 B``, ``8.0 KiB``, ``1.5 GiB``; None stays None."""
    if size is None:
        return None
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def rollup_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``rollup_state`` row with its intervals as seconds."""
    data = {k: v for k, v in row.items() if k not in ("bucket_width", "lateness")}
    data["source_tables"] = list(row["source_tables"])
    data["bucket_width_s"] = row["bucket_width"].total_seconds()
    data["lateness_s"] = row["lateness"].total_seconds()
    return data


def render_show(policies: Sequence[Mapping[str, Any]], rollups: Sequence[Mapping[str, Any]]) -> str:
    """``vigil retention show`` as text: the policies, then the rollups."""
    policy_rows = [
        (p["table_name"], p["granularity"], p["retention_days"], p["min_retention_days"] or None,
         p["premake"], p["expire_action"], p["archive_keep_days"])
        for p in policies
    ]  # fmt: skip
    rollup_rows = [
        (r["rollup_name"], ",".join(r["source_tables"]), format_duration(r["bucket_width"]),
         format_duration(r["lateness"]), r["keep_days"], r["finalized_through"],
         r["refreshed_through"], r["last_run_at"])
        for r in rollups
    ]  # fmt: skip
    return (
        f"Retention policies ({len(policy_rows)})\n{render_table(POLICY_HEADERS, policy_rows)}"
        f"\n\nRollups ({len(rollup_rows)})\n{render_table(ROLLUP_HEADERS, rollup_rows)}"
    )


def render_changes(kind: str, name: str, changes: Mapping[str, tuple[Any, Any]]) -> str:
    """One line per changed setting, or that nothing changed."""
    if not changes:
        return f"{kind} {name}: unchanged"
    lines = [f"{kind} {name}:"]
    for column, (old, new) in changes.items():
        lines.append(f"  {column}: {_setting(old)} -> {_setting(new)}")
    return "\n".join(lines)


def _setting(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, timedelta):
        return format_duration(value) or "none"
    return str(value)


def render_status_section(retention: Mapping[str, Any]) -> str:
    """The Retention section of ``vigil status``: per table, the last run, the rollups."""
    if retention.get("error"):
        return f"Retention\n{retention['error']}"
    table_rows = [
        (t["table"], t["granularity"], t["retention_days"], t["expire_action"], t["partitions"],
         t["ahead"], t["oldest_partition"], t["oldest_start"], format_bytes(t["total_bytes"]))
        for t in retention["tables"]
    ]  # fmt: skip
    rollup_rows = [
        (r["rollup"], r["finalized_through"], format_duration(r["lag_s"]),
         r["refreshed_through"], r["last_run_at"])
        for r in retention["rollups"]
    ]  # fmt: skip
    return (
        f"Retention (last run: {_last_run(retention['last_run'])})\n"
        + render_table(STATUS_TABLE_HEADERS, table_rows)
        + "\nRollups\n"
        + render_table(STATUS_ROLLUP_HEADERS, rollup_rows)
    )


def _last_run(run: Mapping[str, Any] | None) -> str:
    if run is None:
        return "none yet"
    started = run["started_at"].replace(microsecond=0).isoformat(sep=" ")
    dry = ", dry run" if run["dry_run"] else ""
    plural = "" if run["action_count"] == 1 else "s"
    text = f"{started}, {run['status']}{dry}, {run['action_count']} action{plural}"
    return f"{text}: {run['error']}" if run.get("error") else text
