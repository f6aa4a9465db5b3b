"""The command palette (ctrl+p): the same actions as the keys (tui/keys.py), "filter by image" for every
image seen so far, and "filter by node" for every node once there are several. Image and node names come
from logs, so their hits are plain Text, never markup."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from pullwatch.filtering import NO_NODE
from pullwatch.humanize import safe_text
from pullwatch.tui.keys import MAIN_KEYS

if TYPE_CHECKING:
    from pullwatch.tui.app import PullwatchApp

MAX_IMAGE_HITS = 200


class PullwatchCommands(Provider):
    @property
    def _app(self) -> PullwatchApp:
        return self.app  # type: ignore[return-value]

    async def discover(self) -> Hits:
        for key in MAIN_KEYS:
            yield DiscoveryHit(key.palette, partial(self._app.main.run_action, key.action), help=key.palette_hint)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for key in MAIN_KEYS:
            score = matcher.match(key.palette)
            if score > 0:
                run = partial(self._app.main.run_action, key.action)
                yield Hit(score, matcher.highlight(key.palette), run, help=key.palette_hint)
        nodes = self._app.view.store.nodes()
        for node in nodes if len(nodes) > 1 else ():
            name = node or NO_NODE
            label = f"Filter node: {name}"
            score = matcher.match(label)
            if score > 0:
                display = Text("Filter node: ") + Text(safe_text(name), style="bold")
                narrow = partial(self._app.main.set_node_filter, name)
                yield Hit(score, display, narrow, text=label, help="Show only this node's pulls")
        shown = 0
        for ref in self._app.view.store.image_refs():
            label = f"Filter: {ref}"
            score = matcher.match(label)
            if score > 0:
                display = Text("Filter: ") + Text(safe_text(ref), style="bold")
                narrow = partial(self._app.main.set_image_filter, ref)
                yield Hit(score, display, narrow, text=label, help="Show only this image")
                shown += 1
                if shown >= MAX_IMAGE_HITS:
                    return
