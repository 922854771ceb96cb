"""When pipelinefs asks the API, and how often: laziness, caching, ttl, concurrency.

Request counts come from the simulator's request log, so every test here
fails if the daemon asks more (or less) than the story says.  Every test
runs as v3 and as v5 (BOTH_BACKENDS): a build is one call in either API (v3
status, v5 run detail); v5 adds one log call per step whose log is read.
"""

import errno
import os
import threading
import time

import pytest

from conftest import (entries, ALL_LISTED, BOTH_BACKENDS, FAILED_TASK_ERROR_MSG, PIPELINE_ERROR, PIPELINE_RUNNING,
                      PIPELINE_SUCCESS, TEST_PIPELINES, call_name, default_test_scenario, read,
                      readable_again, run_in_threads, scaled, wait_past, wait_until)

pytestmark = BOTH_BACKENDS


@pytest.fixture
def mount_options():
    return dict(ALL_LISTED)


@pytest.fixture
def mnt_unlisted(sim, mount_factory, tmp_path):
    return mount_factory(sim.url, tmp_path / "mnt", {}).mountpoint


def read_tree(directory):
    """Every file under directory: {relative path: bytes}."""
    contents = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            contents[os.path.relpath(path, directory)] = read(path)
    return contents


def build_ids_asked(sim, pipeline_id, backend):
    """The build ids of the build calls for pipeline_id (None: the latest), in order."""
    return [entry["build_id"] for entry in
            sim.api_requests(pipeline_id, call=call_name(backend, "build"))]


# --------------------------------------------------------------------------
# Laziness


def test_mounting_fetches_nothing(mnt, sim):
    assert os.path.ismount(mnt)
    assert sim.requests() == []


def test_listing_with_prefetch_off_fetches_nothing(mount_with, sim):
    mnt = mount_with(prefetch=0).mountpoint
    assert entries(mnt) == list(TEST_PIPELINES)
    assert entries(mnt / PIPELINE_SUCCESS) == []     # latest not known yet
    assert sim.requests() == []


def test_cat_latest_status_makes_one_request_without_build_id(mnt, sim, backend):
    assert read(mnt / PIPELINE_SUCCESS / "latest" / "status") == b"completed\n"
    assert build_ids_asked(sim, PIPELINE_SUCCESS, backend) == [None]
    assert len(sim.requests()) == 1


def test_build_named_by_latest_needs_no_second_request(mnt, sim, backend):
    read(mnt / PIPELINE_SUCCESS / "latest" / "status")
    assert read(mnt / PIPELINE_SUCCESS / "7" / "outcome") == b"success\n"
    assert read(mnt / PIPELINE_SUCCESS / "7" / "stages" / "部署" / "status") == b"completed\n"
    assert build_ids_asked(sim, PIPELINE_SUCCESS, backend) == [None]


def test_reading_every_file_of_a_build_costs_one_request(mnt, sim, backend):
    contents = read_tree(mnt / PIPELINE_ERROR / "12")
    assert len(contents) > 40
    assert contents["outcome"] == b"error\n"
    assert build_ids_asked(sim, PIPELINE_ERROR, backend) == ["12"]
    if backend == "v3":
        assert len(sim.requests()) == 1
        return
    # and each of the 3 steps' logs once: one page each, however many files show it
    logs = sim.api_requests(PIPELINE_ERROR, call="v5_log")
    assert len({entry["path"] for entry in logs}) == len(logs) == 3
    assert len(sim.requests()) == 1 + 3


def test_reading_a_running_build_twice_within_ttl_costs_one_request(mnt, sim, backend):
    # default ttl (5 s): one walk is well inside one ttl period
    contents = read_tree(mnt / PIPELINE_RUNNING / "3")
    assert contents["status"] == b"running\n"
    contents_again = read_tree(mnt / PIPELINE_RUNNING / "3")
    assert contents_again == contents
    assert build_ids_asked(sim, PIPELINE_RUNNING, backend) == ["3"]


def test_each_build_is_fetched_once_by_its_own_id(mnt, sim, backend):
    read(mnt / PIPELINE_SUCCESS / "6" / "status")
    read(mnt / PIPELINE_SUCCESS / "7" / "status")
    read(mnt / PIPELINE_SUCCESS / "6" / "end_time")
    read(mnt / PIPELINE_SUCCESS / "7" / "end_time")
    assert build_ids_asked(sim, PIPELINE_SUCCESS, backend) == ["6", "7"]


def test_looking_up_an_unlisted_pipeline_asks_for_its_latest_build(mnt_unlisted, sim, backend):
    assert os.path.isdir(mnt_unlisted / PIPELINE_ERROR)
    assert build_ids_asked(sim, PIPELINE_ERROR, backend) == [None]
    # that answer also filled build 12's cache
    assert read(mnt_unlisted / PIPELINE_ERROR / "12" / "executor") == b"lisi\n"
    assert build_ids_asked(sim, PIPELINE_ERROR, backend) == [None]


# --------------------------------------------------------------------------
# ttl


def test_completed_build_is_never_fetched_again(mount_with, sim, backend):
    mnt = mount_with(ttl=1).mountpoint
    build = mnt / PIPELINE_SUCCESS / "7"
    assert read(build / "status") == b"completed\n"
    first = sim.api_requests(PIPELINE_SUCCESS)[0]["time"]
    wait_past(first, 1.5, "ttl to pass")
    assert read(build / "status") == b"completed\n"
    assert read_tree(build)["outcome"] == b"success\n"
    assert build_ids_asked(sim, PIPELINE_SUCCESS, backend) == ["7"]


def test_running_build_status_changes_after_ttl(mount_with, sim):
    mnt = mount_with(ttl=1).mountpoint
    status = mnt / PIPELINE_RUNNING / "3" / "status"
    assert read(status) == b"running\n"
    sim.advance(60)
    started = time.monotonic()
    wait_until(lambda: read(status) == b"completed\n", timeout=2.0,
               message="status to become completed within ttl + 1 s")
    assert time.monotonic() - started <= scaled(2.0)
    assert read(mnt / PIPELINE_RUNNING / "3" / "end_time") == b"2026-11-28 10:01:00\n"
    assert read(mnt / PIPELINE_RUNNING / "3" / "outcome") == b"success\n"


def test_size_of_a_changed_file_follows_its_new_content(mount_with, sim):
    mnt = mount_with(ttl=1).mountpoint
    build = mnt / PIPELINE_RUNNING / "3"
    assert (build / "status").stat().st_size == len(b"running\n")
    assert read(build / "end_time") == b""
    sim.advance(60)
    wait_until(lambda: read(build / "status") == b"completed\n", timeout=2.0,
               message="status to become completed")
    for name in ["status", "end_time", "elapsed_time", "outcome"]:
        assert (build / name).stat().st_size == len(read(build / name)), name
    assert (build / "end_time").stat().st_size == len(b"2026-11-28 10:01:00\n")
    assert (build / "status.json").stat().st_size == len(read(build / "status.json"))


def test_running_stage_status_changes_after_ttl(mount_with, sim):
    mnt = mount_with(ttl=1).mountpoint
    stages = mnt / PIPELINE_RUNNING / "3" / "stages"
    assert read(stages / "人工审核" / "status") == b"waiting\n"
    assert read(stages / "构建" / "outcome") == b""
    sim.advance(30)
    wait_until(lambda: read(stages / "人工审核" / "status") == b"verifying\n", timeout=2.0,
               message="stage 人工审核 to become verifying within ttl + 1 s")
    assert read(stages / "构建" / "outcome") == b"success\n"
    assert read(stages / "人工审核" / "tasks" / "人工审核" / "status") == b"verifying\n"
    assert read(mnt / PIPELINE_RUNNING / "3" / "status") == b"running\n"


def test_running_build_is_fetched_at_most_once_per_ttl(mount_with, sim):
    mnt = mount_with(ttl=1).mountpoint
    build = mnt / PIPELINE_RUNNING / "3"
    deadline = time.monotonic() + 2.5
    reads = 0
    while time.monotonic() < deadline:
        assert read(build / "status") == b"running\n"
        os.listdir(build / "stages")
        reads += 2
    times = [entry["time"] for entry in sim.api_requests(PIPELINE_RUNNING)]
    assert reads > 50
    assert 2 <= len(times) <= 4, f"{len(times)} requests in 2.5 s with ttl=1"
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert min(gaps) >= 0.9, f"refreshed after {min(gaps):.2f} s with ttl=1"


def test_build_that_completed_is_not_fetched_after_that(mount_with, sim):
    mnt = mount_with(ttl=1).mountpoint
    status = mnt / PIPELINE_RUNNING / "3" / "status"
    read(status)
    sim.advance(60)
    wait_until(lambda: read(status) == b"completed\n", timeout=2.0,
               message="status to become completed")
    asked = len(sim.api_requests(PIPELINE_RUNNING))
    last = sim.api_requests(PIPELINE_RUNNING)[-1]["time"]
    wait_past(last, 1.5, "ttl to pass")
    assert read(status) == b"completed\n"
    assert len(sim.api_requests(PIPELINE_RUNNING)) == asked


def test_latest_follows_a_new_build_after_ttl(mount_with, sim, backend):
    mnt = mount_with(ttl=1).mountpoint
    latest = mnt / PIPELINE_SUCCESS / "latest"
    assert os.readlink(latest) == "7"
    scenario = default_test_scenario()
    builds = scenario["pipelines"][PIPELINE_SUCCESS]["builds"]
    body = dict(builds["7"]["body"], build_id="8", status="running", outcome=None)
    builds["8"] = {"body": body}
    scenario["pipelines"][PIPELINE_SUCCESS]["latest"] = "8"
    sim.set_scenario(scenario)
    wait_until(lambda: os.readlink(latest) == "8", timeout=2.0,
               message="latest to point at build 8 within ttl + 1 s")
    assert read(latest / "status") == b"running\n"
    assert read(latest / "build_id") == b"8\n"
    assert entries(mnt / PIPELINE_SUCCESS) == ["latest", "7", "8"]
    assert "8" not in build_ids_asked(sim, PIPELINE_SUCCESS, backend)   # latest's body served it


def test_latest_is_not_resolved_again_within_ttl(mount_with, sim, backend):
    mnt = mount_with(ttl=30).mountpoint
    latest = mnt / PIPELINE_SUCCESS / "latest"
    for _ in range(10):
        assert os.readlink(latest) == "7"
        assert read(latest / "outcome") == b"success\n"
    assert build_ids_asked(sim, PIPELINE_SUCCESS, backend) == [None]


# --------------------------------------------------------------------------
# Concurrency


def test_sixteen_concurrent_readers_of_a_cold_build_share_one_request(mnt, sim, backend):
    sim.latency(PIPELINE_ERROR, 0.3)
    error_msg = mnt / PIPELINE_ERROR / "12" / "stages" / "测试" / "tasks" / "unit-tests" / "error_msg"
    results = run_in_threads([lambda: read(error_msg)] * 16)
    assert results == [FAILED_TASK_ERROR_MSG.encode() + b"\n"] * 16
    assert build_ids_asked(sim, PIPELINE_ERROR, backend) == ["12"]


def test_concurrent_readers_of_latest_share_one_request(mnt, sim, backend):
    sim.latency(PIPELINE_RUNNING, 0.3)
    status = mnt / PIPELINE_RUNNING / "latest" / "status"
    results = run_in_threads([lambda: read(status)] * 16)
    assert results == [b"running\n"] * 16
    assert build_ids_asked(sim, PIPELINE_RUNNING, backend) == [None]


PARALLEL_BUILDS = [str(number) for number in range(101, 109)]


def with_many_builds():
    """The default scenario, PIPELINE_SUCCESS with builds 101..108 besides 6 and 7."""
    scenario = default_test_scenario()
    builds = scenario["pipelines"][PIPELINE_SUCCESS]["builds"]
    for build_id in PARALLEL_BUILDS:
        builds[build_id] = {"body": dict(builds["7"]["body"], build_id=build_id)}
    return scenario


def test_concurrent_reads_of_different_builds_run_in_parallel(mnt, sim):
    # Eight builds of one pipeline: their lookups are in one directory, which
    # the kernel serialises unless the daemon asks for parallel lookups, and
    # the daemon fetches a build inside its lookup.  One by one takes 8 s.
    sim.set_scenario(with_many_builds())
    sim.latency("*", 1.0)
    paths = [mnt / PIPELINE_SUCCESS / build_id / "build_id" for build_id in PARALLEL_BUILDS]
    started = time.monotonic()
    results = run_in_threads([lambda path=path: read(path) for path in paths])
    elapsed = time.monotonic() - started
    assert results == [f"{build_id}\n".encode() for build_id in PARALLEL_BUILDS]
    assert elapsed < scaled(2.5), f"eight 1 s requests took {elapsed:.2f} s: not in parallel"
    arrivals = sorted(entry["time"] for entry in sim.requests())
    assert len(arrivals) == len(PARALLEL_BUILDS)
    assert arrivals[-1] - arrivals[0] < scaled(0.9), \
        "a request waited for another one's answer before it was sent"


def test_hanging_request_does_not_block_another_build(mnt, sim):
    sim.fault(kind="hang", pipeline_id=PIPELINE_RUNNING)
    outcome = {}

    def read_hung():
        try:
            outcome["data"] = read(mnt / PIPELINE_RUNNING / "3" / "status")
        except OSError as error:
            outcome["errno"] = error.errno
    hung = threading.Thread(target=read_hung, daemon=True)
    hung.start()
    wait_until(lambda: sim.api_requests(PIPELINE_RUNNING), message="the hung request")

    started = time.monotonic()
    assert read(mnt / PIPELINE_SUCCESS / "7" / "status") == b"completed\n"
    assert read(mnt / PIPELINE_ERROR / "12" / "outcome") == b"error\n"
    assert time.monotonic() - started < scaled(2.0)
    assert hung.is_alive(), "the read of the hung build should still be waiting"

    sim.clear_faults()                     # the simulator closes the held connection
    hung.join(scaled(15))
    assert not hung.is_alive()
    assert outcome == {"errno": errno.EIO}


def test_hung_request_fails_with_eio_after_timeout(mount_with, sim):
    mnt = mount_with(timeout=2).mountpoint
    sim.fault(kind="hang", pipeline_id=PIPELINE_SUCCESS)
    started = time.monotonic()
    with pytest.raises(OSError) as error:
        read(mnt / PIPELINE_SUCCESS / "7" / "status")
    elapsed = time.monotonic() - started
    assert error.value.errno == errno.EIO
    # timeout is a hard bound on a read: within timeout + 1 s
    assert 1.5 <= elapsed < scaled(3.0), f"failed after {elapsed:.2f} s with timeout=2"
    sim.clear_faults()
    # the failure backs off: readers get EIO at once until the retry
    readable_again(mnt / PIPELINE_SUCCESS / "7" / "status", b"completed\n")
