"""Host attribution, pod matching and stuck-pull detection (the pure parts of "why").

containerd lines are logrus text with the messages and fields of the source named in each module;
the sequences are the orders in which containerd's resolver writes them (one goroutine per pull,
lines of concurrent pulls interleaved).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pullwatch.parsers.envelope import decode_envelope
from pullwatch.parsers.hosts import decode_host_message
from pullwatch.reasons import HostAttempt, Reasons
from pullwatch.why.hosts import HostTracker, merge
from pullwatch.why.pods import PodMatcher, split_pod
from pullwatch.why.stuck import StuckWatch

T0 = datetime(2026, 12, 2, 5, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def line(msg: str, fields: str = "", level: str = "info") -> str:
    return f'time="2026-12-02T05:00:00.000000000Z" level={level} msg={msg} {fields}'.rstrip()


# ---- hosts ----

MIRROR = "mirror.local:5000"
HUB = "registry-1.docker.io"
NGINX = "docker.io/library/nginx:1.25"
REDIS = "docker.io/library/redis:7"


def manifest_url(host: str, repo: str, tag: str) -> str:
    ns = "?ns=docker.io" if host != HUB else ""
    return f"https://{host}/v2/library/{repo}/manifests/{tag}{ns}"


def resolve_lines_1x(host: str, repo: str, tag: str) -> list[str]:
    """What 1.x debug logs when it asks one host: resolving, then do request with the URL."""
    return [
        line("resolving", f'host="{host}"', "debug"),
        line('"do request"', f'host="{host}" request.method=HEAD url="{manifest_url(host, repo, tag)}"', "debug"),
    ]


def feed(tracker: HostTracker, lines: list[str]) -> list[tuple[str, str, str | None]]:
    notes = []
    for text in lines:
        event = decode_host_message(decode_envelope(text))
        assert event is not None, text
        note = tracker.feed(event, T0)
        if note is not None:
            notes.append((note.ref, note.host, note.outcome))
    return notes


def test_mirror_refused_then_upstream_serves_1x_debug() -> None:
    tracker = HostTracker()
    url = manifest_url(MIRROR, "nginx", "1.25")
    refused = f'failed to do request: Head \\"{url}\\": dial tcp 10.0.0.9:5000: connect: connection refused'
    notes = feed(
        tracker,
        [
            *resolve_lines_1x(MIRROR, "nginx", "1.25"),
            line('"trying next host"', f'error="{refused}" host="{MIRROR}"'),
            *resolve_lines_1x(HUB, "nginx", "1.25"),
            line("resolved", f'desc.digest="sha256:{"d" * 64}" host={HUB}', "debug"),
        ],
    )
    assert notes == [
        (NGINX, MIRROR, None),
        (NGINX, MIRROR, "failed"),
        (NGINX, HUB, None),
        (NGINX, HUB, "served"),
    ]


def test_two_images_on_one_host_are_not_guessed() -> None:
    tracker = HostTracker()
    notes = feed(
        tracker,
        resolve_lines_1x(MIRROR, "nginx", "1.25")
        + resolve_lines_1x(MIRROR, "redis", "7")
        + [line('"trying next host - response was http.StatusNotFound"', f'host="{MIRROR}"')],
    )
    assert notes == [(NGINX, MIRROR, None), (REDIS, MIRROR, None)]  # the 404 names neither
    assert tracker.unattributed == 1
    # 2.3 names the URL on every line, so interleaving does not matter
    notes = feed(
        tracker,
        [
            line(
                '"trying next host after status: 404 Not Found"',
                f'host="{MIRROR}" method=HEAD url="{manifest_url(MIRROR, "redis", "7")}"',
            )
        ],
    )
    assert notes == [(REDIS, MIRROR, "failed")]


def test_attempts_served_by_and_skipped_mirrors() -> None:
    tracker = HostTracker()
    attempts: list[HostAttempt] = []
    refused = f'failed to do request: Head \\"{manifest_url(MIRROR, "nginx", "1.25")}\\": EOF'
    for text in [
        *resolve_lines_1x(MIRROR, "nginx", "1.25"),
        line('"trying next host"', f'error="{refused}" host="{MIRROR}"'),
        *resolve_lines_1x(HUB, "nginx", "1.25"),
        line("resolved", f"host={HUB}", "debug"),
    ]:
        event = decode_host_message(decode_envelope(text))
        assert event is not None
        note = tracker.feed(event, T0)
        if note is not None:
            merge(attempts, note)
    assert [(a.host, a.outcome, a.mirror_for) for a in attempts] == [
        (MIRROR, "failed", "docker.io"),
        (HUB, "served", None),
    ]
    assert Reasons(hosts=attempts).served_by == HUB
    assert [a.host for a in (Reasons(hosts=attempts).mirrors_skipped(completed=True) or [])] == [MIRROR]
    assert attempts[0].error is not None and attempts[0].error.endswith(": EOF")


def test_info_level_1x_still_shows_the_skipped_mirror() -> None:
    """At info level only `trying next host` is logged; its error quotes the mirror's URL."""
    tracker = HostTracker()
    refused = f'failed to do request: Head \\"{manifest_url(MIRROR, "nginx", "1.25")}\\": connect: connection refused'
    notes = feed(tracker, [line('"trying next host"', f'error="{refused}" host="{MIRROR}"')])
    assert notes == [(NGINX, MIRROR, "failed")]


def test_forget_clears_unanswered_requests() -> None:
    tracker = HostTracker()
    feed(tracker, resolve_lines_1x(MIRROR, "nginx", "1.25") + resolve_lines_1x(MIRROR, "redis", "7"))
    tracker.forget(REDIS)
    notes = feed(tracker, [line("resolved", f'host="{MIRROR}"', "debug")])
    assert notes == [(NGINX, MIRROR, "served")]


# ---- pods ----


def test_one_pod_one_pull_either_order() -> None:
    matcher = PodMatcher()
    assert matcher.pull_started(1, NGINX, at(0.0)) == {}
    assert matcher.kubelet_line(NGINX, "default/web-0", at(0.3), at_end=False) == {1: ["default/web-0"]}
    later = PodMatcher()
    later.kubelet_line(NGINX, "default/web-0", at(10), at_end=False)
    assert later.pull_started(7, NGINX, at(10.2)) == {7: ["default/web-0"]}
    assert split_pod(["default/web-0"]) == ("default", "web-0")


def test_two_pods_one_image_at_once_lists_both_and_chooses_neither() -> None:
    matcher = PodMatcher()
    matcher.kubelet_line(NGINX, "default/a", at(0.0), at_end=False)
    matcher.kubelet_line(NGINX, "default/b", at(0.1), at_end=False)
    answers = matcher.pull_started(1, NGINX, at(0.2))
    answers.update(matcher.pull_started(2, NGINX, at(0.25)))
    assert answers == {1: ["default/a", "default/b"], 2: ["default/a", "default/b"]}
    assert split_pod(answers[1]) == (None, None)


def test_outside_the_window_or_other_image_or_no_time_is_not_matched() -> None:
    matcher = PodMatcher()
    matcher.pull_started(1, NGINX, at(0))
    assert matcher.kubelet_line(NGINX, "default/late", at(30), at_end=False) == {}
    assert matcher.kubelet_line(REDIS, "default/other", at(0), at_end=False) == {}
    assert matcher.kubelet_line(NGINX, "default/notime", None, at_end=False) == {}


def test_failure_lines_match_the_end_of_a_pull() -> None:
    matcher = PodMatcher()
    matcher.pull_started(1, NGINX, at(0))
    assert matcher.pull_ended(1, NGINX, at(40)) == {}
    assert matcher.kubelet_line(NGINX, "prod/api-1", at(40.5), at_end=True) == {1: ["prod/api-1"]}
    # a sandbox pull has no start line: only its end can be matched
    assert matcher.pull_ended(9, REDIS, at(50)) == {}
    assert matcher.kubelet_line(REDIS, "prod/api-2", at(50.1), at_end=True) == {9: ["prod/api-2"]}


def test_memory_is_bounded_by_pruning() -> None:
    matcher = PodMatcher()
    for i in range(1000):
        matcher.pull_started(i, NGINX, at(i * 10))
        matcher.kubelet_line(NGINX, f"default/p{i}", at(i * 10), at_end=False)
    kept = matcher._images[NGINX]
    assert len(kept.pulls) <= 3 and len(kept.claims) <= 3


# ---- stuck ----


def test_trickle_is_flagged_and_clears_when_it_speeds_up() -> None:
    watch = StuckWatch()
    assert watch.sample(at(0), 0) is None
    total = 0
    for step in range(1, 7):  # 10 s apart, 1 KiB/s: progress, but a crawl
        total += 10 * 1024
        result = watch.sample(at(step * 10), total)
    assert result is True and watch.stuck_since == at(0)
    total += 60 * 1024 * 1024  # 1 MiB/s for the next 60 s
    assert watch.sample(at(120), total) is False
    assert watch.stuck_since is None


def test_fast_pull_is_not_stuck_and_short_pull_cannot_tell() -> None:
    watch = StuckWatch()
    for step in range(7):
        watch.sample(at(step * 10), step * 10 * 1024 * 1024)
    assert watch.stuck is False
    short = StuckWatch()
    short.sample(at(0), 0)
    assert short.sample(at(10), 5) is None  # 10 s of samples: too few to say
    assert short.sample(None, 7) is None and short.sample(at(5), 9) is None  # no time / out of order


def test_pod_matching_does_not_depend_on_whether_kubelet_lines_came_first() -> None:
    # Pulls of an image kept while no kubelet line names it are pruned as they would be with
    # kubelet lines around: a late kubelet line (kubelet.log read after containerd.log) finds
    # the same pulls either way.
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    quiet, busy = PodMatcher(), PodMatcher()
    busy.kubelet_line("r", "ns/early", start - timedelta(hours=1), at_end=False)
    for index in range(10):
        for matcher in (quiet, busy):
            matcher.pull_started(index, "r", start + timedelta(seconds=30 * index))
            matcher.pull_ended(index, "r", start + timedelta(seconds=30 * index + 1))
    for offset, pod in ((0, "ns/a"), (30, "ns/b"), (270, "ns/c")):
        moment = start + timedelta(seconds=offset)
        assert quiet.kubelet_line("r", pod, moment, at_end=False) == busy.kubelet_line("r", pod, moment, at_end=False)
    assert quiet.kubelet_line("r", "ns/d", start + timedelta(seconds=270), at_end=False) == {9: ["ns/c", "ns/d"]}


def test_pulls_with_no_kubelet_line_are_pruned_as_with_lines() -> None:
    """Pulls of an image no kubelet line names take the short way (no matching), yet are dropped
    as the matching would drop them, and a late kubelet line still finds the recent ones."""
    matcher = PodMatcher()
    for i in range(1000):
        assert matcher.pull_started(i, NGINX, at(i * 10)) == {}
        assert matcher.pull_ended(i, NGINX, at(i * 10 + 1)) == {}
    assert len(matcher._images[NGINX].pulls) <= 2
    assert matcher.kubelet_line(NGINX, "default/late", at(9990.5), at_end=False) == {999: ["default/late"]}
