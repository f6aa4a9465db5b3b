"""KeyFooter: Textual's Footer, rebuilt only when the keys it would show change.

Textual's Footer recomposes (removes every key widget and mounts new ones, each restyled on its
own) whenever the screen says its bindings may have changed: on every focus change, on mount, on
each screen refresh of the bindings. Opening the monitor did that six or seven times for the same
keys, about 0.1-0.2 s of the UI thread while the log loads. This footer remembers what it last
composed and skips a recompose that would compose the same keys, and gives each key its compact
flag before it mounts; it draws exactly what Footer draws.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._composed: tuple[Hashable, ...] | None = None  # the keys last composed
        self._recompose_pending = False

    def _keys(self, screen: Screen[object]) -> tuple[Hashable, ...]:
        """What compose reads: every active binding, whether it is enabled, its tooltip."""
        return tuple(
            (key, binding, enabled, tooltip) for key, (_, binding, enabled, tooltip) in screen.active_bindings.items()
        )

    def compose(self) -> ComposeResult:
        self._recompose_pending = False
        if self._bindings_ready:
            self._composed = self._keys(self.screen)
        for widget in super().compose():
            if isinstance(widget, FooterKey) and "compact" in (widget._reactive_connect or {}):
                # the value its data binding gives it, set before it mounts: a key is born compact
                # and was restyled twice (made compact, then not), each a stylesheet pass of its own
                # (the palette's key is not bound: it stays compact)
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Footer.bindings_changed, less the recomposes that would draw the same keys (one
        pending recompose reads the newest bindings when it runs)."""
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if self._recompose_pending or self._keys(screen) == self._composed:
            return
        self._recompose_pending = True
        self.call_after_refresh(self.recompose)
