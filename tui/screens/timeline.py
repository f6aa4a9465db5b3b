"""The timeline screen (`t`): the pulls (under the image filter) as bars over log time."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from pullwatch.tui.timeline import timeline_text
from pullwatch.tui.view import StoreView

if TYPE_CHECKING:
    from pullwatch.tui.app import PullwatchApp


class TimelineScreen(Screen[None]):
    """Redrawn when the store changes, as the detail view is (PullwatchApp.redraw)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t,q,escape", "close", "close"),
        Binding("j", "scroll('down')", "down", show=False),
        Binding("k", "scroll('up')", "up", show=False),
        Binding("g", "scroll('home')", "top", show=False),
        Binding("G", "scroll('end')", "bottom", show=False),
    ]

    def __init__(self, view: StoreView) -> None:
        super().__init__()
        self.view = view
        self._drawn: tuple[int, int] = (-1, -1)  # (store revision, width) last drawn

    @property
    def _app(self) -> PullwatchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with VerticalScroll(id="timeline-scroll"):
            yield Static(id="timeline-body")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "timeline · log time →" + (f" · filter {self.view.pattern}" if self.view.pattern else "")
        self.refresh_content()
        self.query_one("#timeline-scroll").focus()

    def on_resize(self, event: events.Resize) -> None:
        self.refresh_content()

    def refresh_content(self) -> None:
        width = self.size.width - 3  # the scroll's padding and scrollbar
        drawn = (self.view.store.revision, width)
        if drawn == self._drawn or width <= 0:
            return
        self._drawn = drawn
        snap = self.view.snapshot()
        pulls = snap.in_progress + snap.finished
        now = self._app.clock.now()  # log time in a replay, the wall clock when watching
        self.query_one("#timeline-body", Static).update(timeline_text(pulls, now, width))

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one("#timeline-scroll", VerticalScroll)
        {"down": scroll.scroll_down, "up": scroll.scroll_up, "home": scroll.scroll_home, "end": scroll.scroll_end}[
            where
        ](animate=False)

    def action_close(self) -> None:
        self.dismiss()
