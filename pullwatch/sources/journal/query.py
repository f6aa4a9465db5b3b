"""Which journal entries to read: units or identifiers, from when, from which directory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from pullwatch.sources import SourceError
from pullwatch.sources.since import parse_since

DEFAULT_UNITS = ("containerd.service",)
UNIT_SUFFIXES = (".service", ".scope", ".socket", ".slice", ".target", ".mount", ".timer", ".path", ".swap")


@dataclass(frozen=True, slots=True)
class JournalQuery:
    """Which entries to read: the units or identifiers (either matches), from when, from where."""

    units: tuple[str, ...]
    identifiers: tuple[str, ...]
    since: datetime | None  # None: the current boot (the whole directory with `directory`)
    directory: str | None

    def describe(self) -> str:
        names = [f"unit {u}" for u in self.units] + [f"identifier {i}" for i in self.identifiers]
        where = f" in {self.directory}" if self.directory else ""
        return " or ".join(names) + where

    def match_groups(self) -> list[list[str]]:
        """FIELD=value matches: within a group the same field ORs; groups OR too."""
        groups = [[f"_SYSTEMD_UNIT={u}" for u in self.units], [f"SYSLOG_IDENTIFIER={i}" for i in self.identifiers]]
        return [group for group in groups if group]

    def no_entries_error(self) -> SourceError:
        hint = "check the name: journalctl -F SYSLOG_IDENTIFIER lists them"
        if self.units and not self.identifiers:
            hint = "journalctl -F _SYSTEMD_UNIT lists the units"
            if self.units == DEFAULT_UNITS:
                hint = (
                    "k3s and rke2 users: --unit k3s (or rke2-server, rke2-agent), or read the file "
                    "/var/lib/rancher/k3s/agent/containerd/containerd.log (a PATH, or watch --file PATH)"
                )
        return SourceError(f"no journal entries for {self.describe()}; {hint}")


def unit_name(name: str) -> str:
    """`k3s` means `k3s.service`, as with `journalctl -u`."""
    return name if name.endswith(UNIT_SUFFIXES) else name + ".service"


def make_query(
    units: Sequence[str] | None = None,
    identifiers: Sequence[str] | None = None,
    since: str | None = None,
    directory: str | None = None,
) -> JournalQuery:
    chosen_units = tuple(unit_name(u) for u in units or ())
    if not chosen_units and not identifiers:
        chosen_units = DEFAULT_UNITS
    return JournalQuery(chosen_units, tuple(identifiers or ()), parse_since(since), directory)


def entry_time(micros: int) -> datetime:
    """An entry's __REALTIME_TIMESTAMP (microseconds since the epoch) as a time."""
    return datetime.fromtimestamp(micros / 1e6, timezone.utc)
