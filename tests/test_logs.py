"""v5 step logs through real mounts (issue 9, item 2): every page of a finished
step's log read once and kept, a running step's log followed with `tail -f`, a
job's log made of its steps', grep over them, and what each costs in requests.

The v5 calls themselves (offsets sent back, hostile bytes, oversized pages) are
tests/test_v5.py's; here the point is the file: its size, its growth, its
freshness, its cost.
"""

import os
import pathlib
import re
import subprocess

from conftest import (ANY, DEFAULT_PROJECT_ID, PIPELINE_ERROR, PIPELINE_RUNNING,
                      PIPELINE_SUCCESS, default_test_scenario, read, scaled, v5_task,
                      wait_past, wait_until)

LINE = re.compile(rb"^\[[0-9-]+ [0-9:.]+\] \[INFO\] compile: log line (\d+) of (\d+)\n$")


def v5_mount(mount_factory, sim, tmp_path, **options):
    return mount_factory(sim.url, tmp_path / "mnt",
                         {"api": "v5", "project_id": DEFAULT_PROJECT_ID, **options})


def log_calls(sim, pipeline_id):
    return sim.api_requests(pipeline_id, ANY, call="v5_log")


def task_dir(mnt, pipeline_id, build_id, stage, task):
    return pathlib.Path(mnt) / pipeline_id / build_id / "stages" / stage / "tasks" / task


def test_a_20000_line_log_is_read_whole_once_and_kept(sim_factory, mount_factory, tmp_path):
    scenario = v5_task(default_test_scenario(), PIPELINE_SUCCESS, "7", 0, 0,
                       steps=[{"name": "compile", "log_lines": 20000}])
    sim = sim_factory(scenario)
    mnt = v5_mount(mount_factory, sim, tmp_path, ttl=1).mountpoint
    log = task_dir(mnt, PIPELINE_SUCCESS, "7", "构建", "编译") / "steps" / "compile" / "log"
    data = log.read_bytes()
    lines = data.splitlines(keepends=True)
    assert len(lines) == 20000
    for number, line in enumerate(lines, 1):
        match = LINE.match(line)
        assert match and int(match.group(1)) == number and match.group(2) == b"20000", line
    # every page once, 500 lines a page: never the whole log in one request
    assert len(log_calls(sim, PIPELINE_SUCCESS)) == 40
    assert os.stat(log).st_size == len(data)
    # finished: kept, whatever the time (ttl passes on the sim's clock and ours)
    sim.advance(120)
    wait_past(log_calls(sim, PIPELINE_SUCCESS)[-1]["time"], 1.5, message="ttl")
    assert log.read_bytes() == data
    assert subprocess.run(["cat", str(log)], capture_output=True, check=True).stdout == data
    assert len(log_calls(sim, PIPELINE_SUCCESS)) == 40


def test_tail_f_follows_a_running_step_and_it_stops_growing_when_it_ends(
        sim_factory, mount_factory, tmp_path):
    # build 3's task 编译 runs until scenario time 30 s, logging 2 lines a second
    scenario = v5_task(default_test_scenario(), PIPELINE_RUNNING, "3", 0, 0,
                       steps=[{"name": "compile", "log_lines": 100,
                               "log_lines_per_second": 2, "log_since": 0}])
    sim = sim_factory(scenario)
    mnt = v5_mount(mount_factory, sim, tmp_path, ttl=1).mountpoint
    log = task_dir(mnt, PIPELINE_RUNNING, "3", "构建", "编译") / "steps" / "compile" / "log"
    sim.advance(5)
    out = tmp_path / "tail.out"
    with open(out, "wb") as sink:
        tail = subprocess.Popen(["tail", "-n", "+1", "-s", "0.2", "-f", str(log)],
                                stdout=sink, stderr=subprocess.DEVNULL)
        try:
            # ttl + 1 s: the bound for a followed step
            wait_until(lambda: out.read_bytes().count(b"\n") == 10, timeout=5,
                       message="the first 10 lines")
            sim.advance(5)
            wait_until(lambda: out.read_bytes().count(b"\n") == 20, timeout=2 + 1,
                       message="10 more lines within ttl + 1 s")
            sim.advance(30)      # the step ends: every line is there
            wait_until(lambda: out.read_bytes().count(b"\n") == 100, timeout=2 + 1,
                       message="the rest of the log once the step ended")
        finally:
            tail.terminate()
            tail.wait()
    data = out.read_bytes()
    numbers = [int(LINE.match(line).group(1)) for line in data.splitlines(keepends=True)]
    assert numbers == list(range(1, 101)), "append-only: each line once, in order"
    assert log.read_bytes() == data
    # ended and read to the end: never asked again, even past its ttl
    calls = log_calls(sim, PIPELINE_RUNNING)
    asked = len(calls)
    sim.advance(10)
    wait_past(calls[-1]["time"], 1.5, message="the log's ttl")
    os.stat(log)
    assert log.read_bytes() == data
    assert len(log_calls(sim, PIPELINE_RUNNING)) == asked


def test_stat_gives_the_size_a_read_returns_while_the_step_runs(sim_factory, mount_factory,
                                                               tmp_path):
    scenario = v5_task(default_test_scenario(), PIPELINE_RUNNING, "3", 0, 0,
                       steps=[{"name": "compile", "log_lines": 100,
                               "log_lines_per_second": 1, "log_since": 0}])
    sim = sim_factory(scenario)
    mnt = v5_mount(mount_factory, sim, tmp_path, ttl=1).mountpoint
    log = task_dir(mnt, PIPELINE_RUNNING, "3", "构建", "编译") / "steps" / "compile" / "log"
    sim.advance(7)
    size = os.stat(log).st_size
    assert size > 0
    assert len(log.read_bytes()) == size
    sim.advance(3)
    wait_until(lambda: os.stat(log).st_size > size, timeout=3, message="the log grew")
    assert len(log.read_bytes()) == os.stat(log).st_size


def test_a_jobs_log_is_its_steps_logs_in_order(sim_factory, mount_factory, tmp_path):
    scenario = v5_task(default_test_scenario(), PIPELINE_SUCCESS, "7", 0, 0,
                       steps=[{"name": "checkout", "log": "A1\nA2\n"},
                              {"name": "build", "log": "B1\n"},
                              {"name": "upload", "log": ""}])
    sim = sim_factory(scenario)
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    job = task_dir(mnt, PIPELINE_SUCCESS, "7", "构建", "编译")
    assert sorted(os.listdir(job / "steps")) == ["build", "checkout", "upload"]
    assert read(job / "steps" / "checkout" / "log") == b"A1\nA2\n"
    assert read(job / "log") == b"A1\nA2\nB1\n"
    assert os.stat(job / "log").st_size == 9
    assert read(job / "steps" / "upload" / "log") == b""


def test_grep_finds_the_error_in_the_failed_jobs_log(sim, mount_factory, tmp_path):
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    build = pathlib.Path(mnt) / PIPELINE_ERROR / "latest"
    result = subprocess.run(["sh", "-c", 'grep -l ERROR "$1"/stages/*/tasks/*/steps/*/log',
                             "sh", str(build)], capture_output=True, text=True,
                            timeout=scaled(30))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and "/tasks/unit-tests/" in result.stdout
    # failed/ points at the failed job, whose log is the first thing to read
    failed = build / "failed"
    (entry,) = [name for name in os.listdir(failed) if "unit-tests" in name]
    assert b"ERROR" in read(failed / entry / "log")
    assert subprocess.run(["grep", "-rq", "ERROR", str(build / "stages")],
                          timeout=scaled(30)).returncode == 0


def test_a_step_not_started_has_an_empty_log_and_costs_no_request(sim, mount_factory,
                                                                 tmp_path):
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    job = task_dir(mnt, PIPELINE_RUNNING, "3", "人工审核", "人工审核")
    (step,) = list((job / "steps").iterdir())
    assert read(step / "log") == b""
    assert os.stat(step / "log").st_size == 0
    assert read(job / "log") == b""
    assert log_calls(sim, PIPELINE_RUNNING) == []


def test_a_logs_text_counts_in_the_cache(sim_factory, mount_factory, tmp_path):
    scenario = v5_task(default_test_scenario(), PIPELINE_SUCCESS, "7", 0, 0,
                       steps=[{"name": "compile", "log_lines": 5000}])
    sim = sim_factory(scenario)
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint

    def cached_bytes():
        text = read(pathlib.Path(mnt) / ".pipelinefs" / "metrics").decode()
        return int(re.search(r"^pipelinefs_cached_bytes (\d+)$", text, re.M).group(1))

    job = task_dir(mnt, PIPELINE_SUCCESS, "7", "构建", "编译")
    assert read(job / "status") == b"completed\n"      # the build is cached
    before = cached_bytes()
    data = (task_dir(mnt, PIPELINE_SUCCESS, "7", "构建", "编译") / "steps" / "compile"
            / "log").read_bytes()
    # .pipelinefs files are snapshots, renewed as they are read
    wait_until(lambda: cached_bytes() - before >= len(data), timeout=5,
               message="the log's bytes counted in pipelinefs_cached_bytes")
