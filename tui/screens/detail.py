"""The detail view of a pull or an image: every pull of that image, its error text, and the raw
log lines that made it (as the log wrote them, control characters neutralised)."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.rule import Rule
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from pullwatch.humanize import human_bytes, human_duration, safe_text
from pullwatch.records import REMOVED_BY_CLIENT, REMOVED_BY_GC, PullRecord, PullStatus
from pullwatch.tui.view import StoreView, repeated_image

MAX_PULLS_SHOWN = 100
STATUS_STYLES = {PullStatus.COMPLETED: "green", PullStatus.FAILED: "bold red", PullStatus.IN_PROGRESS: "yellow"}


def _when(record_time: object) -> str:
    return "-" if record_time is None else str(record_time)


def pull_section(record: PullRecord, view: StoreView, selected: bool) -> Group:
    title = Text(f"{'▶ ' if selected else ''}pull #{record.id} · ")
    title.append(record.status.value.replace("_", " "), style=STATUS_STYLES[record.status])
    fields = Text()
    started = record.started_at.isoformat(sep=" ") if record.started_at else "- (before the log, or a sandbox pull)"
    rows: list[tuple[str, str]] = [
        ("requested as", safe_text(record.image)),
        ("started", started),
        ("finished", record.finished_at.isoformat(sep=" ") if record.finished_at else "-"),
    ]
    if record.status is PullStatus.IN_PROGRESS:
        rows.append(("elapsed", human_duration(view.elapsed(record))))
        rows.append(("fetched so far", human_bytes(record.progress_bytes)))
    else:
        rows.append(("duration", human_duration(record.duration_seconds)))
    rows += [
        ("size", human_bytes(record.size_bytes)),
        ("bytes read", human_bytes(record.bytes_read)),
        ("downloaded", _downloaded(record)),
        ("image id", safe_text(record.image_id or "-")),
        ("repo tag", safe_text(record.repo_tag or "-")),
        ("repo digest", safe_text(record.repo_digest or "-")),
        ("snapshotter", safe_text(record.snapshotter or "-")),
    ]
    for label, value in rows:
        if record.status is PullStatus.IN_PROGRESS and value == "-" and label != "started":
            continue  # not known yet
        fields.append(f"{label:>15}  ", style="bold")
        fields.append(value + "\n")
    rows = why_rows(record)
    for label, value in rows:
        fields.append(f"{label:>15}  ", style="bold")
        fields.append(value + "\n")
    parts: list[Text | Rule] = [Rule(title, align="left", style="dim"), fields]
    if record.error:
        error = Text("          error  ", style="bold red")
        error.append(safe_text(record.error), style="red")
        parts.append(error)
    lines = Text(f"log lines ({len(record.lines) + record.lines_dropped})\n", style="bold")
    for raw in record.lines:
        lines.append(safe_text(raw) + "\n", style="dim")
    if record.lines_dropped:
        lines.append(f"… {record.lines_dropped} more lines not kept\n", style="italic")
    parts.append(lines)
    return Group(*parts)


def _downloaded(record: PullRecord) -> str:
    """Whether the pull fetched layers or was served from the node's store, and why it fetched again."""
    if record.downloaded is None:
        return "-"
    if not record.downloaded:
        return "no (served from the node's image store)"
    if record.deleted_at is not None:
        when = record.deleted_at.isoformat(timespec="milliseconds")
        return f"yes: the image was deleted at {when} before this pull, {_REMOVER.get(record.removed_by, 'by -')}"
    return "yes (layers fetched from the registry)"


_REMOVER: dict[str | None, str] = {
    REMOVED_BY_GC: "by kubelet's image GC",
    REMOVED_BY_CLIENT: "by a client of containerd (ImageDelete; no kubelet GC line names it)",
}


def why_rows(record: PullRecord) -> list[tuple[str, str]]:
    """What the log tells of why (docs/why.md); a row only for what it tells, "-" inside a row
    for a part it does not."""
    reasons = record.reasons
    rows: list[tuple[str, str]] = []
    if reasons.failure is not None:
        rows.append(("failure", reasons.failure + (f" (gRPC {reasons.failure_code})" if reasons.failure_code else "")))
    if reasons.hosts is not None:
        tried = ", ".join(f"{a.host} {a.outcome or '-'}" for a in reasons.hosts)
        rows.append(("hosts", safe_text(tried)))
        rows.append(("served by", safe_text(reasons.served_by or "-")))
        skipped = reasons.mirrors_skipped(record.status is PullStatus.COMPLETED)
        if skipped:
            rows.append(("mirror skipped", safe_text(", ".join(a.host for a in skipped))))
    if reasons.pods is not None:
        label = "pod" if len(reasons.pods) == 1 else "pods (unsure)"
        rows.append((label, safe_text(", ".join(reasons.pods))))
    if reasons.stuck is not None:
        since = reasons.stuck_since.isoformat(sep=" ") if reasons.stuck_since else "-"
        rows.append(("stuck", f"yes, since {since}" if reasons.stuck else "no"))
    return rows


def detail_renderable(view: StoreView, ref: str, selected_id: int | None) -> Group:
    records = view.store.pulls_of(ref)
    row = repeated_image(ref, records)
    summary = row.summary
    head = Text()
    head.append(safe_text(summary.image), style="bold")
    if summary.ref != summary.image:
        head.append(f"  ({safe_text(summary.ref)})", style="dim")
    head.append("\n")
    head.append(
        f"{summary.pulls} pulls: {summary.completed} completed, {summary.failed} failed, "
        f"{summary.in_progress} in progress · "
        + ("size unknown" if summary.total_size_bytes is None else f"{human_bytes(summary.total_size_bytes)} pulled")
    )
    if row.bytes_known:
        head.append(f" · {human_bytes(summary.bytes_read)} fetched")
    if row.known_repeats:
        cached = row.known_repeats - row.fetched_repeats
        head.append(f" · {cached} of {row.known_repeats} repeat pulls served from the node's store")
    head.append("\n")
    ordered = sorted(records, key=lambda r: (r.id != selected_id, -r.id))
    sections: list[Text | Group] = [head]
    sections += [pull_section(r, view, r.id == selected_id) for r in ordered[:MAX_PULLS_SHOWN]]
    if len(ordered) > MAX_PULLS_SHOWN:
        sections.append(Text(f"… {len(ordered) - MAX_PULLS_SHOWN} older pulls not shown", style="italic"))
    return Group(*sections)


class DetailScreen(Screen[None]):
    """All pulls of one image; the pull chosen in a pane comes first, marked ▶."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "close", "close"),
        Binding("j", "scroll('down')", "down", show=False),
        Binding("k", "scroll('up')", "up", show=False),
        Binding("g", "scroll('home')", "top", show=False),
        Binding("G", "scroll('end')", "bottom", show=False),
    ]

    def __init__(self, view: StoreView, ref: str, selected_id: int | None = None) -> None:
        super().__init__()
        self.view = view
        self.ref = ref
        self.selected_id = selected_id
        self._revision = -1

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with VerticalScroll(id="detail-scroll"):
            yield Static(id="detail-body")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"detail · {safe_text(self.ref)}"
        self.refresh_content()
        self.query_one("#detail-scroll").focus()

    def refresh_content(self) -> None:
        """Re-render when the store changed (a pull in progress may have ended)."""
        if self.view.store.revision == self._revision and self._revision >= 0:
            return
        self._revision = self.view.store.revision
        self.query_one("#detail-body", Static).update(detail_renderable(self.view, self.ref, self.selected_id))

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one("#detail-scroll", VerticalScroll)
        {"down": scroll.scroll_down, "up": scroll.scroll_up, "home": scroll.scroll_home, "end": scroll.scroll_end}[
            where
        ](animate=False)

    def action_close(self) -> None:
        self.dismiss()
