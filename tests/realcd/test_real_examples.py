"""The same checks as test_realcd.py, on the real recordings committed in examples/real/.

These need no containerd: they read the logs recorded by record_examples.py and the answers the
calls got (examples/real/expected.json), so every run of the suite checks pullwatch against real
1.6.20, 1.7.24 and 2.1.9 output even where the realcd builds cannot run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scenarios import Pull, Recording
from test_realcd import (
    test_client_cancel,
    test_concurrent_pulls_of_one_image_share_one_download,
    test_concurrent_pulls_overlap,
    test_downloaded_per_pull,
    test_downloads_and_cached_repeats_per_image,
    test_every_pull_counted,
    test_no_progress_cancel,
    test_nothing_else_reported,
    test_redownload_explained_by_the_delete,
    test_sandbox_pull,
    test_statuses_ids_and_errors,
    test_times_inside_the_calls,
    test_unknown_is_null_never_zero,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "real"
RECORDED = json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8"))

__all__ = [
    "test_client_cancel",
    "test_concurrent_pulls_of_one_image_share_one_download",
    "test_concurrent_pulls_overlap",
    "test_downloaded_per_pull",
    "test_downloads_and_cached_repeats_per_image",
    "test_every_pull_counted",
    "test_no_progress_cancel",
    "test_nothing_else_reported",
    "test_redownload_explained_by_the_delete",
    "test_sandbox_pull",
    "test_statuses_ids_and_errors",
    "test_times_inside_the_calls",
    "test_unknown_is_null_never_zero",
]


@pytest.fixture(scope="module", params=RECORDED, ids=[r["log"] for r in RECORDED])
def recording(request: pytest.FixtureRequest) -> Recording:
    """A recorded run instead of a live one (overrides conftest's fixture for this module)."""
    data = request.param
    pulls = [Pull(**pull) for pull in data["pulls"]]
    return Recording(data["version"], data["level"], EXAMPLES / data["log"], pulls, data["removed"], data["sandbox"])
