"""How fast and how fresh: single flight, stale copies, throttling, limits, eviction, SIGHUP.

Every test here measures what the simulator saw (its request log has each
request's arrival time) and what a reader got through the mount, so each one
fails if the daemon asks too often, too early, too many at once, or serves a
wrong or stale value where a fresh one is due.  test_fetching.py and
test_errors.py cover the basics (laziness, ttl, one request per cold build,
EIO and cached copies on failure); this file covers the options that shape
traffic (ttl, timeout, max_requests, rate, cache_size, prefetch) and SIGHUP.

Backends: what rests on the build calls (single flight across latest and
the build id, stale copies, the cache's eviction of each API's trees,
prefetch, freshness) runs on v3 and v5 (BOTH_BACKENDS).  v5 has no batch
call: a listing prefetches each pipeline's latest with one run detail call.
Throttling, backoff, rate, max_requests, unmount and SIGHUP are the
transport's and the daemon's, the same whatever the API: v3 only.
"""

import base64
import errno
import glob
import hashlib
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import (entries, ALL_LISTED, BOTH_BACKENDS, PIPELINE_ERROR, PIPELINE_RUNNING,
                      PIPELINE_SUCCESS, TEST_PIPELINES, TEST_TOKEN, call_name,
                      default_test_scenario, errno_of, log_lines, read, run_in_threads, scaled,
                      v3_only, wait_past, wait_until)

pytestmark = BOTH_BACKENDS
SINGLE = "the transport's and the daemon's own, the same whatever the API"

RUNNING_STATUS = PIPELINE_RUNNING + "/3/status"


@pytest.fixture
def mount_with(sim, mount_factory, tmp_path):
    """mount_with(**options) -> Mount of `sim` with exactly these options."""
    def start(**options):
        return mount_factory(sim.url, tmp_path / "mnt", options)
    return start


def timed_read(path):
    """(content, seconds it took)."""
    started = time.monotonic()
    content = read(path)
    return content, time.monotonic() - started


def times_of(entries):
    return [entry["time"] for entry in entries]


def sighup(mount, build):
    """kill -HUP the daemon and wait until it has acted on the signal (it logs
    "refresh asked for" once it has dropped its copies and told the kernel)."""
    done = len(log_lines(mount, "refresh asked for"))
    mount.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: len(log_lines(mount, "refresh asked for")) > done, timeout=3,
               message="the daemon to act on SIGHUP")


class Background:
    """fn() on a thread; .result() joins and returns its value or raises its error."""

    def __init__(self, fn):
        self.outcome = {}

        def run():
            try:
                self.outcome["value"] = fn()
            except Exception as error:
                self.outcome["error"] = error
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self, timeout=30):
        self.thread.join(scaled(timeout))
        assert not self.thread.is_alive(), "background read still blocked"
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome["value"]


# --------------------------------------------------------------------------
# A scenario of many small, completed pipelines, each with distinct values


def pipeline_id_of(index):
    return f"{index:04d}" + "ab" * 14


def build_id_of(index):
    return str(100 + index)


def note_of(index, size):
    """A parameter value of `size` bytes, different for every index, that hardly compresses."""
    text, block = "", f"note of build {index}".encode()
    while len(text) < size:
        block = hashlib.sha256(block).digest()
        text += base64.b64encode(block).decode()
    return text[:size]


def many_pipelines(count, note_size=16):
    """`count` pipelines, each with one completed build whose every value names its index."""
    pipelines = {}
    for index in range(count):
        pipeline_id, build_id = pipeline_id_of(index), build_id_of(index)
        task = {"id": "Task_1", "name": f"task-{index}", "type": "task", "status": "completed",
                "outcome": "error", "start_time": "2026-11-28 09:00:00",
                "end_time": "2026-11-28 09:01:00", "elapsed_time": "60000",
                "error_code": f"DEVPIPE.{index:08d}", "error_msg": f"step {index} failed",
                "children": [], "detail_url": f"https://example.com/{index}/task"}
        stage = dict(task, id="state_1", name=f"stage-{index}", type="stage",
                     children=[task], detail_url=f"https://example.com/{index}/stage")
        body = {"pipeline_id": pipeline_id, "pipeline_name": f"service-{index}",
                "executor": f"user{index}", "build_id": build_id,
                "start_time": "2026-11-28 09:00:00", "end_time": "2026-11-28 09:01:00",
                "elapsed_time": str(60000 + index), "status": "completed", "outcome": "error",
                "detail_url": f"https://example.com/{pipeline_id}/{build_id}",
                "parameters": [{"name": "notes", "value": note_of(index, note_size)}],
                "states": [stage]}
        pipelines[pipeline_id] = {"latest": build_id, "builds": {build_id: {"body": body}}}
    return {"token": TEST_TOKEN, "pipelines": pipelines}


def expected_files(index, note_size=16, backend="v3"):
    """Some files of build `index` and what they must hold (v5: elapsed_time is end - start)."""
    return {
        "status": b"completed\n",
        "pipeline_name": f"service-{index}\n".encode(),
        "executor": f"user{index}\n".encode(),
        "elapsed_time": f"{60000 + (index if backend == 'v3' else 0)}\n".encode(),
        "parameters/notes": (note_of(index, note_size) + "\n").encode(),
        f"stages/stage-{index}/tasks/task-{index}/error_msg": f"step {index} failed\n".encode(),
    }


def build_dir(mnt, index):
    return mnt / pipeline_id_of(index) / build_id_of(index)


# --------------------------------------------------------------------------
# Single flight across `latest` and the build id


def test_readers_of_latest_and_of_its_build_id_at_once_share_one_request(mnt, sim):
    sim.latency(PIPELINE_RUNNING, 0.3)
    via_latest = mnt / PIPELINE_RUNNING / "latest" / "status"
    via_id = mnt / PIPELINE_RUNNING / "3" / "status"
    results = run_in_threads([lambda: read(via_latest), lambda: read(via_id)] * 8)
    assert results == [b"running\n"] * 16
    # the one latest call's body is build 3's status: nobody asked for build 3 itself
    assert [entry["build_id"] for entry in sim.requests()] == [None]


def test_reader_of_a_build_waits_for_the_latest_call_bringing_it(sim, mount_factory, tmp_path):
    # listed: looking the pipeline up costs nothing, so build 3's readers reach the
    # cache while the latest call (slow here) is still in flight
    mnt = mount_factory(sim.url, tmp_path / "mnt", dict(ALL_LISTED)).mountpoint
    sim.latency(PIPELINE_RUNNING, 0.6)
    via_latest = Background(lambda: read(mnt / PIPELINE_RUNNING / "latest" / "status"))
    wait_until(lambda: sim.api_requests(PIPELINE_RUNNING), message="the latest call")
    results = run_in_threads([lambda: read(mnt / RUNNING_STATUS)] * 8)
    assert via_latest.result() == b"running\n"
    assert results == [b"running\n"] * 8
    assert [entry["build_id"] for entry in sim.requests()] == [None]


# --------------------------------------------------------------------------
# Stale copies: a hung or failing service never stalls reads of what is cached


def test_cached_build_stays_readable_while_its_refresh_hangs(mount_with, sim):
    mnt = mount_with(ttl=1, **ALL_LISTED).mountpoint
    status = mnt / RUNNING_STATUS
    assert read(status) == b"running\n"
    fetched = sim.api_requests(PIPELINE_RUNNING)[-1]["time"]
    sim.fault(kind="hang", pipeline_id=PIPELINE_RUNNING)
    try:
        check_reads_while_the_refresh_hangs(sim, mnt, fetched)
    finally:
        sim.clear_faults()               # the held request is closed: that refresh fails
    wait_until(lambda: read(status) == b"completed\n", timeout=8,
               message="the new status once the service answers")


def check_reads_while_the_refresh_hangs(sim, mnt, fetched):
    status = mnt / RUNNING_STATUS
    sim.advance(60)                      # a refresh that worked would say "completed"
    wait_past(fetched, 1.2, "ttl to pass")

    content, took = timed_read(status)
    assert content == b"running\n"
    assert took < scaled(1.6), f"first read of the stale copy took {took:.2f} s (patience is 1 s)"
    # build 3's own calls: a latest call the kernel's revalidation may add
    # when the machine is slow (valgrind, load) is not this refresh
    wait_until(lambda: len(sim.api_requests(PIPELINE_RUNNING, build_id="3")) == 2,
               message="the hung refresh")
    # the reader's patience is spent: while the refresh still hangs, reads of
    # that build are served the copy at once
    for name in ["status", "outcome", "stages/人工审核/status"]:
        content, took = timed_read(mnt / PIPELINE_RUNNING / "3" / name)
        assert took < scaled(0.5), f"{name} took {took:.2f} s while the refresh hangs"
    assert read(status) == b"running\n"
    assert len(sim.api_requests(PIPELINE_RUNNING, build_id="3")) == 2, \
        "one refresh at a time"


@v3_only(SINGLE)
def test_outage_serves_the_old_copy_logs_it_once_and_ends_when_the_service_is_back(
        mount_with, sim):
    mount = mount_with(ttl=1, **ALL_LISTED)
    status = mount.mountpoint / RUNNING_STATUS
    assert read(status) == b"running\n"
    fetched = sim.api_requests(PIPELINE_RUNNING)[-1]["time"]
    sim.fault(kind="status", status=500, pipeline_id=PIPELINE_RUNNING)
    sim.advance(60)

    # 2.5 s of steady reading, starting once the copy is stale: always the old copy, quickly
    wait_past(fetched, 1.1, "ttl to pass")
    reads, slowest = 0, 0.0
    until = time.monotonic() + 2.5
    while time.monotonic() < until:
        content, took = timed_read(status)
        assert content == b"running\n"
        slowest = max(slowest, took)
        reads += 1
        time.sleep(0.02)                # pacing, not synchronisation
    failed = [entry for entry in sim.api_requests(PIPELINE_RUNNING) if entry["status"] == 500]
    assert reads > 25
    assert slowest < scaled(0.5), f"a read took {slowest:.2f} s during the outage"
    assert 2 <= len(failed) <= 4, f"{len(failed)} refresh attempts in 2.5 s (backoff expected)"
    gaps = [b - a for a, b in zip(times_of(failed), times_of(failed)[1:])]
    assert min(gaps) >= 0.45, f"retried after {min(gaps):.2f} s"
    assert len(log_lines(mount, "serving the cached copy", PIPELINE_RUNNING)) == 1
    assert len(log_lines(mount, "SIM.500")) == 1
    assert not log_lines(mount, ": the service answers again")

    sim.clear_faults()
    wait_until(lambda: read(status) == b"completed\n", timeout=10,
               message="the new status once the service recovers")
    assert read(mount.mountpoint / PIPELINE_RUNNING / "3" / "end_time") == b"2026-11-28 10:01:00\n"
    assert len(log_lines(mount, PIPELINE_RUNNING, ": the service answers again")) == 1


# --------------------------------------------------------------------------
# Throttling: 429 and 503 with Retry-After pause the whole mount


@v3_only(SINGLE)
@pytest.mark.parametrize("status", [429, 503])
def test_service_asking_to_retry_after_2_s_is_asked_again_only_after_2_s(
        mount_with, sim, status):
    mount = mount_with(**ALL_LISTED)
    sim.fault(kind="status", status=status, headers={"Retry-After": "2"}, count=1,
              pipeline_id=PIPELINE_SUCCESS)
    content, took = timed_read(mount.mountpoint / PIPELINE_SUCCESS / "7" / "status")
    assert content == b"completed\n"          # the reader waited it out, within timeout
    requests = sim.api_requests(PIPELINE_SUCCESS)
    assert [entry["status"] for entry in requests] == [status, 200]
    gap = requests[1]["time"] - requests[0]["time"]
    assert gap >= 1.95, f"asked again {gap:.2f} s after Retry-After: 2"
    assert gap < scaled(3.5), f"asked again only {gap:.2f} s after Retry-After: 2"
    assert 1.9 <= took < scaled(4)


@v3_only(SINGLE)
def test_retry_after_pauses_requests_for_every_pipeline(mount_with, sim):
    # Retry-After beyond timeout: the throttled read fails at once, so when it
    # returns the daemon has the 429 and its pause for sure
    mnt = mount_with(timeout=3, **ALL_LISTED).mountpoint
    sim.fault(kind="status", status=429, headers={"Retry-After": "4"}, count=1,
              pipeline_id=PIPELINE_SUCCESS)
    assert errno_of(read, mnt / PIPELINE_SUCCESS / "7" / "status") == errno.EIO
    first = sim.requests()[0]["time"]

    # once the rest of the pause is within timeout, a cold read of another
    # pipeline waits for the pause to end, then works
    wait_past(first, 1.5, "the rest of the pause to be within timeout=3")
    assert read(mnt / PIPELINE_ERROR / "12" / "outcome") == b"error\n"
    assert read(mnt / RUNNING_STATUS) == b"running\n"
    assert read(mnt / PIPELINE_SUCCESS / "7" / "status") == b"completed\n"
    later = sim.requests()[1:]
    assert {entry["pipeline_id"] for entry in later} == {PIPELINE_SUCCESS, PIPELINE_ERROR,
                                                        PIPELINE_RUNNING}
    early = [(entry["pipeline_id"], round(entry["time"] - first, 2)) for entry in later
             if entry["time"] < first + 3.95]
    assert early == [], f"requests during the 4 s pause: {early}"


@v3_only(SINGLE)
def test_429_without_retry_after_still_pauses_before_asking_again(mount_with, sim):
    mnt = mount_with(**ALL_LISTED).mountpoint
    sim.fault(kind="status", status=429, count=1, pipeline_id=PIPELINE_SUCCESS)
    assert read(mnt / PIPELINE_SUCCESS / "7" / "status") == b"completed\n"
    requests = sim.api_requests(PIPELINE_SUCCESS)
    assert [entry["status"] for entry in requests] == [429, 200]
    gap = requests[1]["time"] - requests[0]["time"]
    assert 0.9 <= gap < scaled(3.5), f"asked again {gap:.2f} s after a 429"


@v3_only(SINGLE)
def test_retry_after_beyond_timeout_fails_fast_and_sends_nothing_until_it_passes(
        mount_with, sim):
    # a reader waits for a retry only when its request still has room after
    # it (min(1 s, timeout / 2)): timeout=2 leaves a read at first + 2.2 that
    mount = mount_with(timeout=2, **ALL_LISTED)
    mnt = mount.mountpoint
    sim.fault(kind="status", status=429, headers={"Retry-After": "3"}, count=1,
              pipeline_id=PIPELINE_SUCCESS)
    status = mnt / PIPELINE_SUCCESS / "7" / "status"
    started = time.monotonic()
    assert errno_of(read, status) == errno.EIO
    assert time.monotonic() - started < scaled(1.5), "a pause past the timeout is not waited out"
    first = sim.requests()[0]["time"]

    # while the pause outlasts a reader's timeout, cold reads fail at once and
    # nothing reaches the service
    failed_reads = 0
    while time.time() < first + 1.7:
        started = time.monotonic()
        assert errno_of(read, mnt / PIPELINE_ERROR / "12" / "status") == errno.EIO
        assert time.monotonic() - started < scaled(0.5)
        failed_reads += 1
        time.sleep(0.1)                 # pacing, not synchronisation
    assert len(sim.requests()) == 1, sim.requests()

    # once the pause ends within the timeout, a reader waits for it and gets the build
    wait_past(first, 2.2, "the pause to end within timeout=2")
    content, took = timed_read(mnt / PIPELINE_ERROR / "12" / "outcome")
    assert content == b"error\n"
    assert took < scaled(1.5)
    assert read(status) == b"completed\n"
    assert min(times_of(sim.requests()[1:])) >= first + 2.95
    # the pause is no outage of each build: not one log line per read
    not_sent = log_lines(mount, "not sent")
    assert len(not_sent) <= 1, f"{len(not_sent)} lines for {failed_reads} reads: {not_sent[0]}"


@v3_only(SINGLE)
def test_throttled_mount_keeps_serving_cached_copies_without_asking(mount_with, sim):
    mnt = mount_with(ttl=1, **ALL_LISTED).mountpoint
    status = mnt / RUNNING_STATUS
    assert read(status) == b"running\n"
    fetched = sim.requests()[-1]["time"]
    sim.fault(kind="status", status=429, headers={"Retry-After": "3"}, count=1)
    sim.advance(60)
    wait_past(fetched, 1.1, "ttl to pass")

    until = time.monotonic() + 2.0
    while time.monotonic() < until:
        content, took = timed_read(status)
        assert content == b"running\n"
        assert took < scaled(0.5), f"a cached read took {took:.2f} s while throttled"
        time.sleep(0.05)                # pacing, not synchronisation
    throttled = [entry for entry in sim.requests() if entry["status"] == 429]
    assert len(throttled) == 1
    assert len(sim.requests()) == 2, "nothing is sent while the service asked for a pause"

    wait_until(lambda: read(status) == b"completed\n", timeout=8,
               message="the new status after the pause")
    assert sim.requests()[2]["time"] >= throttled[0]["time"] + 2.95


# --------------------------------------------------------------------------
# Backoff without Retry-After


@v3_only(SINGLE)
def test_failing_service_is_asked_with_backoff_not_once_per_read(mount_with, sim):
    mount = mount_with(timeout=1, **ALL_LISTED)
    sim.fault(kind="status", status=503, pipeline_id=PIPELINE_SUCCESS)
    status = mount.mountpoint / PIPELINE_SUCCESS / "7" / "status"
    reads = 0
    until = time.monotonic() + 3.0
    while time.monotonic() < until:
        started = time.monotonic()
        assert errno_of(read, status) == errno.EIO
        assert time.monotonic() - started < scaled(2.0), "a read waited past timeout=1"
        reads += 1
        time.sleep(0.02)                # pacing: a reader in backoff is answered at once
    times = times_of(sim.api_requests(PIPELINE_SUCCESS))
    assert reads >= 5
    assert 2 <= len(times) <= 4, f"{len(times)} requests for {reads} reads in 3 s"
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.45, f"retried after {min(gaps):.2f} s"
    assert len(log_lines(mount, "SIM.503")) == 1
    # the other pipelines are not held back by this one's backoff
    assert read(mount.mountpoint / PIPELINE_ERROR / "12" / "outcome") == b"error\n"


# --------------------------------------------------------------------------
# rate= and max_requests=


@v3_only(SINGLE)
def test_rate_limit_spreads_requests_over_time(sim_factory, mount_factory, tmp_path):
    count = 15
    sim = sim_factory(many_pipelines(count))
    ids = ":".join(pipeline_id_of(index) for index in range(count))
    mnt = mount_factory(sim.url, tmp_path / "mnt", {"rate": 5, "pipelines": ids}).mountpoint
    results = run_in_threads([lambda index=index: read(build_dir(mnt, index) / "executor")
                              for index in range(count)])
    assert results == [f"user{index}\n".encode() for index in range(count)]
    times = sorted(times_of(sim.requests()))
    assert len(times) == count
    # a burst of at most 5 (one second's worth), then at most 5 a second
    span = times[-1] - times[0]
    assert 1.8 <= span < scaled(4), f"15 requests at rate=5 took {span:.2f} s"
    assert times[5] - times[0] >= 0.15, "more than 5 requests in the initial burst"
    after_burst = times[5:]
    for start in after_burst:
        in_window = [t for t in after_burst if start <= t < start + 0.95]
        assert len(in_window) <= 5 + 1, f"{len(in_window)} requests within 1 s at rate=5"


@v3_only(SINGLE)
def test_max_requests_bounds_the_requests_in_flight(sim_factory, mount_factory, tmp_path):
    count = 6
    sim = sim_factory(many_pipelines(count))
    sim.latency("*", 0.5)
    ids = ":".join(pipeline_id_of(index) for index in range(count))
    mnt = mount_factory(sim.url, tmp_path / "mnt",
                        {"max_requests": 2, "pipelines": ids}).mountpoint
    started = time.monotonic()
    results = run_in_threads([lambda index=index: read(build_dir(mnt, index) / "executor")
                              for index in range(count)])
    elapsed = time.monotonic() - started
    assert results == [f"user{index}\n".encode() for index in range(count)]
    assert 1.4 <= elapsed < scaled(2.8), f"6 reads of 0.5 s, 2 at a time, took {elapsed:.2f} s"
    times = sorted(times_of(sim.requests()))
    assert len(times) == count
    # each request takes 0.5 s: a third one may only start when one of two has ended
    for earlier, third in zip(times, times[2:]):
        assert third - earlier >= 0.45, "more than 2 requests in flight with max_requests=2"


# --------------------------------------------------------------------------
# cache_size=: eviction never shows a wrong value


BIG_NOTE = 8000          # bytes of parameter text per build: each build is several KiB


def test_small_cache_evicts_builds_and_every_read_stays_correct(
        sim_factory, mount_factory, tmp_path, backend):
    count = 30
    cache_mib = 0.05
    scenario = many_pipelines(count, BIG_NOTE)
    sim = sim_factory(scenario)
    ids = ":".join(pipeline_id_of(index) for index in range(count))
    mnt = mount_factory(sim.url, tmp_path / "mnt",
                        {"cache_size": cache_mib, "pipelines": ids}).mountpoint

    # each build holds its note's text: even compressed 2:1, at most half the builds fit
    assert cache_mib * 1024 * 1024 / (BIG_NOTE / 2) < count / 2

    # opened before the evictions, read after them
    kept_open = os.open(build_dir(mnt, 0) / "parameters" / "notes", os.O_RDONLY)
    try:
        # round 1 reads some files of every build, round 2 all of them: files not
        # looked up before make the daemon resolve their build again, whatever the
        # kernel keeps of what was read
        first_round = ["status", "executor", "parameters/notes"]
        for index in range(count):
            for name in first_round:
                assert read(build_dir(mnt, index) / name) == \
                    expected_files(index, BIG_NOTE, backend)[name], f"round 1, build {index}, {name}"
        assert len(sim.requests()) == count, "one request per build in round 1"
        for index in range(count):
            for name, content in expected_files(index, BIG_NOTE, backend).items():
                assert read(build_dir(mnt, index) / name) == content, \
                    f"round 2, build {index}, {name}"
        asked = len(sim.requests())
        assert asked > count + count // 2, f"{asked} requests: round 2 should refetch"
        assert os.read(kept_open, 100000) == expected_files(0, BIG_NOTE, backend)["parameters/notes"]
    finally:
        os.close(kept_open)


def test_cache_size_zero_still_reads_every_build_right(sim_factory, mount_factory, tmp_path,
                                                       backend):
    count = 4
    sim = sim_factory(many_pipelines(count))
    ids = ":".join(pipeline_id_of(index) for index in range(count))
    mnt = mount_factory(sim.url, tmp_path / "mnt", {"cache_size": 0, "pipelines": ids}).mountpoint
    files = [list(expected_files(index, backend=backend).items()) for index in range(count)]
    # one file of every build in turn: each new file needs its build, gone by then
    for position in range(len(files[0])):
        for index in range(count):
            name, content = files[index][position]
            assert read(build_dir(mnt, index) / name) == content, f"build {index}, {name}"
    asked = len(sim.requests())
    assert asked >= len(files[0]) * count, f"{asked} requests: nothing is kept with cache_size=0"
    assert asked <= 2 * len(files[0]) * count


# --------------------------------------------------------------------------
# Completed builds, prefetch, SIGHUP


def test_completed_build_is_not_fetched_after_ttl_nor_after_sighup(mount_with, sim):
    mount = mount_with(ttl=1, **ALL_LISTED)
    build = mount.mountpoint / PIPELINE_SUCCESS / "7"
    assert read(build / "status") == b"completed\n"
    fetched = sim.requests()[0]["time"]
    wait_past(fetched, 1.3, "ttl to pass")
    assert read(build / "outcome") == b"success\n"
    assert entries(build / "stages") == ["构建", "部署"]

    sighup(mount, build)
    assert read(build / "status") == b"completed\n"
    assert read(build / "parameters" / "codeBranch") == b"master\n"
    assert [entry["build_id"] for entry in sim.requests()] == ["7"]
    assert mount.proc.poll() is None


def test_listing_the_root_prefetches_every_pipeline_with_one_batch_call(
        sim_factory, mount_factory, tmp_path, backend):
    count = 10
    sim = sim_factory(many_pipelines(count))
    sim.latency("*", 0.5)
    ids = [pipeline_id_of(index) for index in range(count)]
    mnt = mount_factory(sim.url, tmp_path / "mnt", {"pipelines": ":".join(ids)}).mountpoint

    started = time.monotonic()
    assert entries(mnt) == ids
    took = time.monotonic() - started
    assert took < scaled(0.4), f"listing waited {took:.2f} s for the prefetch"

    if backend == "v3":
        # nothing else is read: the listing alone brings one batch call, which
        # names each latest build, and then each build by its id
        def prefetched():
            batches = [entry for entry in sim.requests() if entry["pipeline_id"] is None]
            builds = [entry for entry in sim.requests() if entry["pipeline_id"] is not None]
            return (len(batches) == 1 and
                    sorted(entry["pipeline_id"] for entry in builds) == ids and
                    all(entry["build_id"] is not None for entry in builds))
        wait_until(prefetched, timeout=5,
                   message="one batch call, then each latest build by its id")
        batch = next(entry for entry in sim.requests() if entry["pipeline_id"] is None)
        assert sorted(batch["pipeline_ids"]) == ids
        calls = count + 1
    else:
        # no batch call in v5: one latest run detail per pipeline, whose body is the build
        def prefetched():
            return sorted(entry["pipeline_id"] for entry in sim.requests()
                          if entry["call"] == "v5_detail" and entry["build_id"] is None) == ids
        wait_until(prefetched, timeout=5, message="each pipeline's latest run")
        calls = count

    statuses = [read(path) for path in sorted(glob.glob(str(mnt / "*" / "latest" / "status")))]
    assert statuses == [b"completed\n"] * count
    assert read(build_dir(mnt, 3) / "executor") == b"user3\n"
    assert len(sim.requests()) == calls, "reading what was prefetched costs nothing more"


def test_stale_latest_answers_are_refreshed_with_one_batch_call(sim_factory, mount_factory,
                                                              tmp_path, backend):
    count = 10
    sim = sim_factory(many_pipelines(count))
    ids = [pipeline_id_of(index) for index in range(count)]
    # ttl long enough that no answer goes stale during the first crawl on
    # a loaded machine (which would make a refresh of its own)
    ttl = scaled(2)
    mnt = mount_factory(sim.url, tmp_path / "mnt",
                        {"pipelines": ":".join(ids), "ttl": f"{ttl:g}"}).mountpoint
    assert len(glob.glob(str(mnt / "*" / "latest" / "status"))) == count
    calls = count + 1 if backend == "v3" else count        # v5: no batch call
    crawl = wait_until(lambda: [entry for entry in sim.requests() if entry["status"]]
                       if len(sim.requests()) >= calls else None, message="the first crawl")
    assert len(crawl) == calls
    answered = time.time()                 # every answer of the crawl is written by now
    sim.clear_requests()
    wait_past(answered, ttl + 0.2, "every latest answer to be stale")
    statuses = [read(path) for path in sorted(glob.glob(str(mnt / "*" / "latest" / "status")))]
    assert statuses == [b"completed\n"] * count
    # completed builds are not fetched again: one batch call refreshed them all;
    # v5: one latest run detail each
    if backend == "v3":
        assert [entry["pipeline_id"] for entry in sim.requests()] == [None]
    else:
        assert sorted((entry["call"], entry["pipeline_id"], entry["build_id"])
                      for entry in sim.requests()) == [
            (call_name(backend, "build"), pipeline_id, None) for pipeline_id in ids]


@v3_only(SINGLE)
def test_unmounting_while_a_prefetch_hangs_exits_at_once(mount_with, sim):
    mount = mount_with(timeout=5, **ALL_LISTED)
    sim.fault(kind="hang", pipeline_id=PIPELINE_ERROR)
    try:
        assert entries(mount.mountpoint) == list(TEST_PIPELINES)    # starts the prefetch
        wait_until(lambda: sim.api_requests(PIPELINE_ERROR), message="the hung latest call")
        started = time.monotonic()
        mount.umount()                                   # demands exit 0 within 10 s
        took = time.monotonic() - started
        assert took < scaled(2.0), f"the daemon took {took:.2f} s to exit: it waited for the request"
    finally:
        sim.clear_faults()


@v3_only(SINGLE)
def test_sighup_refreshes_a_running_build_within_its_ttl(mount_with, sim):
    mount = mount_with(ttl=60, **ALL_LISTED)
    build = mount.mountpoint / PIPELINE_RUNNING / "3"
    assert read(build / "status") == b"running\n"
    sim.advance(60)
    assert read(build / "status") == b"running\n"          # fresh for 60 s
    assert len(sim.requests()) == 1

    sighup(mount, build)
    assert [entry["build_id"] for entry in sim.requests()] == ["3"]   # nothing until read
    assert read(build / "end_time") == b"2026-11-28 10:01:00\n"
    assert read(build / "stages" / "人工审核" / "status") == b"completed\n"
    assert read(build / "outcome") == b"success\n"
    assert [entry["build_id"] for entry in sim.requests()] == ["3", "3"]
    # SIGHUP does not end the session: still mounted, and exit 0 at teardown
    assert mount.proc.poll() is None
    assert os.path.ismount(mount.mountpoint)
    # the file read before SIGHUP shows its whole new content, at its new size
    assert read(build / "status") == b"completed\n"
    assert os.stat(build / "status").st_size == len(b"completed\n")
    assert len(sim.requests()) == 2


@v3_only(SINGLE)
def test_sighup_resolves_latest_again(mount_with, sim):
    mount = mount_with(ttl=60, **ALL_LISTED)
    latest = mount.mountpoint / PIPELINE_SUCCESS / "latest"
    assert os.readlink(latest) == "7"
    scenario = default_test_scenario()
    builds = scenario["pipelines"][PIPELINE_SUCCESS]["builds"]
    builds["8"] = {"body": dict(builds["7"]["body"], build_id="8", status="running",
                                outcome=None)}
    scenario["pipelines"][PIPELINE_SUCCESS]["latest"] = "8"
    sim.set_scenario(scenario)
    assert os.readlink(latest) == "7"                       # fresh for 60 s
    assert len(sim.requests()) == 1

    mount.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: os.readlink(latest) == "8", timeout=3,      # readlink is never cached
               message="latest to point at build 8 after SIGHUP")
    assert read(latest / "status") == b"running\n"
    assert [entry["build_id"] for entry in sim.requests()] == [None, None]
    assert entries(mount.mountpoint / PIPELINE_SUCCESS) == ["latest", "7", "8"]
    assert mount.proc.poll() is None


# --------------------------------------------------------------------------
# watch: a polling reader sees change within ttl + 1 s


def test_watching_a_running_build_shows_each_change_within_ttl_plus_one_second(
        mount_with, sim):
    mount = mount_with(ttl=1, **ALL_LISTED)
    build = mount.mountpoint / PIPELINE_RUNNING / "3"
    seen = []                                  # (monotonic time, stage statuses, status)
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            # what `watch -n 0.2 cat stages/构建/status stages/人工审核/status status` runs
            out = subprocess.run(["cat", "stages/构建/status", "stages/人工审核/status",
                                  "status"], cwd=build,
                                 capture_output=True, check=True).stdout
            seen.append((time.monotonic(), out))
            stop.wait(0.2)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        wait_until(lambda: seen, message="the first watch output")
        assert seen[0][1] == b"running\nwaiting\nrunning\n"

        advanced = time.monotonic()
        sim.advance(30)
        verifying = wait_until(lambda: [t for t, out in seen
                                        if out == b"completed\nverifying\nrunning\n"],
                               timeout=4, message="stage 人工审核 verifying")[0]
        assert verifying - advanced <= scaled(2.0), \
            f"change seen after {verifying - advanced:.2f} s"

        advanced = time.monotonic()
        sim.advance(30)
        completed = wait_until(lambda: [t for t, out in seen
                                        if out == b"completed\ncompleted\ncompleted\n"],
                               timeout=4, message="the build completed")[0]
        assert completed - advanced <= scaled(2.0), \
            f"change seen after {completed - advanced:.2f} s"
    finally:
        stop.set()
        watcher.join(10)
    # no file ever goes back to an older state once a newer one was seen
    orders = [[b"running", b"completed"], [b"waiting", b"verifying", b"completed"],
              [b"running", b"completed"]]
    for column, order in enumerate(orders):
        states = [out.split(b"\n")[column] for _, out in seen]
        ranks = [order.index(state) for state in states]
        assert ranks == sorted(ranks), f"file {column} of the watch went back: {states}"
    # and it cost at most one request per ttl, however often the watch looked
    times = times_of(sim.requests())
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.9, f"refreshed after {min(gaps):.2f} s with ttl=1"


def test_a_reader_does_not_wait_behind_a_queue_of_prefetches(sim_factory, mount_factory,
                                                            tmp_path):
    count = 40
    sim = sim_factory(many_pipelines(count))
    sim.latency("*", 1.0)
    ids = [pipeline_id_of(index) for index in range(count)]
    mnt = mount_factory(sim.url, tmp_path / "mnt",
                        {"pipelines": ":".join(ids), "timeout": 5}).mountpoint
    assert entries(mnt) == ids          # queues the batch call, then 40 builds
    started = time.monotonic()
    # the last pipeline's build would be 5 rounds of 8 away: the reader runs it itself
    assert read(mnt / ids[-1] / "latest" / "status") == b"completed\n"
    assert time.monotonic() - started < scaled(4.0)
    assert len([entry for entry in sim.requests() if entry["pipeline_id"] == ids[-1]]) == 1
