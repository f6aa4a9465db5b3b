"""Unknown is not zero in the monitor: a containerd 1.6 log gives no sizes and no bytes read, so
the header says "size unknown" and every size and byte cell shows `-`, never `0 B`."""

from __future__ import annotations

from pathlib import Path

import pytest
from logfactory import generate, write_log
from tuihelp import replay_app, rows_text, run_async, wait_loaded, widget_text

pytestmark = pytest.mark.timeout(60)


@run_async
async def test_a_1_6_log_shows_unknown_sizes_as_unknown(tmp_path: Path) -> None:
    log = generate(seed=5, pulls=20, version="1.6", chatter=2)
    assert all(p["size_bytes"] is None and p["bytes_read"] is None for p in log.expected)  # 1.6 logs neither
    path = tmp_path / "containerd-1.6.log"
    write_log(str(path), log)
    app = replay_app([path])
    async with app.run_test(size=(150, 46)) as pilot:
        await wait_loaded(pilot)
        header = widget_text(app.main.summary_line)
        assert "size unknown" in header and "fetched unknown" in header and "0 B" not in header
        repeated = rows_text(app.main.repeated)
        assert repeated  # the log repeats some images
        completed = rows_text(app.main.completed)
        for row in repeated + completed:
            assert "0 B" not in row
        sizes = [app.main.repeated.columns.index(c) for c in app.main.repeated.columns if c.label == "size total"]
        assert {row[sizes[0]] for row in repeated} == {"-"}
