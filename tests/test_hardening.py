"""Issue 6 (hardening): a test for each promise the daemon must keep under faults.

One section per item of the issue: 1 parallel lookups, 2 interruptible
readers, 3 timeout as a hard bound, 4 a token file that cannot block, 5 no
request storms, 6 stale-if-error, 10 bounded bookkeeping, 11 logs and names,
12 lazy unmount.  (7, 8 and 9 are in the listing tests; the fault matrix is
test_fault_matrix.py.)

Time bounds are behaviour bounds ("within timeout + 1 s", "about one round
trip, not N"), with every slack multiplied by scaled(); request counts come
from the simulator's log.  Readers that may block are `cat` processes or
threads, so that a daemon breaking a promise fails the test instead of
hanging it.

Backends: the promises are the daemon's, the same whatever the API, so they
run on v3; those that rest on the build call and its body (parallel cold
reads, storms and stale-if-error against bad 200 answers, a latest answer
without a usable id, a build the service says is gone) also run on v5
(@BOTH_BACKENDS), with v5 bodies about another build or pipeline.
"""

import copy
import errno
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import (ALL_LISTED, ANY, BOTH_BACKENDS, PIPELINE_ERROR, PIPELINE_NULLS,
                      PIPELINE_RUNNING, PIPELINE_SUCCESS, TEST_TOKEN, default_test_scenario,
                      log_lines, read, readable_again, run_in_threads, scaled, wait_past,
                      wait_until)

MiB = 1024 * 1024
SIZE_LIMIT = 16 * MiB                 # the daemon's limit on one answer
SOCKET_BUFFERS = 12 * MiB             # what loopback send and receive buffers can hold
COMPLETED = b"completed\n"
RUNNING = b"running\n"


# --------------------------------------------------------------------------
# Helpers


def attempt(path):
    """(the file's bytes, or the errno reading it failed with; seconds it took)."""
    started = time.monotonic()
    try:
        result = read(path)
    except OSError as error:
        result = error.errno
    return result, time.monotonic() - started


class Reader(threading.Thread):
    """attempt(path) on a daemon thread; .result and .elapsed once it is done."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.result = self.elapsed = None
        self.start()

    def run(self):
        self.result, self.elapsed = attempt(self.path)

    def finish(self, timeout):
        """Wait up to timeout; False if the read is still blocked."""
        self.join(timeout)
        return not self.is_alive()


def start_cat(path):
    return subprocess.Popen(["cat", str(path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def process_state(pid):
    """The state letter of /proc/PID/stat ("D" = uninterruptible), or "gone"."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as file:
            return file.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def end_processes(processes):
    """Kill and reap processes a test started (a no-op for those already gone)."""
    for process in processes:
        if process.poll() is None:
            process.kill()
    for process in processes:
        try:
            process.wait(scaled(10))
        except subprocess.TimeoutExpired:
            pass


def wait_for_requests(sim, pipeline_id, build_id=ANY, count=1):
    """Wait until the simulator has seen count requests for pipeline_id (and build_id)."""
    return wait_until(lambda: len(sim.api_requests(pipeline_id, build_id)) >= count,
                      timeout=5,
                      message=f"{count} request(s) for {pipeline_id} build {build_id}")


def completed_build(pipeline_id, build_id):
    """A completed build of the default scenario, renamed."""
    build = copy.deepcopy(default_test_scenario()["pipelines"][PIPELINE_ERROR]["builds"]["12"])
    build["body"].update(pipeline_id=pipeline_id, build_id=build_id)
    return build


def scenario_with(**pipelines):
    """The default scenario plus pipelines {id: {"builds": ...}}."""
    scenario = default_test_scenario()
    scenario["pipelines"].update(pipelines)
    return scenario


def mount_of(mount_factory, tmp_path, sim, **options):
    """A mount of sim with prefetch off (request counts are the test's own), then options."""
    return mount_factory(sim.url, tmp_path / "mnt", {"prefetch": 0, **options})


# --------------------------------------------------------------------------
# 1. Lookups run in parallel


@BOTH_BACKENDS
def test_cold_reads_of_8_pipelines_cost_about_one_round_trip_not_8(sim_factory, mount_factory,
                                                                   tmp_path):
    ids = [f"a{number:031x}" for number in range(8)]
    sim = sim_factory(scenario_with(**{pipeline_id: {"builds": {
        "1": completed_build(pipeline_id, "1")}} for pipeline_id in ids}))
    latency = scaled(1)
    sim.latency("*", latency)
    mnt = mount_of(mount_factory, tmp_path, sim).mountpoint      # not listed: unknown ids
    started = time.monotonic()
    results = run_in_threads([lambda pipeline_id=pipeline_id:
                              read(mnt / pipeline_id / "latest" / "status")
                              for pipeline_id in ids])
    elapsed = time.monotonic() - started
    assert results == [COMPLETED] * 8
    arrivals = sorted(entry["time"] for entry in sim.requests())
    # one after another they would arrive a latency apart and take 8 latencies
    assert arrivals[-1] - arrivals[0] < 0.9 * latency, \
        f"the service saw the requests {[round(t - arrivals[0], 2) for t in arrivals]} s apart"
    assert elapsed < 1.8 * latency, f"8 cold reads took {elapsed:.1f} s at {latency} s latency"


def test_healthy_builds_do_not_wait_behind_a_hung_sibling(sim_factory, mount_factory, tmp_path):
    builds = {str(number): completed_build(PIPELINE_SUCCESS, str(number))
              for number in range(1, 21)}
    scenario = default_test_scenario()
    scenario["pipelines"][PIPELINE_SUCCESS] = {"latest": "20", "builds": builds}
    sim = sim_factory(scenario)
    timeout = 3
    mnt = mount_of(mount_factory, tmp_path, sim, timeout=timeout, max_requests=32,
                   **ALL_LISTED).mountpoint
    sim.fault(kind="hang", pipeline_id=PIPELINE_SUCCESS, build_id="20")
    hung = Reader(mnt / PIPELINE_SUCCESS / "20" / "status")
    wait_for_requests(sim, PIPELINE_SUCCESS, "20")       # the hang is held before the others start
    latency = scaled(0.5)
    sim.latency(PIPELINE_SUCCESS, latency)
    started = time.monotonic()
    results = run_in_threads([lambda number=number: attempt(mnt / PIPELINE_SUCCESS / str(number)
                                                            / "status")
                              for number in range(1, 20)])
    elapsed = time.monotonic() - started
    assert [result for result, _ in results] == [COMPLETED] * 19
    assert elapsed < latency + scaled(1), \
        f"19 healthy reads took {sorted(round(seconds, 1) for _, seconds in results)} s"
    assert hung.finish(timeout + scaled(1) + scaled(5)), "the hung read never returned"
    assert hung.result == errno.EIO
    assert hung.elapsed <= timeout + scaled(1), f"the hung read took {hung.elapsed:.1f} s"
    sim.clear_faults()


# --------------------------------------------------------------------------
# 2. A reader blocked on a request is released at once when signalled


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_reader_blocked_on_a_hung_request_ends_at_once_when_signalled(
        sim, mount_factory, tmp_path, sig):
    mnt = mount_of(mount_factory, tmp_path, sim, timeout=10, **ALL_LISTED).mountpoint
    sim.fault(kind="hang", pipeline_id=PIPELINE_SUCCESS, build_id="7")
    cat = start_cat(mnt / PIPELINE_SUCCESS / "7" / "status")
    try:
        wait_for_requests(sim, PIPELINE_SUCCESS, "7")
        cat.send_signal(sig)
        try:
            status = cat.wait(scaled(1))
        except subprocess.TimeoutExpired:
            pytest.fail(f"cat still there 1 s after {sig.name}, "
                        f"in state {process_state(cat.pid)} (D = uninterruptible)")
        assert status != 0
        assert read(mnt / PIPELINE_ERROR / "12" / "outcome") == b"error\n"
    finally:
        end_processes([cat])
        sim.clear_faults()


def test_interrupted_readers_request_goes_on_and_its_answer_is_cached(sim, mount_factory,
                                                                       tmp_path):
    mnt = mount_of(mount_factory, tmp_path, sim, timeout=10, **ALL_LISTED).mountpoint
    sim.latency(PIPELINE_SUCCESS, scaled(3))
    cat = start_cat(mnt / PIPELINE_SUCCESS / "7" / "status")
    try:
        wait_for_requests(sim, PIPELINE_SUCCESS, "7")
        cat.send_signal(signal.SIGINT)
        try:
            cat.wait(scaled(1))
        except subprocess.TimeoutExpired:
            pytest.fail(f"cat still there 1 s after SIGINT, in state {process_state(cat.pid)}")
    finally:
        end_processes([cat])
    wait_until(lambda: sim.api_requests(PIPELINE_SUCCESS, "7")[0]["status"] == 200,
               timeout=3 + 5, message="the slow answer")
    sim.latency(PIPELINE_SUCCESS, 0)
    assert read(mnt / PIPELINE_SUCCESS / "7" / "status") == COMPLETED
    assert len(sim.api_requests(PIPELINE_SUCCESS, "7")) == 1, \
        "the interrupted reader's answer was not kept: the next read asked again"


# --------------------------------------------------------------------------
# 3. `timeout` bounds a read whatever it waits for in a row


def test_retry_after_then_a_hang_still_ends_within_timeout(sim, mount_factory, tmp_path):
    timeout = 3
    mnt = mount_of(mount_factory, tmp_path, sim, timeout=timeout, **ALL_LISTED).mountpoint
    sim.fault(kind="status", status=429, headers={"Retry-After": "2"},
              pipeline_id=PIPELINE_SUCCESS, build_id="7", count=1)
    sim.fault(kind="hang", pipeline_id=PIPELINE_SUCCESS, build_id="7")
    result, elapsed = attempt(mnt / PIPELINE_SUCCESS / "7" / "status")
    sim.clear_faults()
    assert result == errno.EIO
    assert elapsed <= timeout + scaled(1), f"the read took {elapsed:.1f} s with timeout={timeout}"


def test_waiting_for_a_free_slot_counts_against_timeout(sim, mount_factory, tmp_path):
    timeout = 3
    mnt = mount_of(mount_factory, tmp_path, sim, timeout=timeout, max_requests=1,
                   **ALL_LISTED).mountpoint
    sim.fault(kind="hang", pipeline_id=PIPELINE_SUCCESS)
    first = Reader(mnt / PIPELINE_SUCCESS / "6" / "status")
    wait_for_requests(sim, PIPELINE_SUCCESS, "6")               # holds the only slot
    second = Reader(mnt / PIPELINE_SUCCESS / "7" / "status")    # waits for it, then hangs too
    for reader in (first, second):
        assert reader.finish(timeout + scaled(1) + scaled(10)), f"{reader.path} never returned"
    sim.clear_faults()
    assert (first.result, second.result) == (errno.EIO, errno.EIO)
    assert second.elapsed <= timeout + scaled(1), \
        f"waiting for the slot, then its own request, took {second.elapsed:.1f} s"


# --------------------------------------------------------------------------
# 4. The token file is never read in a way that blocks


def release_fifo(path):
    """Let a daemon blocked opening the FIFO at path go (it reads end-of-file)."""
    for _ in range(3):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            return


def new_token_lines(mount, before):
    """Lines about the token logged after the first `before` lines, bar rotations
    and the line at start naming the source of the credentials.

    The mountpoint is left out: tmp_path holds the test's name, which may say "token".
    """
    lines = mount.log().replace(str(mount.mountpoint), "MNT").splitlines()[before:]
    return [line for line in lines
            if "token" in line.lower() and "using the new token" not in line
            and "credentials: " not in line]


def blocked_on_a_fifo(pid):
    """Is a thread of pid waiting in open() for a FIFO's writer?"""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/wchan", encoding="ascii") as file:
                channel = file.read()
        except OSError:
            continue
        if "fifo" in channel or "partner" in channel or "pipe" in channel:
            return True
    return False


@pytest.fixture
def token_fifo_mount(sim, mount_factory, tmp_path):
    """A mount whose token file has been replaced by a FIFO after a first read."""
    mount = mount_of(mount_factory, tmp_path, sim, timeout=3, **ALL_LISTED)
    assert read(mount.mountpoint / PIPELINE_SUCCESS / "7" / "status") == COMPLETED
    fifo = mount.token_file
    os.unlink(fifo)
    os.mkfifo(fifo, 0o600)
    yield mount, len(mount.log().splitlines())
    release_fifo(fifo)


def test_token_file_replaced_by_a_fifo_keeps_the_last_token_and_says_why_once(
        token_fifo_mount, sim):
    mount, log_before = token_fifo_mount
    mnt = mount.mountpoint
    cats = [start_cat(mnt / pipeline / build / "status")
            for pipeline, build in ((PIPELINE_ERROR, "12"), (PIPELINE_NULLS, "1"))]
    try:
        for cat in cats:
            try:
                cat.wait(3 + scaled(1))
            except subprocess.TimeoutExpired:
                pytest.fail("a read blocks on the token FIFO")
        assert [cat.returncode for cat in cats] == [0, 0]
    finally:
        release_fifo(mount.token_file)
        end_processes(cats)
    assert read(mnt / PIPELINE_SUCCESS / "6" / "status") == COMPLETED
    assert len(new_token_lines(mount, log_before)) == 1, \
        f"want one line saying why the token file is not read: {new_token_lines(mount, log_before)}"


def test_sigterm_exits_promptly_with_a_token_fifo_and_readers_waiting(token_fifo_mount, sim):
    mount, log_before = token_fifo_mount
    cat = start_cat(mount.mountpoint / PIPELINE_ERROR / "12" / "status")
    try:
        wait_until(lambda: (cat.poll() is not None or blocked_on_a_fifo(mount.pid)
                            or new_token_lines(mount, log_before)),
                   timeout=5, message="the daemon to meet the FIFO")
        mount.proc.send_signal(signal.SIGTERM)
        try:
            status = mount.proc.wait(scaled(2))
        except subprocess.TimeoutExpired:
            release_fifo(mount.token_file)
            pytest.fail("pipelinefs still running 2 s after SIGTERM with a token FIFO")
        assert status == 0
    finally:
        release_fifo(mount.token_file)
        end_processes([cat])


@pytest.mark.parametrize("mode, warnings", [(0o600, 0), (0o640, 1), (0o604, 1)],
                         ids=["0600", "group-readable", "others-readable"])
def test_token_file_readable_by_others_is_warned_about_once(sim, mount_factory, tmp_path,
                                                            mode, warnings):
    token_file = tmp_path / "token-file"
    token_file.write_text(TEST_TOKEN + "\n")
    os.chmod(token_file, mode)
    mount = mount_factory(sim.url, tmp_path / "mnt", {"prefetch": 0, **ALL_LISTED},
                          token_file=token_file)
    for pipeline, build in ((PIPELINE_SUCCESS, "7"), (PIPELINE_ERROR, "12")):
        assert read(mount.mountpoint / pipeline / build / "status") == COMPLETED
    assert len(new_token_lines(mount, 0)) == warnings, mount.log()


# --------------------------------------------------------------------------
# 5. No request storms


def build_answer(backend, pipeline_id, build_id, status="completed"):
    """A 200 body of backend's build call naming pipeline_id and build_id (v5: as its
    run_number, an int where build_id is digits)."""
    if backend == "v3":
        body = {"pipeline_id": pipeline_id, "build_id": build_id, "status": status,
                "states": []}
        return body if status == "running" else {**body, "outcome": "success"}
    number = int(build_id) if isinstance(build_id, str) and build_id.isdigit() else build_id
    return {"pipeline_id": pipeline_id, "run_number": number,
            "status": "RUNNING" if status == "running" else "COMPLETED", "stages": []}


def with_backend_bodies(faults, backend):
    """faults whose "answer" (pipeline_id, build_id) becomes backend's 200 body."""
    return {name: ({"kind": "status", "status": 200,
                    "body": build_answer(backend, *fault["answer"])}
                   if "answer" in fault else fault)
            for name, fault in faults.items()}


STORMS = {
    "garbage": {"kind": "garbage"},
    "truncate": {"kind": "truncate"},
    "401": {"kind": "status", "status": 401},
    "403": {"kind": "status", "status": 403},
    "oversize": {"kind": "oversize", "size": SIZE_LIMIT + MiB},
    # a 200 about another build (a misrouted proxy) must not replace the
    # copy, nor, being "completed", stay cached for good (see with_backend_bodies)
    "another build": {"answer": (PIPELINE_RUNNING, "7")},
    "another pipeline": {"answer": (PIPELINE_ERROR, "3")},
    "an unusable build id": {"answer": (PIPELINE_RUNNING, {"x": 1})},
}


@BOTH_BACKENDS
@pytest.mark.parametrize("fault", STORMS, ids=STORMS.keys())
def test_a_read_loop_against_a_failing_answer_makes_a_handful_of_requests(
        sim, mount_factory, tmp_path, fault, backend):
    mnt = mount_of(mount_factory, tmp_path, sim, timeout=3, **ALL_LISTED).mountpoint
    sim.fault(pipeline_id=PIPELINE_SUCCESS, build_id="7",
              **with_backend_bodies(STORMS, backend)[fault])
    target = mnt / PIPELINE_SUCCESS / "7" / "status"
    reads = 0
    ends = time.monotonic() + 5       # the loop's length, not a bound: not scaled
    while time.monotonic() < ends:
        result, _ = attempt(target)
        assert result in (errno.EIO, errno.EACCES)
        reads += 1
        time.sleep(0.05)              # pacing the loop, like a shell loop's fork and exec
    sim.clear_faults()
    requests = len(sim.api_requests(PIPELINE_SUCCESS, "7"))
    # backoff from 1 s doubling, jittered x0.5..1.5: at most 5 in 5 s
    assert requests <= 6, f"{reads} reads in 5 s made {requests} requests"


def test_oversize_answer_is_cut_off_at_the_limit_and_backed_off(sim, mount_factory, tmp_path):
    mnt = mount_of(mount_factory, tmp_path, sim, timeout=10, **ALL_LISTED).mountpoint
    sim.fault(kind="oversize", size=50_000_000, pipeline_id=PIPELINE_SUCCESS, build_id="7")
    for _ in range(3):
        assert attempt(mnt / PIPELINE_SUCCESS / "7" / "status")[0] == errno.EIO
    def all_ended():
        requests = sim.api_requests(PIPELINE_SUCCESS, "7")
        return requests if requests and all(entry["ended"] for entry in requests) else None
    requests = wait_until(all_ended, timeout=10, message="the oversize answers to end")
    sent = [entry["bytes_sent"] for entry in requests]
    sim.clear_faults()
    assert max(sent) <= SIZE_LIMIT + SOCKET_BUFFERS, f"the service sent {sent} bytes"
    # three reads in a row: the second and third fall in the backoff and
    # wait for its retry (within their timeout): one request per backoff
    assert len(sent) <= 3, f"3 reads made {len(sent)} requests of {sent} bytes"
    times = sorted(entry["time"] for entry in requests)
    assert all(later - earlier >= 0.45 for earlier, later in zip(times, times[1:])), \
        f"requests {[round(t - times[0], 2) for t in times]} s apart: not backed off"


def test_401_pauses_the_mount_serves_cached_copies_and_a_new_token_ends_it(
        sim, mount_factory, tmp_path):
    mount = mount_of(mount_factory, tmp_path, sim, ttl=1, timeout=3, **ALL_LISTED)
    mnt = mount.mountpoint
    running = mnt / PIPELINE_RUNNING / "3" / "status"
    assert read(running) == RUNNING
    cached_at = sim.api_requests(PIPELINE_RUNNING)[-1]["time"]
    wait_past(cached_at, 1.3, "the running build to go stale")
    sim.fault(kind="status", status=401)
    assert attempt(mnt / PIPELINE_ERROR / "12" / "status")[0] == errno.EACCES
    sim.clear_requests()
    # paused: nothing goes out; nothing cached -> EACCES at once, cached -> the copy
    result, elapsed = attempt(mnt / PIPELINE_NULLS / "1" / "status")
    assert (result, elapsed < scaled(0.5)) == (errno.EACCES, True), (result, elapsed)
    result, elapsed = attempt(running)
    assert (result, elapsed < scaled(1.5)) == (RUNNING, True), (result, elapsed)
    assert sim.requests() == [], "requests went out during the pause"
    sim.clear_faults()
    sim.set_token("rotated-token")
    mount.token_file.write_text("rotated-token\n")        # a new token: the pause is over
    result, elapsed = attempt(mnt / PIPELINE_NULLS / "1" / "pipeline_name")
    assert result == "空值流水线\n".encode(), f"after the token file changed: {result!r} in {elapsed:.1f} s"


# --------------------------------------------------------------------------
# 6. Stale-if-error: every failed refresh serves the last good copy


UNUSABLE_200 = {
    "garbage": {"kind": "garbage"},
    "truncate": {"kind": "truncate"},
    "wrong_types": {"kind": "wrong_types"},
    "html": {"kind": "html"},
    "oversize": {"kind": "oversize", "size": SIZE_LIMIT + MiB},
    # a 200 about another build (a misrouted proxy) must not replace the
    # copy, nor, being "completed", stay cached for good (see with_backend_bodies)
    "another build": {"answer": (PIPELINE_RUNNING, "7")},
    "another pipeline": {"answer": (PIPELINE_ERROR, "3")},
    "an unusable build id": {"answer": (PIPELINE_RUNNING, {"x": 1})},
}


@BOTH_BACKENDS
@pytest.mark.parametrize("fault", UNUSABLE_200, ids=UNUSABLE_200.keys())
def test_unusable_refresh_serves_the_cached_copy(sim, mount_factory, tmp_path, fault, backend):
    mnt = mount_of(mount_factory, tmp_path, sim, ttl=1, timeout=3, **ALL_LISTED).mountpoint
    build = mnt / PIPELINE_RUNNING / "3"
    assert read(build / "status") == RUNNING
    cached_at = sim.api_requests(PIPELINE_RUNNING)[-1]["time"]
    sim.advance(60)                   # a usable answer would now say "completed"
    sim.fault(pipeline_id=PIPELINE_RUNNING, **with_backend_bodies(UNUSABLE_200, backend)[fault])
    wait_past(cached_at, 1.3, "the running build to go stale")
    results = [attempt(build / name)[0] for name in ("status", "stages/人工审核/status")]
    assert results == [RUNNING, b"waiting\n"]
    assert len(sim.api_requests(PIPELINE_RUNNING, "3")) >= 2, "no refresh was tried"
    sim.clear_faults()
    readable_again(build / "status", COMPLETED, timeout=10,
                   message="the fresh answer once the service is back")


# --------------------------------------------------------------------------
# 10. Bookkeeping is bounded


SLOT_BITS = (1 << 22) - 1


def look_up_missing(paths):
    """os.stat each path on 4 threads; each must be ENOENT."""
    def worker(part):
        for path in part:
            try:
                os.stat(path)
            except FileNotFoundError:
                continue
            raise AssertionError(f"{path} exists")
    run_in_threads([lambda part=paths[index::4]: worker(part) for index in range(4)])


def test_3000_missing_build_ids_leave_build_slots_small(sim, mount_factory, tmp_path):
    mnt = mount_of(mount_factory, tmp_path, sim, cache_size=1, **ALL_LISTED).mountpoint
    look_up_missing([mnt / PIPELINE_SUCCESS / f"x{number}" for number in range(3000)])
    assert read(mnt / PIPELINE_SUCCESS / "7" / "status") == COMPLETED
    slot = (os.stat(mnt / PIPELINE_SUCCESS / "7").st_ino >> 40) & SLOT_BITS
    assert slot < 2048, f"build slot {slot} after 3000 missing builds"


def test_3000_missing_pipeline_ids_leave_pipeline_slots_small(sim, mount_factory, tmp_path):
    mnt = mount_of(mount_factory, tmp_path, sim, cache_size=1).mountpoint
    look_up_missing([mnt / f"{number:032x}" for number in range(3000)])
    assert read(mnt / PIPELINE_SUCCESS / "7" / "status") == COMPLETED
    ino = os.stat(mnt / PIPELINE_SUCCESS).st_ino
    assert ino >> 62 == 1, f"{ino:#x} is not a pipeline directory's number"
    slot = ino & ((1 << 62) - 1)
    assert slot < 2048, f"pipeline slot {slot} after 3000 missing pipelines"


# --------------------------------------------------------------------------
# 11. C1 controls in logs and names; no secret in the log


C1_IN_TEXT = re.compile("[\x80-\x9f\udc80-\udc9f]")


def named_stage_build(pipeline_id, build_id, stage_name):
    build = completed_build(pipeline_id, build_id)
    build["body"]["states"][0]["name"] = stage_name
    return build


def test_c1_controls_in_stage_names_become_underscores(sim_factory, mount_factory, tmp_path):
    scenario = default_test_scenario()
    builds = {"1": named_stage_build(PIPELINE_SUCCESS, "1", "a\u0085b")}
    # a raw 0x9B byte, not valid UTF-8: only a raw_file carries it as is
    raw = named_stage_build(PIPELINE_SUCCESS, "2", "RAW-NAME")["body"]
    (tmp_path / "raw-9b.json").write_bytes(
        json.dumps(raw, ensure_ascii=False).encode().replace(b"RAW-NAME", b"c\x9bd"))
    builds["2"] = {"raw_file": "raw-9b.json"}
    scenario["pipelines"][PIPELINE_SUCCESS] = {"latest": "2", "builds": builds}
    sim = sim_factory(scenario)
    mnt = mount_of(mount_factory, tmp_path, sim, **ALL_LISTED).mountpoint
    names = [os.listdir(os.fsencode(mnt / PIPELINE_SUCCESS / build / "stages"))[0]
             for build in ("1", "2")]
    assert re.fullmatch(rb"a_{1,2}b", names[0]) and names[1] == b"c_d", names


def test_c1_controls_in_a_service_error_are_logged_as_question_marks(sim, mount_factory,
                                                                      tmp_path):
    mount = mount_of(mount_factory, tmp_path, sim, **ALL_LISTED)
    sim.fault(kind="status", status=500, pipeline_id=PIPELINE_SUCCESS,
              body={"error_code": "SIM.C1", "error_msg": "x\u0085y\u009bz\u0080end"})
    assert attempt(mount.mountpoint / PIPELINE_SUCCESS / "7" / "status")[0] == errno.EIO
    log = mount.log_path.read_bytes().decode("utf-8", "surrogateescape")
    assert not C1_IN_TEXT.search(log), \
        [line for line in log.splitlines() if C1_IN_TEXT.search(line)]
    assert re.search(r"x\?+y\?+z\?+end", log), log_lines(mount, "SIM.C1")


LONG_TOKEN = "tok-5f3a9c1e7b2d4068a1c3e5f7b9d0e2f4a6c8e0b2"
QUOTES = {
    "whole": LONG_TOKEN,
    "prefix-20": LONG_TOKEN[:20],
    "middle-20": LONG_TOKEN[9:29],    # spec: "nor any 16+ character piece of it"
}


@pytest.mark.parametrize("status", [401, 500])
@pytest.mark.parametrize("quoted", QUOTES.values(), ids=QUOTES.keys())
def test_service_error_quoting_the_token_is_logged_without_it(sim_factory, mount_factory,
                                                               tmp_path, status, quoted):
    sim = sim_factory(token=LONG_TOKEN)
    mount = mount_factory(sim.url, tmp_path / "mnt", {"prefetch": 0, **ALL_LISTED},
                          token=LONG_TOKEN)
    sim.fault(kind="status", status=status, pipeline_id=PIPELINE_SUCCESS,
              body={"error_code": "SIM.TOKEN", "error_msg": f"token {quoted} rejected"})
    assert attempt(mount.mountpoint / PIPELINE_SUCCESS / "7" / "status")[0] in (
        errno.EIO, errno.EACCES)
    assert log_lines(mount, "SIM.TOKEN"), "the error was not logged at all"
    log = mount.log()
    leaked = {LONG_TOKEN[start:start + 16] for start in range(len(LONG_TOKEN) - 15)
              if LONG_TOKEN[start:start + 16] in log}
    assert not leaked, f"pieces of the token in the log: {sorted(leaked)}"


# --------------------------------------------------------------------------
# 12. Lazy unmount with reads blocked


def test_lazy_unmount_with_reads_blocked_exits_within_timeout(sim, mount_factory, tmp_path):
    timeout = 3
    mount = mount_of(mount_factory, tmp_path, sim, timeout=timeout, **ALL_LISTED)
    sim.fault(kind="hang", pipeline_id=PIPELINE_SUCCESS)
    cats = [start_cat(mount.mountpoint / PIPELINE_SUCCESS / f"{number}" / "status")
            for number in range(10, 15)]
    try:
        wait_for_requests(sim, PIPELINE_SUCCESS)
        result = subprocess.run(["fusermount3", "-u", "-z", str(mount.mountpoint)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert mount.wait_exit(timeout + 1) == 0      # wait_exit scales
    finally:
        sim.clear_faults()
        end_processes(cats)


@BOTH_BACKENDS
@pytest.mark.parametrize("build_id", [{"x": 1}, "../../etc", "x/y"], ids=["object", "dots", "slash"])
def test_latest_answer_with_an_unusable_build_id_keeps_latest(sim, mount_factory, tmp_path,
                                                               build_id, backend):
    mount = mount_of(mount_factory, tmp_path, sim, ttl=1, timeout=3, **ALL_LISTED)
    latest = mount.mountpoint / PIPELINE_RUNNING / "latest"
    assert os.readlink(latest) == "3"
    answered = sim.api_requests(PIPELINE_RUNNING)[-1]["time"]
    sim.fault(kind="status", status=200, pipeline_id=PIPELINE_RUNNING, build_id=None,
              body=build_answer(backend, PIPELINE_RUNNING, build_id, "running"))
    wait_past(answered, 1.3, "the latest answer to go stale")
    assert os.readlink(latest) == "3"
    wait_until(lambda: sim.api_requests(PIPELINE_RUNNING, None)[-1]["time"] > answered,
               message="the refresh that got the unusable answer")
    assert os.readlink(latest) == "3"
    assert log_lines(mount, "unusable body", "no usable id")


@BOTH_BACKENDS
def test_a_build_the_service_says_is_gone_is_no_longer_listed(sim, mount_factory, tmp_path):
    mnt = mount_of(mount_factory, tmp_path, sim, ttl=1, timeout=3, **ALL_LISTED).mountpoint
    pipeline = mnt / PIPELINE_RUNNING
    assert read(pipeline / "3" / "status") == RUNNING
    assert "3" in os.listdir(pipeline)
    cached_at = sim.api_requests(PIPELINE_RUNNING)[-1]["time"]
    sim.fault(kind="status", status=404, pipeline_id=PIPELINE_RUNNING, build_id="3")
    wait_past(cached_at, 1.3, "the running build to go stale")
    assert attempt(pipeline / "3" / "status")[0] == errno.ENOENT
    # find and ls -la must not trip over a build that no longer exists
    assert "3" not in os.listdir(pipeline)
