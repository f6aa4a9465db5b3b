"""Downloads vs cache hits, and unknown kept unknown: the store's rules on hand-made lines in the
shapes real containerd writes (docs/formats.md §5; the real logs are checked in tests/realcd/)."""

from __future__ import annotations

from followhelp import expected_events
from logfactory import Line, quote, render_text
from test_store_correlation import ID_A, ID_B, add, at, feed, pulled, result, snapshotter, start, stop

from pullwatch.parsers import parse_line
from pullwatch.records import PullStatus
from pullwatch.store import EVENT_GRACE, summarize

APP = "registry.test/app:1"
MANAGED = 'labels:{key:"io.cri-containerd.image"  value:"managed"}'


def event(word: str, name: str, t: float, labels: str = MANAGED) -> str:
    """An image event as 1.7+ print it (1.6's gogo form is parsed to the same event)."""
    tail = f"  {labels}" if labels and word != "Delete" else ""
    return render_text(Line(at(t), "info", f"Image{word} event name:{quote(name)}{tail}"))


def first_pull(t: float, image_id: str = ID_A) -> list[str]:
    """A first download at info level: the tag, then the id, are new to the store."""
    return [start(APP, t), event("Create", APP, t + 1), event("Create", image_id, t + 1.1),
            result(APP, t + 1.2, image_id)]


def repeat_pull(t: float, image_id: str = ID_A) -> list[str]:
    return [start(APP, t), event("Update", APP, t + 0.1), result(APP, t + 0.2, image_id)]


def test_events_tell_a_download_from_a_cache_hit() -> None:
    store = feed(*first_pull(0), *repeat_pull(10))
    assert [r.downloaded for r in store.pulls] == [True, False]
    summary = summarize(APP, store.pulls)
    assert (summary.downloads, summary.cached_repeats) == (1, 1)
    assert (summary.bytes_read, summary.total_size_bytes) == (None, None)  # 1.6: neither is logged


def test_a_new_tag_of_stored_content_is_no_download() -> None:
    store = feed(*first_pull(0), start("registry.test/app:alias", 10), event("Create", "registry.test/app:alias", 10.1),
                 result("registry.test/app:alias", 10.2), *repeat_pull(20))
    assert [r.downloaded for r in store.pulls] == [True, False, False]


def test_an_image_event_after_the_result_still_counts() -> None:
    store = feed(start(APP, 0), event("Create", APP, 1), result(APP, 1.1), event("Create", ID_A, 1.3))
    assert store.pulls[0].downloaded is True


def test_a_delete_between_two_pulls_explains_the_second_download() -> None:
    store = feed(*first_pull(0), event("Delete", APP, 5), event("Delete", ID_A, 5.1), *first_pull(10))
    first, second = store.pulls
    assert (first.downloaded, second.downloaded) == (True, True)
    assert (first.deleted_at, second.deleted_at) == (None, at(5.1))
    assert second.to_json()["deleted_at"] == "2026-11-27T08:00:05.100000Z"


def test_bytes_read_trusted_once_the_counter_proves_it_runs() -> None:
    """1.7: a download reads bytes, a cache hit 0; both decide, whatever the events say."""
    lines = [*first_pull(0)[:-1], stop(APP, 1.15, 5000), first_pull(0)[-1],
             start(APP, 10), stop(APP, 10.15, 0), result(APP, 10.2)]
    store = feed(*lines)
    assert [(r.downloaded, r.bytes_read) for r in store.pulls] == [(True, 5000), (False, 0)]
    assert summarize(APP, store.pulls).bytes_read == 5000


def test_the_transfer_service_idles_the_counter() -> None:
    """2.1+: `bytes read=0` even for a download; the debug snapshotter line says why."""
    lines = [start(APP, 0), snapshotter(APP, 0.01, "native using transfer service"), event("Create", APP, 1),
             event("Create", ID_A, 1.1), stop(APP, 1.15, 0), result(APP, 1.2)]
    record = feed(*lines).pulls[0]
    assert (record.downloaded, record.bytes_read, record.bytes_logged) == (True, None, 0)


def test_a_download_that_read_nothing_proves_the_counter_idle() -> None:
    """2.1 at info: no snapshotter line, but a pull that created its image read 0 bytes."""
    lines = [*first_pull(0)[:-1], stop(APP, 1.15, 0), first_pull(0)[-1], *repeat_pull(10)]
    store = feed(*lines)
    assert [(r.downloaded, r.bytes_read) for r in store.pulls] == [(True, None), (False, None)]


def test_a_failed_repeat_is_no_cache_hit() -> None:
    failure = render_text(Line(at(10.2), "error", f"PullImage {quote(APP)} failed", {"error": "connection refused"}))
    store = feed(*first_pull(0), start(APP, 10), failure)
    assert store.pulls[1].status is PullStatus.FAILED and store.pulls[1].downloaded is None
    summary = summarize(APP, store.pulls)
    assert (summary.downloads, summary.cached_repeats) == (1, 0)


def test_a_sandbox_pull_seen_only_as_image_events_is_a_record() -> None:
    """1.6 at info: RunPodSandbox pulls its image with no PullImage line of its own."""
    pause = "registry.k8s.io/pause:3.9"
    store = feed(event("Create", pause, 1), event("Create", ID_B, 1.05), event("Update", pause, 1.1))
    record = store.pulls[0]
    assert (record.ref, record.status, record.image_id, record.downloaded) == (pause, PullStatus.COMPLETED, ID_B, True)
    assert (record.started_at, record.finished_at, record.from_events) == (None, at(1), True)


def test_the_pulled_line_completes_the_event_made_record_instead_of_a_second() -> None:
    """1.7 and 1.6 debug also log "Pulled image" for the sandbox pull, after its events."""
    pause = "registry.k8s.io/pause:3.9"
    store = feed(event("Create", pause, 1), event("Create", ID_B, 1.05), pulled(pause, 1.2, 0.5, image_id=ID_B))
    record = store.pulls[0]
    assert len(store.pulls) == 1 and record.has_details and record.downloaded is True


def test_image_events_of_no_pull_make_no_record() -> None:
    """Unmanaged names (ctr, imports), digests, ids and deletes alone are not pulls."""
    store = feed(event("Create", "docker.io/library/tool:1", 1, labels=""), event("Create", ID_A, 2),
                 event("Create", f"registry.test/app@{ID_B}", 3), event("Delete", APP, 4),
                 event("Update", "registry.test/other:1", 5))
    assert store.pulls == []
    assert store.stats.pull_lines == 5


def _verdicts(*lines: str) -> list[tuple[str, object]]:
    """(kind, downloaded) of each event as `pullwatch events` prints it, line by line."""
    return [(item["kind"], item["downloaded"]) for item in expected_events(lines)]


def test_a_result_before_its_ids_create_is_unknown_then_a_download() -> None:
    """1.6 logs image events from its event monitor's goroutine, the result line from the CRI
    call's: the result can overtake the id's ImageCreate (real 1.6.20 under load). Seen at the
    result line, the tag's create alone does not tell a first download from a new tag of stored
    content: null, never a guessed false; the id's create then tells."""
    lines = [start(APP, 0), event("Create", APP, 1), result(APP, 1.1), event("Create", ID_A, 1.2)]
    assert _verdicts(*lines) == [("start", None), ("image_create", None), ("result", None), ("image_create", True)]
    assert [r.downloaded for r in feed(*lines).pulls] == [True]


def test_an_ids_create_stamped_before_the_result_but_written_after_it_counts() -> None:
    """logrus takes an entry's time before it takes the writer's lock: a line of another goroutine
    can carry an earlier time than the line written before it."""
    store = feed(start(APP, 0), event("Create", APP, 1), result(APP, 1.1), event("Create", ID_A, 1.09))
    assert [r.downloaded for r in store.pulls] == [True]


def test_a_new_tag_of_stored_content_is_unknown_until_its_ids_create_can_no_longer_come() -> None:
    alias = "registry.test/app:alias"
    lines = [*first_pull(0), start(alias, 10), event("Create", alias, 10.1), result(alias, 10.2)]
    assert _verdicts(*lines)[-1] == ("result", None)
    assert [r.downloaded for r in feed(*lines).pulls] == [True, None]
    later = start("registry.test/other:1", 10.2 + EVENT_GRACE.total_seconds() + 0.1)
    assert [r.downloaded for r in feed(*lines, later).pulls[:2]] == [True, False]


def test_a_repeat_is_told_at_its_result_line() -> None:
    """ImageUpdate of the tag only: the image was there, no id create is to come."""
    assert _verdicts(*first_pull(0), *repeat_pull(10))[-1] == ("result", False)


def layer_fetch(t: float) -> str:
    """A debug "fetch response received" of a layer (a registry sent its bytes)."""
    fields = {"digest": "sha256:" + "b" * 64, "mediatype": "application/vnd.docker.image.rootfs.diff.tar.gzip",
              "response.status": "200 OK"}  # fmt: skip
    return render_text(Line(at(t), "debug", "fetch response received", fields))


def test_a_layer_fetch_is_a_download_whatever_the_tag_events_say() -> None:
    """The only open pull fetched a layer; its id's ImageCreate is not (yet) in the log."""
    lines = [start(APP, 0), layer_fetch(0.5), event("Create", APP, 1), result(APP, 1.1), start("x.test/o:1", 9)]
    verdicts = _verdicts(*lines)
    assert verdicts[1] == ("layer_fetch", True) and verdicts[3] == ("result", True)
    assert feed(*lines).pulls[0].downloaded is True


def test_the_later_of_two_concurrent_pulls_is_told_at_its_result() -> None:
    """The oldest open pull claims the id's ImageCreate: none is to come for the other one."""
    lines = [start(APP, 0), start(APP, 0.2), event("Create", APP, 2), event("Create", ID_A, 2.01),
             result(APP, 2.1), result(APP, 2.2)]  # fmt: skip
    assert _verdicts(*lines)[-2:] == [("result", True), ("result", False)]


def test_a_wait_whose_end_moved_later_holds_back_no_other() -> None:
    """A sandbox pull made from its tag's create (at 0) ends again when its Pulled line comes (at
    4); a pull that ended at 1.1 is still told once 5 s have passed since its own end."""
    pause = "registry.k8s.io/pause:3.9"
    lines = [event("Create", pause, 0), start(APP, 0.5), event("Create", APP, 1), result(APP, 1.1),
             pulled(pause, 4, None, image_id=ID_B), start("x.test/o:1", 6.5)]  # fmt: skip
    (app,) = [r for r in feed(*lines).pulls if r.image == APP]
    assert app.downloaded is False


def test_a_wait_is_told_when_another_nodes_clock_runs_behind() -> None:
    """Lines of two nodes in one input: the later one's times are 4 s behind."""
    other = "registry.test/other:1"
    lines = [start(APP, 9), event("Create", APP, 10), result(APP, 10), start(other, 5), event("Create", other, 6),
             result(other, 6), start("x.test/o:1", 11.5)]  # fmt: skip
    store = feed(*lines)
    assert {r.image: r.downloaded for r in store.pulls} == {APP: None, other: False, "x.test/o:1": None}


def test_a_verdict_the_grace_settles_is_a_change_and_is_waited_for_once() -> None:
    """The monitor redraws what changed since its last look: the record told by the passing of
    the grace is among them; a pull judged again while it waits is queued once, and told once."""
    alias = "registry.test/app:alias"
    store = feed(*first_pull(0), start(alias, 10), event("Create", alias, 10.1), result(alias, 10.2),
                 event("Update", alias, 10.3))  # fmt: skip
    (waiting,) = [r for r in store.pulls if r.image == alias]
    assert waiting.downloaded is None and len(store._create_may_come) == 1
    revision = store.revision
    add(store, parse_line(start("x.test/o:1", 16)))
    assert waiting.downloaded is False and waiting in store.changed_since(revision)
    assert store._create_may_come == [] and store._create_may_come_ids == set()
