"""Issue 7 (monitoring): the tools people watch builds with, through real mounts.

One section per item of the issue: 1 times that mean "changed" (find -newer,
make, rsync -ai, ls -lt, first-seen times from the API in -o timezone=),
2 events for tail -f, 4 failed/, 5 summary, 6 .pipelinefs/ (health, metrics,
summary, events, other dot-names), 8 defects (a listed pipeline the service
does not know).  Item 3 (wait) is test_wait.py.  Formats are those of the
issue's shared spec (notes/spec7.md, and the README's "Monitoring" section).

Change is made by moving the simulator's clock past a step of a build's
timeline (sim.advance), then waiting for the daemon to have seen it: a read
that shows the new value, or a line in `tail -f`.  Every upper bound is
scaled(); lower bounds ("no sooner than ttl") are not.

Backends: what the tree shows (times, events, failed/, summary, errors of a
pipeline the service does not know) runs on v3 and v5 (BOTH_BACKENDS).  v5
trees have more fields that change with a step (v5_status, *_ms, a computed
elapsed_time, steps/, logs): the v3 changes must be there, and any other
change must be one of those (v5_extra()).  v5 times are epoch ms, so they
do not move with timezone=, and its elapsed_time is end - start.  Health,
metrics, dot-names and option parsing are the daemon's own, the same
whatever the API: v3 only.
"""

import copy
import errno
import os
import pathlib
import re
import stat
import subprocess
import time

import pytest

import prometheus_text
from conftest import (ALL_LISTED, BOTH_BACKENDS, FAILED_TASK_ERROR_MSG, ISO_TIME, PIPELINE_ERROR,
                      PIPELINE_NULLS, PIPELINE_RUNNING, PIPELINE_SUCCESS, REPO, TEST_PIPELINES,
                      answered_since, api_epoch, api_time, default_test_scenario, errno_of,
                      health, iso_epoch, metric_samples, read, readable_again, scaled,
                      v3_only, wait_past, wait_until)

pytestmark = BOTH_BACKENDS
SINGLE = "the daemon's own files and options, the same whatever the API"

TTL = 1
RUNNING = b"running\n"
COMPLETED = b"completed\n"
BUILD_STAGE, BUILD_TASK = "构建", "编译"              # build 3's first stage and its task
REVIEW = "人工审核"                                  # its second stage, and that stage's task
SEED_PIPELINE = "75c562a081574ff28224fb2c123a0643"  # demo.json: the API document's example
DEMO_SCENARIO = REPO / "contrib" / "scenarios" / "demo.json"
UNKNOWN_PIPELINE = "0123456789abcdef0123456789abcdef"

# A failing running build (PIPELINE_FAILING #5, see failing_pipeline()).
PIPELINE_FAILING = "4d6f8a0c2e4b46d8a0c2e4f6a8b0c2d4"
MULTILINE_ERROR = "3 tests failed:\n\ttest_a\\b\r\nend"


# --------------------------------------------------------------------------
# Scenarios


def live_running_build(started_ago=600):
    """Build 3 of PIPELINE_RUNNING (running; stage 人工审核 verifying at 30 s; completed
    at 60 s), started started_ago seconds ago in the service's times: first-seen times
    are then in the past, whatever the machine's clock says."""
    build = copy.deepcopy(default_test_scenario()["pipelines"][PIPELINE_RUNNING]["builds"]["3"])
    start = time.time() - started_ago
    body = build["body"]
    for node in (body, body["states"][0], body["states"][0]["children"][0]):
        node["start_time"] = api_time(start)
    build["timeline"][0]["set"]["states.0.end_time"] = api_time(start + 30)
    build["timeline"][1]["set"]["end_time"] = api_time(start + 60)
    return build


def failing_pipeline():
    """PIPELINE_FAILING #5: running; at 30 s its task 单元测试 fails (a multi-line
    error_msg with a tab, a backslash and a CR); at 60 s the stage and the build fail."""
    build = copy.deepcopy(default_test_scenario()["pipelines"][PIPELINE_RUNNING]["builds"]["3"])
    body = build["body"]
    body.update(pipeline_id=PIPELINE_FAILING, pipeline_name="failing-ci", build_id="5")
    body["states"] = body["states"][:1]
    task = copy.deepcopy(body["states"][0]["children"][0])
    task.update(id="Task_9", name="单元测试",
                message_json=True)         # v5: error_msg and error_code in its message
    body["states"][0]["children"].append(task)
    build["timeline"] = [
        {"at": 30, "set": {
            "states.0.children.1.status": "completed", "states.0.children.1.outcome": "error",
            "states.0.children.1.error_code": "DEVPIPE.00011500",
            "states.0.children.1.error_msg": MULTILINE_ERROR}},
        {"at": 60, "set": {
            "states.0.status": "completed", "states.0.outcome": "error",
            "states.0.error_msg": "任务 单元测试 执行失败",
            "states.0.children.0.status": "completed", "states.0.children.0.outcome": "success",
            "status": "completed", "outcome": "error", "elapsed_time": "60000"}},
    ]
    return {"builds": {"5": build}}


@pytest.fixture
def scenario():
    """The default scenario with build 3 live (started 10 minutes ago) and PIPELINE_FAILING."""
    scenario = default_test_scenario()
    scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"] = live_running_build()
    scenario["pipelines"][PIPELINE_FAILING] = failing_pipeline()
    return scenario


def mount_ttl(mount_factory, sim, tmp_path, **options):
    """A mount with ttl=1 and prefetch off (request counts are the test's own)."""
    return mount_factory(sim.url, tmp_path / "mnt",
                         {"ttl": TTL, "prefetch": 0, **ALL_LISTED, **options})


def build_path(mnt, pipeline_id=PIPELINE_RUNNING, build_id="3"):
    return pathlib.Path(mnt) / pipeline_id / build_id


# --------------------------------------------------------------------------
# What changes in build 3 at each step of its timeline (PATH, FIELD, OLD, NEW)

STAGE = f"stages/{BUILD_STAGE}"
TASK = f"{STAGE}/tasks/{BUILD_TASK}"
REVIEW_STAGE = f"stages/{REVIEW}"
REVIEW_TASK = f"{REVIEW_STAGE}/tasks/{REVIEW}"

FIRST_SEEN = [
    (".", "status", "", "running"), (".", "outcome", "", ""),
    (STAGE, "status", "", "running"), (STAGE, "outcome", "", ""),
    (TASK, "status", "", "running"), (TASK, "outcome", "", ""),
    (REVIEW_STAGE, "status", "", "waiting"), (REVIEW_STAGE, "outcome", "", ""),
    (REVIEW_TASK, "status", "", "waiting"), (REVIEW_TASK, "outcome", "", ""),
]


def step_30(build):
    """The field changes of build 3 at 30 s (build: its scenario entry, for end times)."""
    return {
        (STAGE, "status", "running", "completed"), (STAGE, "outcome", "", "success"),
        (STAGE, "end_time", "", build["timeline"][0]["set"]["states.0.end_time"]),
        (TASK, "status", "running", "completed"), (TASK, "outcome", "", "success"),
        (REVIEW_STAGE, "status", "waiting", "verifying"),
        (REVIEW_TASK, "status", "waiting", "verifying"),
    }


def step_60(build):
    return {
        (".", "status", "running", "completed"), (".", "outcome", "", "success"),
        (".", "end_time", "", build["timeline"][1]["set"]["end_time"]),
        (".", "elapsed_time", "0", "60000"),
        (REVIEW_STAGE, "status", "verifying", "completed"),
        (REVIEW_STAGE, "outcome", "", "success"),
        (REVIEW_TASK, "status", "verifying", "completed"), (REVIEW_TASK, "outcome", "", "success"),
    }


def files_changed_by(changes):
    """The files of a build whose content changes with these field changes: the
    fields, and status.json, summary and events, which change with any of them."""
    return {field if path == "." else f"{path}/{field}" for path, field, _, _ in changes} | {
        "status.json", "summary", "events"}


def directories_above(files):
    """Every directory of the build holding one of files, the build itself as "."."""
    directories = {"."}
    for name in files:
        parts = name.split("/")[:-1]
        directories |= {"/".join(parts[:end]) for end in range(1, len(parts) + 1)}
    return directories


def see_step_30(build_dir):
    """Wait until the daemon shows build 3's step at 30 s (a read of a stale copy refreshes it)."""
    readable_again(build_dir / REVIEW_STAGE / "status", b"verifying\n", timeout=TTL + 5,
                   message="stage 人工审核 verifying")


def refresh_without_change(sim, build_dir):
    """Make the daemon ask about build 3 again (its copy is ttl old) and get the same answer."""
    moment = time.time()
    wait_past(moment, TTL, "the copy to go stale")
    assert read(build_dir / "status") == RUNNING          # a stale copy: starts a refresh
    answered_since(sim, moment, PIPELINE_RUNNING, "3")
    assert read(build_dir / "status") == RUNNING


def comes_to(produce, expected, timeout, what):
    """Wait until produce() == expected (a set); fail showing what it last was."""
    seen = []
    try:
        wait_until(lambda: seen.append(produce()) or seen[-1] == expected, timeout=timeout,
                   message=what)
    except pytest.fail.Exception:
        pytest.fail(f"{what}: want {sorted(expected)}, got {sorted(seen[-1])}")


V5_FIELDS = {"v5_status", "start_time_ms", "end_time_ms", "elapsed_time", "message", "log"}


def v5_extra(path):
    """Is path (a build's file, or PATH/FIELD of an events line) one only v5 trees
    change with a step: its own fields, a computed elapsed_time, steps and logs?"""
    return path.rsplit("/", 1)[-1] in V5_FIELDS or "/steps/" in f"/{path}"


def v3_part(backend, paths):
    """paths without v5's extra ones (all of them on v3)."""
    return set(paths) if backend == "v3" else {path for path in paths if not v5_extra(path)}


def change_lines(backend, lines):
    """(PATH, FIELD, OLD, NEW) of events lines, without v5's extra ones on v5."""
    return [change for change in changes(lines)
            if backend == "v3" or not v5_extra(f"{change[0]}/{change[1]}")]


def read_tree(root):
    """Read every file under root (what a first rsync or grep -r does)."""
    for directory, _, names in os.walk(root):
        for name in names:
            read(pathlib.Path(directory) / name)


# --------------------------------------------------------------------------
# 1. Times that mean "changed"


ZONES = {"default +08:00": (None, 8 * 3600), "UTC": ("UTC", 0), "+05:30": ("+05:30", 19800),
         "-0700": ("-0700", -7 * 3600), "Asia/Shanghai": ("Asia/Shanghai", 8 * 3600)}


@pytest.mark.parametrize("zone, offset", ZONES.values(), ids=ZONES.keys())
def test_first_seen_times_are_the_api_times_read_in_the_timezone_option(
        sim, mount_factory, tmp_path, scenario, zone, offset, backend):
    options = {} if zone is None else {"timezone": zone}
    if backend == "v5":
        offset = 8 * 3600       # epoch ms: the simulator wrote them from +08:00 times
    mnt = mount_factory(sim.url, tmp_path / "mnt", options).mountpoint
    build = mnt / PIPELINE_ERROR / "12"
    end = api_epoch("2026-11-28 09:17:15", offset)            # the build's and its stages' end
    for name in ("status", "outcome", "status.json", "stages/测试/error_msg",
                 "stages/测试/tasks/unit-tests/outcome", "stages/测试", "."):
        info = os.stat(build / name)
        assert (info.st_mtime, info.st_ctime) == (end, end), \
            f"{name}: mtime {info.st_mtime}, ctime {info.st_ctime}, want {end} ({zone})"
    # a running build's files take its start_time (no end_time yet)
    running = mnt / PIPELINE_RUNNING / "3"
    start = api_epoch(scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"]["body"]
                      ["start_time"], offset)
    assert os.stat(running / "status").st_mtime == start


@v3_only(SINGLE)
def test_an_unknown_timezone_is_refused_at_mount(sim, mount_factory, tmp_path):
    mount = mount_factory(sim.url, tmp_path / "mnt", {"timezone": "Mars/Olympus_Mons"},
                          wait=False)
    assert mount.wait_exit() != 0
    assert "timezone" in mount.log()


def test_find_newer_lists_nothing_until_a_change_then_exactly_the_changed_files(
        sim, mount_factory, tmp_path, scenario, backend):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    build_dir = build_path(mnt)
    read_tree(build_dir)
    reference = tmp_path / "reference"
    reference.touch()

    def newer(kind):
        result = subprocess.run(["find", ".", "-type", kind, "-newer", str(reference)],
                                cwd=build_dir, capture_output=True, text=True,
                                timeout=scaled(10))
        assert result.returncode == 0, result.stderr
        return {line[2:] if line.startswith("./") else line
                for line in result.stdout.splitlines()}

    refresh_without_change(sim, build_dir)
    assert (newer("f"), newer("d")) == (set(), set()), "no change, yet find -newer lists these"
    sim.advance(30)
    see_step_30(build_dir)
    changed = files_changed_by(step_30(scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"]))
    comes_to(lambda: v3_part(backend, newer("f")), changed, TTL + 1,
             "the files find -newer lists")
    directories = newer("d")
    assert directories_above(changed) <= directories, "directories above a change must be newer"
    assert "parameters" not in directories


MAKEFILE = """\
changed.out: {build}/stages/人工审核/status {build}/status.json
\tcat $^ > $@
unchanged.out: {build}/start_time {build}/stages/构建/tasks/编译/start_time
\tcat $^ > $@
"""


def test_make_rebuilds_only_what_depends_on_a_changed_file(sim, mount_factory, tmp_path):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    build_dir = build_path(mnt)
    work = tmp_path / "work"
    work.mkdir()
    (work / "Makefile").write_text(MAKEFILE.format(build=build_dir), encoding="utf-8")

    def make(*args):
        result = subprocess.run(["make", "--no-print-directory", *args,
                                 "changed.out", "unchanged.out"],
                                cwd=work, capture_output=True, text=True, timeout=scaled(10))
        assert result.returncode in (0, 1), result.stderr
        return result

    make()
    made = max(os.stat(work / name).st_mtime for name in ("changed.out", "unchanged.out"))
    refresh_without_change(sim, build_dir)
    assert make("-q").returncode == 0, f"make would rebuild with no change: {make('-n').stdout}"
    wait_past(made, 1, "a second past the targets")   # whole-second mtimes must still be newer
    sim.advance(30)
    see_step_30(build_dir)
    wait_until(lambda: make("-q").returncode == 1, timeout=TTL + 1,
               message="make to see the change")
    assert re.findall(r"> (\S+)", make("-n").stdout) == ["changed.out"]
    make()
    assert make("-q").returncode == 0
    assert (work / "changed.out").read_text(encoding="utf-8").startswith("verifying\n")


def test_rsync_twice_sends_nothing_then_exactly_the_changed_files(sim, mount_factory, tmp_path,
                                                                   scenario, backend):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    build_dir = build_path(mnt)
    copy_dir = tmp_path / "copy"

    def rsync(*options):
        result = subprocess.run(["rsync", "-ai", *options, f"{build_dir}/", f"{copy_dir}/"],
                                capture_output=True, text=True, timeout=scaled(10))
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    def sent_files(lines):
        return {line.split(" ", 1)[1] for line in lines if line.startswith(">f")}

    first = rsync()
    assert "status" in sent_files(first) and "wait" not in sent_files(first)
    assert rsync() == [], "rsync again, nothing changed"
    refresh_without_change(sim, build_dir)
    assert rsync() == [], "rsync after a refresh that changed nothing"
    sim.advance(30)
    see_step_30(build_dir)
    changed = files_changed_by(step_30(scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"]))
    comes_to(lambda: v3_part(backend, sent_files(rsync("-n"))), changed, TTL + 1,
             "the files rsync -n sends")
    lines = rsync()
    assert v3_part(backend, sent_files(lines)) == changed, lines
    assert rsync() == []
    assert (copy_dir / REVIEW_STAGE / "status").read_bytes() == b"verifying\n"


def builds_by_time(pipeline_dir):
    """The build ids of `ls -t pipeline_dir`, in its order."""
    result = subprocess.run(["ls", "-t", str(pipeline_dir)], capture_output=True, text=True,
                            timeout=scaled(10))
    assert result.returncode == 0, result.stderr
    return [name for name in result.stdout.split() if name.isdigit()]


def test_ls_t_puts_the_newest_build_first_whatever_was_read_first(mnt):
    pipeline = mnt / PIPELINE_SUCCESS
    for build in ("7", "6"):                  # 6 (Nov 27) seen last
        assert read(pipeline / build / "status") == COMPLETED
    assert builds_by_time(pipeline) == ["7", "6"]


def test_ls_t_puts_the_most_recently_active_build_first(sim_factory, mount_factory, tmp_path):
    older = live_running_build(started_ago=1200)      # changes at 30 s
    older["body"]["build_id"] = "2"
    newer = live_running_build(started_ago=600)
    newer["timeline"] = []
    scenario = default_test_scenario()
    scenario["pipelines"][PIPELINE_RUNNING] = {"latest": "3", "builds": {"2": older, "3": newer}}
    sim = sim_factory(scenario)
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    pipeline = mnt / PIPELINE_RUNNING
    for build in ("3", "2"):                  # 2 (started earlier) seen last
        assert read(pipeline / build / "status") == RUNNING
    assert builds_by_time(pipeline) == ["3", "2"]
    sim.advance(30)
    see_step_30(pipeline / "2")
    wait_until(lambda: builds_by_time(pipeline) == ["2", "3"], timeout=TTL + 1,
               message="build 2, just changed, first in ls -t")


# --------------------------------------------------------------------------
# The tools people run over a build never block on it (wait is not listed)


TREE_COMMANDS = {
    "grep -r": lambda build, tmp: ["grep", "-r", "-l", "running", build],
    "grep -r latest/": lambda build, tmp: ["grep", "-r", "-l", "running",
                                           f"{build.parent}/latest/"],
    "find": lambda build, tmp: ["find", build, "-type", "f"],
    "cp -r": lambda build, tmp: ["cp", "-r", build, tmp / "copy"],
    "tar": lambda build, tmp: ["tar", "-cf", tmp / "build.tar", "-C", build.parent, build.name],
    "ls -laR": lambda build, tmp: ["ls", "-laR", build],
    "rsync -a": lambda build, tmp: ["rsync", "-a", f"{build}/", tmp / "rsync"],
}


@pytest.mark.parametrize("command", TREE_COMMANDS.values(), ids=TREE_COMMANDS.keys())
def test_tools_over_a_running_build_return_at_once(sim, mount_factory, tmp_path, command):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    started = time.monotonic()
    try:
        result = subprocess.run([str(part) for part in command(build_path(mnt), tmp_path)],
                                capture_output=True, text=True, timeout=scaled(5))
    except subprocess.TimeoutExpired:
        pytest.fail("blocked over a running build (on wait?)")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert not re.search(r"(^|/)wait$", result.stdout, re.MULTILINE), result.stdout
    assert elapsed < scaled(2), f"took {elapsed:.1f} s"


# --------------------------------------------------------------------------
# 2. events, for tail -f


def escape(value):
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def event_fields(line):
    """TIME, PATH, FIELD, OLD, NEW of an events line, its format checked."""
    fields = line.split("\t")
    assert len(fields) == 5, f"not 5 tab-separated fields: {line!r}"
    assert ISO_TIME.fullmatch(fields[0]), f"not an ISO 8601 UTC time: {line!r}"
    return tuple(fields)


def changes(lines):
    """(PATH, FIELD, OLD, NEW) of events lines."""
    return [event_fields(line)[1:] for line in lines]


def test_tail_f_events_shows_the_first_seen_state_then_each_change(
        sim, mount_factory, tmp_path, follow, scenario, backend):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    build = scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"]
    events = build_path(mnt) / "events"
    before = time.time()
    tail = follow(events)
    first = tail.wait_for(lambda lines: len(lines) >= len(FIRST_SEEN) and lines,
                          message="the first-seen lines")
    assert changes(first) == FIRST_SEEN
    seen_at = {iso_epoch(event_fields(line)[0]) for line in first}
    assert len(seen_at) == 1 and before - 1 <= seen_at.pop() <= time.time() + 1
    snapshot = read(events)
    for step, expected in ((30, step_30(build)), (60, step_60(build))):
        expected = {change for change in expected
                    if backend == "v3" or not v5_extra(f"{change[0]}/{change[1]}")}
        count = len(tail.lines())
        moment = time.time()
        sim.advance(30)
        # nothing else reads the build: tail -f keeps it refreshed
        new = tail.wait_for(lambda lines: lines[count:] if len(change_lines(
            backend, lines[count:])) >= len(expected) else None, timeout=TTL + 1 + 1,
            message=f"the changes at {step} s")
        kept = change_lines(backend, new)
        assert set(kept) == expected and len(kept) == len(expected), new
        assert all(int(moment) <= iso_epoch(event_fields(line)[0]) <= time.time() + 1
                   for line in new), new
    final = read(events)
    assert final.startswith(snapshot), "bytes once written changed"
    assert final.decode("utf-8").splitlines() == tail.lines()
    assert os.stat(events).st_size == len(final)
    tail_c = subprocess.run(["tail", "-c", f"+{len(snapshot) + 1}", str(events)],
                            capture_output=True, timeout=scaled(10))
    assert tail_c.stdout == final[len(snapshot):]


def test_events_escape_tabs_newlines_and_backslashes(sim, mount_factory, tmp_path, follow,
                                                    backend):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    tail = follow(build_path(mnt, PIPELINE_FAILING, "5") / "events")
    count = len(tail.wait_for(lambda lines: len(lines) >= 8 and lines, message="first seen"))
    sim.advance(30)
    task = f"stages/{BUILD_STAGE}/tasks/单元测试"
    new = tail.wait_for(lambda lines: lines[count:] if len(change_lines(
        backend, lines[count:])) >= 4 else None, timeout=TTL + 2, message="the failure")
    assert set(change_lines(backend, new)) == {
        (task, "status", "running", "completed"), (task, "outcome", "", "error"),
        (task, "error_code", "", "DEVPIPE.00011500"),
        (task, "error_msg", "", escape(MULTILINE_ERROR))}


def test_pipeline_events_shows_its_builds_changes_and_a_new_build_becoming_latest(
        sim, mount_factory, tmp_path, follow, scenario):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    assert read(mnt / PIPELINE_RUNNING / "latest" / "status") == RUNNING
    tail = follow(mnt / PIPELINE_RUNNING / "events")
    tail.wait_for(lambda lines: ("3", "status", "", "running") in changes(lines),
                  message="build 3 first seen, PATH 3")
    sim.advance(30)
    see_step_30(mnt / PIPELINE_RUNNING / "3")
    tail.wait_for(lambda lines: (f"3/{REVIEW_STAGE}", "status", "waiting", "verifying")
                  in changes(lines), timeout=TTL + 1, message="a change of build 3, PATH 3/...")
    newer = copy.deepcopy(scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"])
    newer["body"]["build_id"] = "4"
    newer["timeline"] = []
    scenario["pipelines"][PIPELINE_RUNNING] = {"latest": "4", "builds": {
        "3": scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"], "4": newer}}
    sim.set_scenario(scenario)
    # nothing else looks at latest: following the pipeline's events keeps it fresh
    tail.wait_for(lambda lines: ("latest", "build_id", "3", "4") in changes(lines),
                  timeout=TTL + 2, message="latest moving from 3 to 4")
    tail.wait_for(lambda lines: ("4", "status", "", "running") in changes(lines),
                  message="build 4 first seen, PATH 4")
    assert os.readlink(mnt / PIPELINE_RUNNING / "latest") == "4"


def test_mount_events_merge_every_pipeline_prefixed_by_its_id(mnt):
    assert read(mnt / PIPELINE_ERROR / "12" / "status") == COMPLETED
    lines = read(mnt / ".pipelinefs" / "events").decode("utf-8").splitlines()
    assert (f"{PIPELINE_ERROR}/12", "outcome", "", "error") in changes(lines)
    assert all(path.split("/")[0] in TEST_PIPELINES for path, *_ in changes(lines)), lines


# --------------------------------------------------------------------------
# 4. failed/


def test_failed_links_each_failed_stage_and_task(mnt):
    failed = mnt / PIPELINE_ERROR / "12" / "failed"
    assert sorted(os.listdir(failed)) == ["测试", "测试:unit-tests"]
    assert os.readlink(failed / "测试") == "../stages/测试"
    assert os.readlink(failed / "测试:unit-tests") == "../stages/测试/tasks/unit-tests"
    assert read(failed / "测试:unit-tests" / "error_msg") == \
        FAILED_TASK_ERROR_MSG.encode() + b"\n"
    assert stat.S_ISLNK(os.lstat(failed / "测试").st_mode)


@pytest.mark.parametrize("pipeline_id, build_id", [(PIPELINE_SUCCESS, "7"),
                                                   (PIPELINE_RUNNING, "3"),
                                                   (PIPELINE_NULLS, "1")],
                         ids=["success", "running", "nulls"])
def test_failed_is_empty_when_nothing_failed(mnt, pipeline_id, build_id):
    assert os.listdir(mnt / pipeline_id / build_id / "failed") == []


def test_grep_over_every_latest_failed_lists_every_failure(sim, mount_factory, tmp_path,
                                                          backend):
    mnt = mount_factory(sim.url, tmp_path / "mnt", ALL_LISTED).mountpoint
    result = subprocess.run(["sh", "-c", f"grep -r . {mnt}/*/latest/failed/*/error_msg"],
                            capture_output=True, text=True, timeout=scaled(10))
    assert result.returncode == 0, result.stderr
    stage = [f"{mnt}/{PIPELINE_ERROR}/latest/failed/测试/error_msg:任务 unit-tests 执行失败"]
    assert sorted(result.stdout.splitlines()) == sorted(
        (stage if backend == "v3" else []) +      # a v5 stage has no message
        [f"{mnt}/{PIPELINE_ERROR}/latest/failed/测试:unit-tests/error_msg:{FAILED_TASK_ERROR_MSG}"])


def test_failed_of_a_running_build_gains_each_failure_as_it_happens(sim, mount_factory,
                                                                    tmp_path):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    build_dir = build_path(mnt, PIPELINE_FAILING, "5")
    failed = build_dir / "failed"
    assert os.listdir(failed) == []
    sim.advance(30)
    wait_until(lambda: os.listdir(failed) == [f"{BUILD_STAGE}:单元测试"], timeout=TTL + 2,
               message="the failed task in failed/")
    assert read(failed / f"{BUILD_STAGE}:单元测试" / "error_code") == b"DEVPIPE.00011500\n"
    sim.advance(30)
    wait_until(lambda: sorted(os.listdir(failed)) == [BUILD_STAGE, f"{BUILD_STAGE}:单元测试"],
               timeout=TTL + 2, message="the failed stage in failed/")


# --------------------------------------------------------------------------
# 5. summary


HEADER = re.compile(r"(?P<name>.+?) #(?P<build>\S+)\s+(?P<status>\S+)\s+(?P<outcome>\S+)\s+"
                    r"(?P<start>.+?) → (?P<end>.+?)\s+(?P<elapsed>\S+)")
STILL_RUNNING = "(cat wait to block until it completes)"


def summary_of(path):
    """(header fields, [(indent, mark, status, outcome, elapsed, name, error)], last line)."""
    lines = read(path).decode("utf-8").splitlines()
    header = HEADER.fullmatch(lines[0])
    assert header, f"header {lines[0]!r}"
    last = lines[-1] if lines[-1].startswith("(") else None
    rows = []
    for line in lines[1:len(lines) - (last is not None)]:
        indent = len(line) - len(line.lstrip(" "))
        mark, status, outcome, elapsed, rest = line.split(None, 4)
        name, _, error = rest.partition("  — ")
        rows.append((indent, mark, status, outcome, elapsed, name, error))
    return header.groupdict(), rows, last


def test_summary_of_a_failed_build(mnt, backend):
    header, rows, last = summary_of(mnt / PIPELINE_ERROR / "12" / "summary")
    assert header == {"name": "frontend-ci", "build": "12", "status": "completed",
                      "outcome": "error", "start": "2026-11-28 09:12:03",
                      "end": "2026-11-28 09:17:15", "elapsed": "5m12s"}
    expected = [
        (0, "✓", "completed", "success", "3m10s", "构建", ""),
        (2, "✓", "completed", "success", "3m10s", "npm ci", ""),
        (0, "✗", "completed", "error", "2m02s", "测试", "任务 unit-tests 执行失败"),
        (2, "✓", "completed", "success", "21s", "lint", ""),
        (2, "✗", "completed", "error", "1m41s", "unit-tests", FAILED_TASK_ERROR_MSG)]
    if backend == "v5":     # each node's end - start (the scenario's are all 5m12s); a
        expected = [row[:4] + ("5m12s", row[5], "" if row[5] == "测试" else row[6])
                    for row in expected]            # v5 stage has no message
    assert rows == expected
    assert last is None


def test_summary_columns_are_stable_for_awk(mnt):
    result = subprocess.run(["awk", "{print $2}", str(mnt / PIPELINE_ERROR / "12" / "summary")],
                            capture_output=True, text=True, timeout=scaled(10))
    statuses = result.stdout.splitlines()[1:]
    assert statuses == ["completed"] * 5


def test_summary_of_a_running_build_says_how_to_wait(mnt, scenario, backend):
    header, rows, last = summary_of(mnt / PIPELINE_RUNNING / "3" / "summary")
    body = scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"]["body"]
    elapsed = "0s" if backend == "v3" else "-"      # v5: no end, no elapsed_time
    assert header == {"name": "集成流水线", "build": "3", "status": "running", "outcome": "-",
                      "start": body["start_time"], "end": "-", "elapsed": elapsed}
    assert rows == [(0, "●", "running", "-", elapsed, BUILD_STAGE, ""),
                    (2, "●", "running", "-", elapsed, BUILD_TASK, ""),
                    (0, "○", "waiting", "-", elapsed, REVIEW, ""),
                    (2, "○", "waiting", "-", elapsed, REVIEW, "")]
    assert last == STILL_RUNNING


def test_summary_of_a_running_build_shows_a_failure_by_the_first_line_of_its_message(
        sim, mount_factory, tmp_path, backend):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    summary = build_path(mnt, PIPELINE_FAILING, "5") / "summary"
    assert summary_of(summary)[1][2][1] == "●"
    sim.advance(30)
    rows = wait_until(lambda: summary_of(summary)[1][2][1] == "✗" and summary_of(summary)[1],
                      timeout=TTL + 2, message="the failed task in summary")
    elapsed = "0s" if backend == "v3" else "-"      # the timeline sets no end_time
    assert rows[2] == (2, "✗", "completed", "error", elapsed, "单元测试", "3 tests failed:")
    assert summary_of(summary)[2] == STILL_RUNNING


def test_summary_of_the_api_documents_example(sim_factory, mount_factory, tmp_path, backend):
    sim = sim_factory(DEMO_SCENARIO)
    mnt = mount_factory(sim.url, tmp_path / "mnt").mountpoint
    build = mnt / SEED_PIPELINE / "2"
    header, rows, last = summary_of(build / "summary")
    # v5's name is the pipeline's (the scenario's), v3's the body's
    assert header["name"] == ("pipeline-1185523_Cx2Ur" if backend == "v3" else "seed-example")
    assert header["build"] in ("2", "-")
    assert (header["status"], header["outcome"], header["start"], header["end"],
            header["elapsed"]) == ("-", "-", "2022-04-01 19:44:16", "-", "-")
    assert rows == [(0, "·", "-", "-", "-", "构建", ""), (2, "·", "-", "-", "-", "人工审核", "")]
    assert last == STILL_RUNNING
    assert os.listdir(build / "failed") == []


def test_pipeline_summary_lists_the_builds_seen_newest_first(mnt, backend):
    pipeline = mnt / PIPELINE_SUCCESS
    for build in ("6", "7"):
        read(pipeline / build / "status")
    lines = [line.split() for line in read(pipeline / "summary").decode("utf-8").splitlines()]
    # v3: the scenario's elapsed_time; v5: end - start
    elapsed = "5m00s" if backend == "v3" else "3m00s"
    # the pipeline's name last (the list's, else the build's): awk's columns stay put
    assert lines == [["7", "✓", "completed", "success", "2026-11-28", "09:00:00", elapsed,
                      "后端服务-backend"],
                     ["6", "✓", "completed", "success", "2026-11-27", "17:00:00", elapsed,
                      "后端服务-backend"]]


def test_mount_summary_has_one_line_per_listed_pipeline(sim, mount_factory, tmp_path):
    mnt = mount_factory(sim.url, tmp_path / "mnt", ALL_LISTED).mountpoint
    for pipeline_id in (PIPELINE_SUCCESS, PIPELINE_ERROR, PIPELINE_RUNNING):
        read(mnt / pipeline_id / "latest" / "status")
    lines = {line.split()[0]: line.split()
             for line in read(mnt / ".pipelinefs" / "summary").decode("utf-8").splitlines()}
    assert set(lines) == set(TEST_PIPELINES)
    assert lines[PIPELINE_ERROR] == [PIPELINE_ERROR, "frontend-ci", "12", "✗", "completed",
                                     "error", "2026-11-28", "09:17:15"]
    assert lines[PIPELINE_SUCCESS][2:6] == ["7", "✓", "completed", "success"]
    assert lines[PIPELINE_RUNNING][2:6] == ["3", "●", "running", "-"]


# --------------------------------------------------------------------------
# 6. .pipelinefs/: health and metrics


HEALTH_KEYS = ["state", "since", "last_success", "last_error", "throttled_until",
               "backing_off_until", "requests_in_flight", "waiters"]


def iso_or_dash(value):
    return None if value == "-" else iso_epoch(value)


@v3_only(SINGLE)
def test_health_of_a_healthy_mount(sim, mount_factory, tmp_path):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    before = time.time()
    assert read(mnt / PIPELINE_ERROR / "12" / "status") == COMPLETED
    state = health(mnt)
    assert list(state) == HEALTH_KEYS
    assert state["state"] == "ok"
    assert int(before) - 1 <= iso_epoch(state["last_success"]) <= time.time() + 1
    assert (state["last_error"], state["throttled_until"], state["backing_off_until"],
            state["requests_in_flight"], state["waiters"]) == ("-", "-", "-", "0", "0")


def fail_reads(mnt, paths, code=errno.EIO):
    for path in paths:
        assert errno_of(read, mnt / path) == code, path


OUTAGE_READS = [f"{PIPELINE_SUCCESS}/6/status", f"{PIPELINE_SUCCESS}/7/status",
                f"{PIPELINE_NULLS}/1/status", f"{PIPELINE_RUNNING}/3/status"]


@v3_only(SINGLE)
@pytest.mark.parametrize("outage", ["dead server", "503"])
def test_health_through_an_outage(sim, mount_factory, tmp_path, outage):
    mnt = mount_ttl(mount_factory, sim, tmp_path, timeout=2).mountpoint
    assert read(mnt / PIPELINE_ERROR / "12" / "status") == COMPLETED
    if outage == "dead server":
        sim.stop()
    else:
        sim.fault(kind="status", status=503)
    began = time.time()
    fail_reads(mnt, OUTAGE_READS)                 # 4 builds: 4 failures in a row
    state = health(mnt)
    assert state["state"] == "down", state
    assert int(began) - 1 <= iso_epoch(state["since"]) <= time.time() + 1
    when, status, code, *_ = state["last_error"].split(" ", 3)
    assert int(began) - 1 <= iso_epoch(when) <= time.time() + 1
    assert (status, code) == (("-", "-") if outage == "dead server" else ("503", "SIM.503"))
    # whole seconds: a retry within the second the outage began shows as it
    assert iso_or_dash(state["backing_off_until"]) >= int(began)
    assert metric_samples(read(mnt / ".pipelinefs" / "metrics").decode())[
        ("pipelinefs_up", ())] == 0
    if outage == "dead server":
        sim.restart()
    else:
        sim.clear_faults()
    readable_again(mnt / OUTAGE_READS[0], COMPLETED, timeout=10)    # backoff up to 6 s
    wait_until(lambda: health(mnt)["state"] in ("ok", "degraded"), timeout=2,
               message="health no longer down")
    assert metric_samples(read(mnt / ".pipelinefs" / "metrics").decode())[
        ("pipelinefs_up", ())] == 1


@v3_only(SINGLE)
def test_health_degraded_while_one_build_fails_and_others_answer(sim, mount_factory, tmp_path):
    mnt = mount_ttl(mount_factory, sim, tmp_path, timeout=2).mountpoint
    status = mnt / PIPELINE_RUNNING / "3" / "status"
    assert read(status) == RUNNING
    cached_at = sim.api_requests(PIPELINE_RUNNING)[-1]["time"]
    sim.fault(kind="status", status=500, pipeline_id=PIPELINE_RUNNING)
    wait_past(cached_at, TTL, "the running build to go stale")
    moment = time.time()
    assert read(status) == RUNNING                           # stale-if-error
    wait_until(lambda: [entry for entry in sim.requests_since(moment, PIPELINE_RUNNING)
                        if entry["status"] == 500], timeout=5, message="the failed refresh")
    assert read(mnt / PIPELINE_ERROR / "12" / "status") == COMPLETED
    state = wait_until(lambda: (lambda state: state["state"] == "degraded" and state)(health(mnt)),
                       timeout=2, message="health degraded")
    assert state["last_error"].split(" ")[1:3] == ["500", "SIM.500"]
    assert iso_or_dash(state["backing_off_until"]) >= int(moment)    # whole seconds
    sim.clear_faults()


@v3_only(SINGLE)
def test_health_throttled_until_the_pause_the_service_asked_for(sim, mount_factory, tmp_path):
    mnt = mount_ttl(mount_factory, sim, tmp_path, timeout=2).mountpoint
    sim.fault(kind="status", status=429, headers={"Retry-After": "5"}, count=1)
    asked = time.time()
    assert errno_of(read, mnt / PIPELINE_ERROR / "12" / "status") == errno.EIO
    state = health(mnt)
    assert state["state"] == "throttled", state
    until = iso_epoch(state["throttled_until"])
    assert int(asked) + 4 <= until <= asked + 5 + scaled(1) + 1, state
    assert state["last_error"].split(" ")[1] == "429"
    wait_past(until, 0.1, "the pause to end")
    readable_again(mnt / PIPELINE_ERROR / "12" / "status", COMPLETED, timeout=10)
    assert health(mnt)["state"] == "ok"


BAD_TOKEN = "bad-token-5f3a9c1e7b2d4068a1c3"


@v3_only(SINGLE)
def test_health_unauthorized_with_a_bad_token_and_no_secret_in_it(sim, mount_factory, tmp_path):
    mnt = mount_factory(sim.url, tmp_path / "mnt", {"prefetch": 0}, token=BAD_TOKEN).mountpoint
    assert errno_of(read, mnt / PIPELINE_ERROR / "12" / "status") == errno.EACCES
    state = health(mnt)
    assert state["state"] == "unauthorized", state
    assert state["last_error"].split(" ")[1:3] == ["401", "APIG.0301"]
    for name in ("health", "metrics", "summary", "events"):
        text = read(mnt / ".pipelinefs" / name).decode("utf-8", "replace")
        assert not any(BAD_TOKEN[start:start + 16] in text for start in range(len(BAD_TOKEN) - 15))




def check_exposition_format(text):
    """The text format 0.0.4, read strictly (prometheus_text), with every family
    of the spec and its type."""
    families = prometheus_text.parse(text)
    types = {name: family.type for name, family in families.items()}
    assert types == {**types, **prometheus_text.PIPELINEFS_FAMILIES}, f"types: {types}"


@v3_only(SINGLE)
def test_metrics_are_prometheus_text_and_count_what_the_service_saw(sim, mount_factory,
                                                                    tmp_path):
    mnt = mount_ttl(mount_factory, sim, tmp_path).mountpoint
    for path in (f"{PIPELINE_ERROR}/12/status", f"{PIPELINE_SUCCESS}/7/outcome",
                 f"{PIPELINE_SUCCESS}/7/status"):
        read(mnt / path)
    assert errno_of(read, mnt / UNKNOWN_PIPELINE / "latest" / "status") == errno.ENOENT
    wait_until(lambda: all(entry["ended"] for entry in sim.requests()), timeout=5,
               message="every answer ended")
    text = read(mnt / ".pipelinefs" / "metrics").decode("utf-8")
    check_exposition_format(text)
    samples = metric_samples(text)
    statuses = [entry["status"] for entry in sim.requests()]
    assert samples[("pipelinefs_requests_total", (("result", "ok"), ("status", "200")))] == \
        statuses.count(200)
    assert samples[("pipelinefs_requests_total", (("result", "http_error"), ("status", "404")))] \
        == statuses.count(404)
    assert samples[("pipelinefs_request_duration_seconds_count", ())] == len(statuses)
    assert samples[("pipelinefs_received_bytes_total", ())] >= sum(
        entry["bytes_sent"] for entry in sim.requests())
    assert samples[("pipelinefs_cached_builds", ())] >= 2
    assert samples[("pipelinefs_requests_in_flight", ())] == 0
    assert samples[("pipelinefs_waiters", ())] == 0
    assert samples[("pipelinefs_up", ())] == 1


# --------------------------------------------------------------------------
# 6. Dot-names at the root


@v3_only(SINGLE)
@pytest.mark.parametrize("name", [".git", ".python-version", ".envrc", ".hg", ".direnv",
                                  ".Trash-0", ".pipelinefsx"])
def test_dot_names_at_the_root_cost_no_request(sim, mount_factory, tmp_path, name):
    mnt = mount_factory(sim.url, tmp_path / "mnt", {"prefetch": 0}).mountpoint
    mark = sim.mark()
    started = time.monotonic()
    assert errno_of(os.stat, mnt / name) == errno.ENOENT
    assert errno_of(os.stat, mnt / name / "HEAD") == errno.ENOENT
    assert time.monotonic() - started < scaled(0.5)
    assert read(mnt / PIPELINE_ERROR / "12" / "outcome") == b"error\n"    # a request, logged
    assert [entry["pipeline_id"] for entry in sim.requests_since(mark)] == [PIPELINE_ERROR]


@v3_only(SINGLE)
def test_pipelinefs_dir_is_shown_by_ls_a_not_by_ls_and_costs_no_request(sim, mount_factory,
                                                                        tmp_path):
    mnt = mount_factory(sim.url, tmp_path / "mnt", {"prefetch": 0, **ALL_LISTED}).mountpoint
    mark = sim.mark()

    def ls(*options):
        result = subprocess.run(["ls", *options, str(mnt)], capture_output=True, text=True,
                                timeout=scaled(10))
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert ".pipelinefs" in ls("-a") and ".pipelinefs" not in ls()
    assert sorted(ls("-A")) == sorted([".pipelinefs", *TEST_PIPELINES])
    assert sorted(os.listdir(mnt / ".pipelinefs")) == ["events", "health", "metrics", "summary"]
    assert stat.S_ISDIR(os.stat(mnt / ".pipelinefs").st_mode)
    for name in ("health", "metrics"):
        assert read(mnt / ".pipelinefs" / name)
    assert sim.requests_since(mark) == []


# --------------------------------------------------------------------------
# 8. A listed pipeline the service does not know


def test_ls_la_of_a_listed_pipeline_the_service_does_not_know(sim, mount_factory, tmp_path):
    mnt = mount_factory(sim.url, tmp_path / "mnt",
                        {"pipelines": f"{UNKNOWN_PIPELINE}:{PIPELINE_ERROR}"}).mountpoint
    for path in (mnt / UNKNOWN_PIPELINE, mnt):
        result = subprocess.run(["ls", "-la", str(path)], capture_output=True, text=True,
                                timeout=scaled(10))
        assert result.returncode == 0, f"ls -la {path}: {result.stderr}"
        assert "?????????" not in result.stdout, result.stdout
