"""The command palette (ctrl+p): the same actions as the keys, and "filter by image" for every
image seen so far. Image names come from logs, so their hits are plain Text, never markup."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from pullwatch.humanize import safe_text

if TYPE_CHECKING:
    from pullwatch.tui.app import PullwatchApp

# (palette text, app action, help)
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Filter images", "focus_filter", "Type text, a glob (*nginx*) or re:REGEX  (key /)"),
    ("Clear the image filter", "clear_filter", "Show every image again  (esc)"),
    ("Pause or resume updates", "toggle_pause", "A replay pauses too  (p)"),
    ("Sort by the next column", "cycle_sort", "In the focused pane  (s)"),
    ("Reverse the sort order", "reverse_sort", "In the focused pane  (S)"),
    ("Open the selected pull or image", "open_detail", "All its pulls, errors and raw log lines  (enter)"),
    ("Next pane", "next_pane", "In progress, Completed, Pulled more than once  (tab)"),
    ("Previous pane", "previous_pane", "(shift+tab)"),
    ("Show the keys", "help", "(?)"),
    ("Quit pullwatch", "quit", "(q)"),
)
MAX_IMAGE_HITS = 200


class PullwatchCommands(Provider):
    @property
    def _app(self) -> PullwatchApp:
        return self.app  # type: ignore[return-value]

    async def discover(self) -> Hits:
        for text, action, help_text in ACTIONS:
            yield DiscoveryHit(text, partial(self._app.main.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action, help_text in ACTIONS:
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._app.main.run_action, action), help=help_text)
        shown = 0
        for ref in self._app.view.store.image_refs():
            label = f"Filter: {ref}"
            score = matcher.match(label)
            if score > 0:
                display = Text("Filter: ") + Text(safe_text(ref), style="bold")
                yield Hit(score, display, partial(self._app.set_filter, ref), text=label, help="Show only this image")
                shown += 1
                if shown >= MAX_IMAGE_HITS:
                    return
