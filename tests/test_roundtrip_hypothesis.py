"""Generated logrus lines with awkward image names parse back to exactly the name written.

Names are Go strings: any Unicode text (no lone surrogates, which UTF-8 cannot hold), so quotes,
backslashes, control characters, `[markup]`, `=`, spaces and two levels of %q quoting all occur.
Lines are rendered the way logrus writes them (text: %q-quoted msg and fields; JSON: encoding/json
with HTML escaping), and inside a `journalctl -o json` record.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st
from logfactory import Line, journal_json, quote, render_json, render_text

from pullwatch.parsers import UnparsedLine, parse_line
from pullwatch.parsers.events import EventKind
from pullwatch.parsers.gostrings import unquote

T = datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=timezone.utc)
ID = "sha256:" + "9e" * 32
AWKWARD = [
    '"',
    "\\",
    '\\"',
    "[bold]",
    "[/]",
    "=",
    " ",
    "  ",
    "é",
    "日本",
    "🐳",
    "\x00",
    "\x1b[31m",
    "\n",
    "\t",
    "\u2028",
    "\ufeff",
    "\x7f",
]

names = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=40),
    st.lists(st.sampled_from(AWKWARD) | st.text(max_size=3), max_size=8).map("".join),
    st.tuples(st.sampled_from(["", "docker.io/", "registry.example:5000/team/"]), st.text(max_size=10)).map("".join),
)


def lines_for(name: str) -> list[tuple[EventKind, Line]]:
    """One line of each kind that names the image as requested."""
    pulled = (
        f"Pulled image {quote(name)} with image id {quote(ID)}, repo tag {quote(name)}, "
        f'repo digest "", size "123" in 1.5s'
    )
    sandbox_error = f"failed to get sandbox image {quote(name)}: failed to pull image {quote(name)}: not found"
    sandbox_msg = "RunPodSandbox for &PodSandboxMetadata{Name:p,Uid:u,Namespace:n,Attempt:0,} failed, error"
    return [
        (EventKind.START, Line(T, "info", f"PullImage {quote(name)}")),
        (EventKind.RESULT, Line(T, "info", f"PullImage {quote(name)} returns image reference {quote(ID)}")),
        (EventKind.FAILED, Line(T, "error", f"PullImage {quote(name)} failed", {"error": f"x {quote(name)} ="})),
        (EventKind.PULLED, Line(T, "info", pulled)),
        (EventKind.SANDBOX_FAILED, Line(T, "error", sandbox_msg, {"error": sandbox_error})),
    ]


@settings(max_examples=300, deadline=None)
@given(names)
@example('we"ird\\name')
@example("[red]nginx[/red]")
@example("a=b c=d")
@example("\x1b]8;;http://x\x1b\\link")
def test_text_json_and_journal_lines_round_trip(name: str) -> None:
    for kind, line in lines_for(name):
        for rendered in (render_text(line), render_json(line), journal_json(render_text(line), T)):
            event = parse_line(rendered)
            assert event is not None, rendered
            assert event.kind is kind
            assert event.image == name, rendered
            assert event.time == T
            if kind is EventKind.FAILED:
                assert event.error == f"x {quote(name)} ="
            if kind is EventKind.PULLED:
                assert (event.repo_tag, event.size_bytes, event.duration_seconds) == (name or None, 123, 1.5)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=["Cs"])))
def test_go_quote_and_unquote_are_inverse(text: str) -> None:
    assert unquote(quote(text)) == text


@given(st.text(max_size=200))
def test_parse_line_never_raises_anything_but_unparsed(text: str) -> None:
    """Arbitrary text around the keywords: an event, None, or UnparsedLine; nothing else."""
    for line in (text, "PullImage " + text, 'time="x" msg="PullImage \\"' + text, "{" + text, text + " Pulled image "):
        with contextlib.suppress(UnparsedLine):
            parse_line(line)
