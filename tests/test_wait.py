"""Issue 7 item 3: MOUNT/<p>/<b>/wait, a read that blocks until the build completes.

Each requirement of the item has a test: a completed build answers at once;
a running one blocks, is refreshed every ttl (one request per build per ttl
however many wait) and answers its outcome when it completes; latest/wait
stays on the build latest named at open; 1000 waiters on 100 builds hold no
thread of the daemon; a signal ends a wait at once (EINTR) and the daemon
forgets it; a build that disappears fails it with ENOENT; a failing service
does not end it; unmount and SIGTERM end it and the daemon exits 0; cat,
grep -q, shell read and Python's open().read() all work; and wait is not
listed, so tools that walk directories never block on it.

Readers that block are subprocesses (killed at teardown) or daemon threads,
so a daemon breaking a promise fails the test instead of hanging it.  The
daemon's own count of waiters (pipelinefs_waiters in .pipelinefs/metrics)
tells when a reader is parked; the simulator's request log tells when the
daemon asked again.  Completion is the simulator's clock moving past the
build's timeline step (sim.advance).

Backends: what a wait answers and when (outcomes, blocking until completed,
refreshes per ttl, latest, a build that disappears) runs on v3 and v5
(BOTH_BACKENDS): it rests on the status and outcome each API maps to.  The
waiter machinery itself (threads, signals, unmount, the tools reading it, a
failing transport) is the daemon's whatever the API: v3 only.
"""

import copy
import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import (ALL_LISTED, BOTH_BACKENDS, PIPELINE_ERROR, PIPELINE_RUNNING, PIPELINE_SUCCESS,
                      answered_since, default_test_scenario, health, in_mount_table, metrics,
                      read, scaled, v3_only, wait_until, waiters)

pytestmark = BOTH_BACKENDS
SINGLE = "the waiters' machinery, the same whatever the API"

TTL = 1
SUCCESS = b"success\n"
PIPELINE_OTHER = "7e1a3c5b9d0f42e4a6c8e0b2d4f6a8c0"    # builds 1 (aborted), 2 (no outcome)
PIPELINE_MANY = "1f3e5d7c9b0a42e4a6c8e0b2d4f6a8c1"     # 100 running builds (many_running)


def completed_as(outcome, build_id):
    build = copy.deepcopy(default_test_scenario()["pipelines"][PIPELINE_ERROR]["builds"]["12"])
    build["body"].update(pipeline_id=PIPELINE_OTHER, build_id=build_id, outcome=outcome)
    return build


@pytest.fixture
def scenario():
    """The default scenario, plus PIPELINE_OTHER: build 1 aborted, build 2 with no outcome."""
    scenario = default_test_scenario()
    scenario["pipelines"][PIPELINE_OTHER] = {"builds": {"1": completed_as("aborted", "1"),
                                                        "2": completed_as(None, "2")}}
    return scenario


def mount_ttl(mount_factory, sim, tmp_path, **options):
    return mount_factory(sim.url, tmp_path / "mnt",
                         {"ttl": TTL, "prefetch": 0, **ALL_LISTED, **options})


def running_wait(mnt):
    return mnt / PIPELINE_RUNNING / "3" / "wait"


class Reader(threading.Thread):
    """open(path).read() on a daemon thread: .result (bytes, or the errno) once done."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.result = None
        self.ended = None
        self.start()

    def run(self):
        try:
            with open(self.path, "rb") as file:
                self.result = file.read()
        except OSError as error:
            self.result = error.errno
        self.ended = time.monotonic()

    def outcome(self, timeout, what="the wait"):
        """The result, failing if the read has not returned within timeout (nominal)."""
        self.join(scaled(timeout))
        assert not self.is_alive(), f"{what} did not return within {scaled(timeout):g} s"
        return self.result


def parked(mnt, count=1):
    """Wait until the daemon counts count readers waiting (pipelinefs_waiters)."""
    wait_until(lambda: waiters(mnt) == count, timeout=10,
               message=f"{count} waiter(s) in pipelinefs_waiters")


def refreshed_twice(sim):
    """Wait for two more answers about PIPELINE_RUNNING build 3 (the daemon keeps a
    waited-on build fresh by itself: nothing else reads it)."""
    for _ in range(2):
        answered_since(sim, time.time(), PIPELINE_RUNNING, "3")


def network_errors(mnt):
    """pipelinefs_requests_total{result="network_error"}, summed over its statuses."""
    return sum(value for (name, labels), value in metrics(mnt).items()
               if name == "pipelinefs_requests_total" and ("result", "network_error") in labels)


# --------------------------------------------------------------------------
# Found by name, not listed; a completed build answers at once


@pytest.mark.parametrize("pipeline_id, build_id", [(PIPELINE_SUCCESS, "7"),
                                                   (PIPELINE_RUNNING, "3")],
                         ids=["completed", "running"])
def test_wait_is_found_by_name_but_not_listed(mnt, pipeline_id, build_id):
    build = mnt / pipeline_id / build_id
    assert "wait" not in os.listdir(build)
    info = os.stat(build / "wait")
    # a completed build's answer has its true size; an unfinished build's
    # wait claims a page, what the kernel may read (the answer is shorter)
    expected = len(b"success\n") if build_id == "7" else 4096
    assert stat.S_ISREG(info.st_mode) and info.st_size == expected


OUTCOMES = {"success": (PIPELINE_SUCCESS, "7", b"success\n"),
            "error": (PIPELINE_ERROR, "12", b"error\n"),
            "aborted": (PIPELINE_OTHER, "1", b"aborted\n"),
            "no outcome": (PIPELINE_OTHER, "2", b"unknown\n")}


@pytest.mark.parametrize("pipeline_id, build_id, expected", OUTCOMES.values(),
                         ids=OUTCOMES.keys())
def test_a_completed_build_answers_its_outcome_at_once(mnt, pipeline_id, build_id, expected,
                                                      backend):
    if backend == "v5" and expected == b"unknown\n":
        expected = SUCCESS          # the simulator serves completed, no outcome, as COMPLETED
    build = mnt / pipeline_id / build_id
    assert read(build / "status") == b"completed\n"           # cached
    started = time.monotonic()
    assert read(build / "wait") == expected
    assert time.monotonic() - started < scaled(0.5)


def test_grep_gate_fails_at_once_on_a_failed_build(mnt):
    result = subprocess.run(["sh", "-c", 'grep -qx success "$1" && echo deploy', "sh",
                             str(mnt / PIPELINE_ERROR / "12" / "wait")],
                            capture_output=True, text=True, timeout=scaled(5))
    assert (result.returncode, result.stdout) == (1, "")


# --------------------------------------------------------------------------
# A running build: blocks, kept fresh, answers when it completes


def test_a_running_build_blocks_until_it_completes_then_answers_its_outcome(
        sim, mount_factory, tmp_path):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    reader = Reader(running_wait(mnt))
    parked(mnt)
    refreshed_twice(sim)
    assert reader.is_alive(), f"the wait returned {reader.result!r} while the build runs"
    sim.advance(30)                               # a change, not completion
    refreshed_twice(sim)
    assert reader.is_alive(), f"the wait returned {reader.result!r} at a stage's change"
    advanced = time.monotonic()
    sim.advance(30)
    assert reader.outcome(TTL + 2) == SUCCESS
    assert reader.ended - advanced <= TTL + scaled(1), \
        f"returned {reader.ended - advanced:.1f} s after the build completed (ttl {TTL})"
    wait_until(lambda: waiters(mnt) == 0, timeout=2, message="no waiter left")


def test_latest_wait_stays_on_the_build_latest_named_at_open(sim, mount_factory, tmp_path,
                                                            scenario):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    latest = mnt / PIPELINE_RUNNING / "latest"
    reader = Reader(latest / "wait")
    parked(mnt)
    failed = copy.deepcopy(default_test_scenario()["pipelines"][PIPELINE_ERROR]["builds"]["12"])
    failed["body"].update(pipeline_id=PIPELINE_RUNNING, build_id="4")
    scenario["pipelines"][PIPELINE_RUNNING] = {"latest": "4", "builds": {
        "3": scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"], "4": failed}}
    sim.set_scenario(scenario)
    wait_until(lambda: os.readlink(latest) == "4", timeout=TTL + 3,
               message="latest to move to the completed build 4")
    refreshed_twice(sim)
    assert reader.is_alive(), f"latest/wait followed latest to 4: {reader.result!r}"
    sim.advance(60)
    assert reader.outcome(TTL + 2) == SUCCESS


def test_one_request_per_build_per_ttl_however_many_wait(sim, mount_factory, tmp_path):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    readers = [Reader(running_wait(mnt)) for _ in range(25)] + \
        [Reader(mnt / PIPELINE_RUNNING / "latest" / "wait") for _ in range(25)]
    parked(mnt, 50)
    mark = time.time()
    wait_until(lambda: len(sim.requests_since(mark, PIPELINE_RUNNING, "3")) >= 5,
               timeout=5 * TTL + 3, message="5 refreshes of build 3")
    times = sorted(entry["time"] for entry in sim.requests_since(mark, PIPELINE_RUNNING, "3"))
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert min(gaps) >= 0.8 * TTL, f"requests {[round(gap, 2) for gap in gaps]} s apart"
    sim.advance(60)
    assert [reader.outcome(TTL + 3) for reader in readers] == [SUCCESS] * 50


# --------------------------------------------------------------------------
# 1000 waiters on 100 running builds hold no thread of the daemon

WAITERS_SCRIPT = textwrap.dedent("""\
    import json, sys, threading
    threading.stack_size(256 * 1024)
    paths = sys.argv[1:]
    results = [None] * len(paths)
    def wait(index):
        try:
            with open(paths[index], "rb") as file:
                results[index] = file.read().decode()
        except OSError as error:
            results[index] = error.errno
    threads = [threading.Thread(target=wait, args=(index,)) for index in range(len(paths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(results))
""")


def many_running(count):
    """PIPELINE_MANY with builds 1..count like build 3 (completed at 60 s), latest count."""
    template = default_test_scenario()["pipelines"][PIPELINE_RUNNING]["builds"]["3"]
    builds = {}
    for number in range(1, count + 1):
        build = copy.deepcopy(template)
        build["body"].update(pipeline_id=PIPELINE_MANY, build_id=str(number))
        builds[str(number)] = build
    return {"builds": builds}


def thread_count(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as file:
        return int(next(line for line in file if line.startswith("Threads:")).split()[1])


def timed(path):
    started = time.monotonic()
    result = read(path)
    return result, time.monotonic() - started


@v3_only(SINGLE)
def test_1000_waiters_on_100_builds_hold_no_thread_and_all_return(
        sim_factory, mount_factory, tmp_path, processes):
    scenario = default_test_scenario()
    scenario["pipelines"][PIPELINE_MANY] = many_running(100)
    sim = sim_factory(scenario)
    ttl = 2
    mount = mount_factory(sim.url, tmp_path / "mnt", {"ttl": ttl, "prefetch": 0, **ALL_LISTED})
    mnt = mount.mountpoint
    paths = [mnt / PIPELINE_MANY / str(1 + index % 100) / "wait" for index in range(1000)]
    groups = [processes.start([sys.executable, "-c", WAITERS_SCRIPT, *paths[start:start + 250]])
              for start in range(0, 1000, 250)]
    wait_until(lambda: waiters(mnt) == 1000, timeout=30, message="1000 waiters parked")
    assert all(group.poll() is None for group in groups)
    # libfuse's threads are at most max_threads (64 by default), the
    # workers max_requests (8), the daemon's own and glib's a handful (76
    # seen): 1000 waiters holding threads would be far more
    assert thread_count(mount.pid) < 100, "waiters hold threads of the daemon"
    for path in (mnt / PIPELINE_ERROR / "12" / "status",          # a request
                 mnt / PIPELINE_ERROR / "12" / "outcome",         # cached
                 mnt / PIPELINE_SUCCESS / "latest" / "status"):   # latest call, then a build
        result, elapsed = timed(path)
        assert result in (b"completed\n", b"error\n") and elapsed < scaled(1), \
            f"{path} took {elapsed:.2f} s with 1000 waiters"
    mark = time.time()
    wait_until(lambda: time.time() > mark + 2 * ttl, timeout=2 * ttl + 5, message="2 ttl")
    requests = sim.requests_since(mark, PIPELINE_MANY)
    assert len(requests) <= 100 * 3, f"{len(requests)} requests in 2 ttl for 100 builds"
    advanced = time.monotonic()
    sim.advance(60)
    outputs = []
    for group in groups:
        try:
            out, err = group.communicate(timeout=scaled(ttl + 10))
        except subprocess.TimeoutExpired:
            pytest.fail(f"waiters still blocked {ttl + 10} s after the builds completed; "
                        f"{waiters(mnt)} parked")
        assert group.returncode == 0, err
        outputs += json.loads(out)
    elapsed = time.monotonic() - advanced
    assert outputs == ["success\n"] * 1000
    assert elapsed <= ttl + scaled(5), f"the last waiter returned {elapsed:.1f} s after"
    assert waiters(mnt) == 0


# --------------------------------------------------------------------------
# Signals, a build that disappears, a failing service


INTERRUPTIBLE_READER = textwrap.dedent("""\
    import sys
    try:
        open(sys.argv[1], "rb").read()
    except KeyboardInterrupt:       # read() failed with EINTR, then the handler raised
        print("interrupted")
        sys.exit(3)
    print("returned")
""")


@v3_only(SINGLE)
@pytest.mark.parametrize("reader", ["cat", "python"])
def test_sigint_ends_a_waiting_reader_at_once_and_the_daemon_forgets_it(
        sim, mount_factory, tmp_path, processes, reader):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    path = running_wait(mnt)
    # either way the kernel sends the daemon an INTERRUPT and the read returns
    # only when the daemon answers it: cat then dies of the signal, Python
    # sees EINTR and runs its handler (KeyboardInterrupt)
    command = ["cat", path] if reader == "cat" else [sys.executable, "-c",
                                                       INTERRUPTIBLE_READER, path]
    process = processes.start(command)
    parked(mnt)
    process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=scaled(1))
    except subprocess.TimeoutExpired:
        pytest.fail(f"{reader} still waiting 1 s after SIGINT")
    if reader == "cat":
        assert process.returncode == -signal.SIGINT
    else:
        assert (process.returncode, out) == (3, b"interrupted\n")
    wait_until(lambda: waiters(mnt) == 0, timeout=2, message="the daemon to forget the waiter")
    assert health(mnt)["waiters"] == "0"
    sim.advance(60)
    wait_until(lambda: read(mnt / PIPELINE_RUNNING / "3" / "status") == b"completed\n",
               timeout=TTL + 3, message="the build completed")
    assert read(running_wait(mnt)) == SUCCESS


GONE = ["404", "removed from the service"]


@pytest.mark.parametrize("how", GONE)
def test_a_build_that_disappears_fails_the_wait_with_enoent(sim, mount_factory, tmp_path,
                                                            scenario, how):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    reader = Reader(running_wait(mnt))
    parked(mnt)
    if how == "404":
        sim.fault(kind="status", status=404, pipeline_id=PIPELINE_RUNNING, build_id="3")
    else:
        other = copy.deepcopy(scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"])
        other["body"]["build_id"] = "4"
        scenario["pipelines"][PIPELINE_RUNNING] = {"builds": {"4": other}}
        sim.set_scenario(scenario)        # build 3 is now answered 400 DEVPIPE.00011104
    assert reader.outcome(TTL + 2) == errno.ENOENT
    sim.clear_faults()
    wait_until(lambda: waiters(mnt) == 0, timeout=2, message="no waiter left")


def failed_requests(sim, moment):
    return [entry for entry in sim.requests_since(moment, PIPELINE_RUNNING, "3")
            if entry["status"] != 200]


@v3_only(SINGLE)
@pytest.mark.parametrize("failure", ["503", "close", "dead server"])
def test_a_failing_service_does_not_end_the_wait(sim, mount_factory, tmp_path, failure):
    mnt = mount_ttl(mount_factory, sim, tmp_path, timeout=2).mountpoint
    reader = Reader(running_wait(mnt))
    parked(mnt)
    moment = time.time()
    if failure == "dead server":
        sim.stop()
        before = network_errors(mnt)
        wait_until(lambda: network_errors(mnt) >= before + 2, timeout=TTL + 8,
                   message="2 failed refreshes")
    else:
        kind = {"kind": "status", "status": 503} if failure == "503" else {"kind": "close"}
        sim.fault(pipeline_id=PIPELINE_RUNNING, **kind)
        wait_until(lambda: len(failed_requests(sim, moment)) >= 2, timeout=TTL + 8,
                   message="2 failed refreshes")
    assert reader.is_alive(), f"the wait ended with {reader.result!r} on a failing service"
    assert waiters(mnt) == 1
    if failure == "dead server":
        sim.restart()
    else:
        sim.clear_faults()
    sim.advance(60)
    assert reader.outcome(TTL + 10, "the wait after the service recovered") == SUCCESS


# --------------------------------------------------------------------------
# Unmount and SIGTERM while readers wait


@v3_only(SINGLE)
@pytest.mark.parametrize("how", ["fusermount3 -u -z", "SIGTERM"])
def test_unmount_or_sigterm_ends_the_waiters_and_the_daemon_exits_0(
        sim, mount_factory, tmp_path, processes, how):
    mount = mount_ttl(mount_factory, sim, tmp_path)
    mnt = mount.mountpoint
    cats = [processes.start(["cat", path]) for path in
            [running_wait(mnt)] * 4 + [mnt / PIPELINE_RUNNING / "latest" / "wait"]]
    parked(mnt, 5)
    started = time.monotonic()
    if how == "SIGTERM":
        mount.proc.send_signal(signal.SIGTERM)
    else:
        result = subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True,
                                text=True, timeout=scaled(10))
        assert result.returncode == 0, result.stderr
    for cat in cats:
        try:
            cat.wait(scaled(2))
        except subprocess.TimeoutExpired:
            pytest.fail(f"a waiting cat still there 2 s after {how}")
        assert cat.returncode != 0
    assert mount.wait_exit(3) == 0
    assert time.monotonic() - started <= scaled(3)
    assert not in_mount_table(mnt)


# --------------------------------------------------------------------------
# The tools a script uses


TOOLS = {
    "cat": (["cat", "{wait}"], 0, b"success\n"),
    "grep -qx": (["grep", "-qx", "success", "{wait}"], 0, b""),
    "grep gate": (["sh", "-c", 'grep -qx success "$1" && echo deploy', "sh", "{wait}"], 0,
                  b"deploy\n"),
    "shell read": (["sh", "-c", 'read -r outcome < "$1" && echo "got $outcome"', "sh", "{wait}"],
                   0, b"got success\n"),
    "bash read": (["bash", "-c", 'read -r outcome < "$1"; echo "got $outcome"', "bash",
                   "{wait}"], 0, b"got success\n"),
    "python": ([sys.executable, "-c", 'import sys; print(open(sys.argv[1]).read(), end="")',
                "{wait}"], 0, b"success\n"),
    "head -n1": (["head", "-n1", "{wait}"], 0, b"success\n"),
}


@v3_only(SINGLE)
@pytest.mark.parametrize("command, status, output", TOOLS.values(), ids=TOOLS.keys())
def test_tools_wait_for_a_running_build(sim, mount_factory, tmp_path, processes, command,
                                        status, output):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    process = processes.start([str(running_wait(mnt)) if part == "{wait}" else part
                               for part in command])
    parked(mnt)
    assert process.poll() is None
    sim.advance(60)
    try:
        out, err = process.communicate(timeout=scaled(TTL + 2))
    except subprocess.TimeoutExpired:
        pytest.fail("still waiting after the build completed")
    assert (process.returncode, out) == (status, output), err


@v3_only(SINGLE)
def test_reading_wait_again_after_its_answer_gives_end_of_file(mnt):
    with open(mnt / PIPELINE_ERROR / "12" / "wait", "rb", buffering=0) as file:
        assert file.read(100) == b"error\n"
        started = time.monotonic()
        assert file.read(100) == b""
        assert time.monotonic() - started < scaled(0.5)
