"""The v5 backend's calls through real mounts (issue 9): builds read with the run
detail, the root listed with the v5 pipeline list, a pipeline's builds with the
runs list, and what each of them costs in requests.

The tree itself (every field, status mapping, gates, messages) is the model's,
tested in tests/unit/test_v5_model.c and by the BOTH_BACKENDS modules; here the
point is that the calls are the right ones, asked the right way, once.
"""

import base64
import errno
import json
import os

import pytest

from conftest import (ANY, DEFAULT_PROJECT_ID, PIPELINE_ERROR, PIPELINE_SUCCESS,
                      default_test_scenario, errno_of, history_scenario, log_lines,
                      numbered_id, read, v5_run_id, wait_until)

UNKNOWN_PIPELINE = "ffffffffffffffffffffffffffffffff"
OTHER_PROJECT = "abcdefabcdefabcdefabcdefabcdef00"


def v5_mount(mount_factory, sim, tmp_path, **options):
    """A mount of sim reading every build with v5 (options win)."""
    return mount_factory(sim.url, tmp_path / "mnt",
                         {"api": "v5", "project_id": DEFAULT_PROJECT_ID, **options})


def field(path):
    """A field file's value: its text without the trailing newline."""
    return read(path).decode("utf-8").rstrip("\n")


def v5_calls(sim, call, pipeline_id=None, build_id=ANY):
    """The simulator's log of v5 call `call` (its name there), oldest first."""
    return sim.api_requests(pipeline_id, build_id, call=call)


def test_a_build_is_read_with_one_detail_call_by_run_number(sim, mount_factory, tmp_path):
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    build = mnt / PIPELINE_SUCCESS / "6"
    assert field(build / "status") == "completed"
    assert field(build / "outcome") == "success"
    assert field(build / "build_id") == "6"
    assert field(build / "pipeline_run_id") == v5_run_id(PIPELINE_SUCCESS, "6")
    assert field(build / "v5_status") == "COMPLETED"
    details = v5_calls(sim, "v5_detail", PIPELINE_SUCCESS, "6")
    assert len(details) == 1, details
    assert details[0]["path"] == (f"/v5/{DEFAULT_PROJECT_ID}/api/pipelines/{PIPELINE_SUCCESS}"
                                  "/pipeline-runs/detail")
    assert details[0]["query"] == "pipeline_run_number=6"
    assert details[0]["status"] == 200
    # the other files of the build come from the same answer
    assert field(build / "stages" / "构建" / "status") == "completed"
    assert len(v5_calls(sim, "v5_detail", PIPELINE_SUCCESS, "6")) == 1


def test_a_failed_build_maps_to_completed_error(sim, mount_factory, tmp_path):
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    build = mnt / PIPELINE_ERROR / "12"
    assert field(build / "status") == "completed"
    assert field(build / "outcome") == "error"
    assert field(build / "v5_status") == "FAILED"


def test_latest_is_the_detail_call_without_a_run(sim, mount_factory, tmp_path):
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    latest = mnt / PIPELINE_SUCCESS / "latest"
    assert field(latest / "build_id") == "7"
    assert field(latest / "pipeline_run_id") == v5_run_id(PIPELINE_SUCCESS, "7")
    queries = [entry["query"] for entry in v5_calls(sim, "v5_detail", PIPELINE_SUCCESS)]
    assert "" in queries, queries
    # v5 has no batch call: nothing but v5 calls was made
    assert not [entry for entry in sim.requests() if not entry["call"].startswith("v5_")]


def test_the_history_is_the_runs_list(sim_factory, mount_factory, tmp_path):
    scenario = history_scenario(days_ago=(0, 1, 2, 10), pipelines=1)
    sim = sim_factory(scenario)
    pipeline_id = numbered_id("history", 0)
    mnt = v5_mount(mount_factory, sim, tmp_path, history="7").mountpoint
    names = set(entry.name for entry in (mnt / pipeline_id).iterdir())
    # builds 2, 3, 4 started within 7 days; build 1 (10 days ago) did not
    assert {"2", "3", "4", "latest"} <= names, names
    assert "1" not in names, names
    runs = v5_calls(sim, "v5_runs", pipeline_id)
    assert runs, sim.requests()
    assert runs[0]["path"] == (f"/v5/{DEFAULT_PROJECT_ID}/api/pipelines/{pipeline_id}"
                               "/pipeline-runs/list")
    assert json.loads(runs[0]["body"]) == {"offset": 0, "limit": 100, "sort_key": "start_time",
                                           "sort_dir": "desc"}
    # listing fetched no build but the latest (v5 has no batch call)
    assert all(entry["build_id"] is None for entry in v5_calls(sim, "v5_detail", pipeline_id))


def test_the_runs_list_is_paged_until_a_run_is_older_than_asked(sim_factory, mount_factory,
                                                                tmp_path):
    # runs 151-250 today, 1-150 five days ago: newest first, the second page
    # reaches the old ones and the third (offset 200) is never asked for
    scenario = history_scenario(days_ago=(5, 0), pipelines=1)
    pipeline = next(iter(scenario["pipelines"].values()))
    old, new = pipeline["builds"]["1"]["body"], pipeline["builds"]["2"]["body"]
    pipeline["builds"] = {str(number): {"body": dict(old if number <= 150 else new,
                                                     build_id=str(number))}
                          for number in range(1, 251)}
    pipeline["latest"] = "250"
    sim = sim_factory(scenario)
    pipeline_id = numbered_id("history", 0)
    mnt = v5_mount(mount_factory, sim, tmp_path, history="2").mountpoint
    names = set(entry.name for entry in (mnt / pipeline_id).iterdir())
    assert {name for name in names if name.isdigit()} == {str(number) for number in range(151, 251)}
    offsets = [json.loads(entry["body"])["offset"] for entry in v5_calls(sim, "v5_runs")]
    assert offsets == [0, 100], offsets


def test_the_root_lists_the_projects_pipelines(sim, mount_factory, tmp_path):
    mnt = mount_factory(sim.url, tmp_path / "mnt",
                        {"api": "v5", "projects": DEFAULT_PROJECT_ID}).mountpoint
    wait_until(lambda: PIPELINE_SUCCESS in set(entry.name for entry in mnt.iterdir()),
               message="the root to list the project's pipelines")
    assert {PIPELINE_SUCCESS, PIPELINE_ERROR} <= set(entry.name for entry in mnt.iterdir())
    lists = v5_calls(sim, "v5_pipelines")
    assert lists and all(entry["path"] == f"/v5/{DEFAULT_PROJECT_ID}/api/pipelines/list"
                         for entry in lists), lists
    assert json.loads(lists[0]["body"]) == {"offset": 0, "limit": 50}
    assert not [entry for entry in sim.requests() if entry["call"] in ("list", "history")]


def test_an_unknown_pipeline_is_enoent(sim, mount_factory, tmp_path):
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    assert errno_of((mnt / UNKNOWN_PIPELINE / "latest" / "status").read_text) == errno.ENOENT
    assert errno_of((mnt / UNKNOWN_PIPELINE / "1" / "status").read_text) == errno.ENOENT
    assert [entry["status"] for entry in v5_calls(sim, "v5_detail", UNKNOWN_PIPELINE)]


def test_an_unknown_run_is_enoent(sim, mount_factory, tmp_path):
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    assert errno_of((mnt / PIPELINE_SUCCESS / "99" / "status").read_text) == errno.ENOENT
    assert [entry["status"] for entry in v5_calls(sim, "v5_detail", PIPELINE_SUCCESS)
            if entry["query"] == "pipeline_run_number=99"] == [400]


def test_a_pipeline_of_another_project_is_enoent(sim, mount_factory, tmp_path):
    # the simulator answers 200 with DEVPIPE.00011136, as the service does
    mnt = v5_mount(mount_factory, sim, tmp_path, project_id=OTHER_PROJECT).mountpoint
    assert errno_of((mnt / PIPELINE_SUCCESS / "7" / "status").read_text) == errno.ENOENT
    statuses = [entry["status"] for entry in v5_calls(sim, "v5_detail", PIPELINE_SUCCESS)]
    assert statuses and set(statuses) == {200}, statuses


def step_log_scenario(log_bytes):
    """The default scenario with build 7's task 编译 logging log_bytes."""
    scenario = default_test_scenario()
    task = scenario["pipelines"][PIPELINE_SUCCESS]["builds"]["7"]["body"]["states"][0]["children"][0]
    task["log_base64"] = base64.b64encode(log_bytes).decode("ascii")
    return scenario


def step_log(mnt):
    steps = mnt / PIPELINE_SUCCESS / "7" / "stages" / "构建" / "tasks" / "编译" / "steps"
    (step,) = list(steps.iterdir())
    return step / "log"


def test_a_log_is_read_page_by_page_from_the_offsets_returned(sim_factory, mount_factory,
                                                             tmp_path):
    lines = b"".join(b"line %d\n" % number for number in range(1, 1201))
    sim = sim_factory(step_log_scenario(lines))
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    assert step_log(mnt).read_bytes() == lines
    asked = [json.loads(entry["body"]) for entry in v5_calls(sim, "v5_log", PIPELINE_SUCCESS)]
    assert asked[:3] == [{"start_offset": start, "end_offset": "0", "limit": 500, "sort": "asc"}
                         for start in ("0", "500", "1000")], asked
    run_id = v5_run_id(PIPELINE_SUCCESS, "7")
    paths = {entry["path"] for entry in v5_calls(sim, "v5_log", PIPELINE_SUCCESS)}
    assert len(paths) == 1 and paths.pop().startswith(
        f"/v5/{DEFAULT_PROJECT_ID}/api/pipelines/{PIPELINE_SUCCESS}/pipeline-runs/{run_id}/jobs/")


def test_a_hostile_log_comes_out_byte_for_byte(sim_factory, mount_factory, tmp_path):
    # invalid UTF-8, NUL, terminal escapes, JSON's own escapes and 1 MB lines:
    # nine of those make a page of over 8 MiB, asked again with fewer lines
    hostile = (b"ok \xff\xfe bad utf-8 \xed\xa0\x80\n\x00nul\x1b[31mred\x1b[0m \"q\" \\ \t\r\n"
               + b"\x1b]0;title\x07" + b"y" * (1 << 20) + b"\n") * 9
    sim = sim_factory(step_log_scenario(hostile))
    mount = v5_mount(mount_factory, sim, tmp_path)
    assert step_log(mount.mountpoint).read_bytes() == hostile
    limits = [json.loads(entry["body"])["limit"]
              for entry in v5_calls(sim, "v5_log", PIPELINE_SUCCESS)]
    assert limits[:3] == [500, 50, 5], limits
    # the next pages go on with the size that worked, not from 500 again
    assert len(limits) > 3 and max(limits[3:]) <= 5, limits
    assert not log_lines(mount, "\x1b"), "a raw escape reached the daemon's log"


def build_calls(sim, pipeline_id):
    """(v3 status calls, v5 detail calls) of pipeline_id."""
    return (sim.api_requests(pipeline_id, ANY, call="status"),
            v5_calls(sim, "v5_detail", pipeline_id))


def test_auto_reads_with_v5_where_the_project_is_known(sim, mount_factory, tmp_path):
    mnt = mount_factory(sim.url, tmp_path / "mnt",
                        {"api": "auto", "project_id": DEFAULT_PROJECT_ID}).mountpoint
    assert field(mnt / PIPELINE_SUCCESS / "7" / "status") == "completed"
    v3, v5 = build_calls(sim, PIPELINE_SUCCESS)
    assert not v3 and len(v5) == 1
    assert field(mnt / PIPELINE_SUCCESS / "7" / "pipeline_run_id") == v5_run_id(PIPELINE_SUCCESS,
                                                                                  "7")


def test_auto_reads_with_v3_where_nothing_names_the_project(sim, mount_factory, tmp_path):
    mnt = mount_factory(sim.url, tmp_path / "mnt",
                        {"api": "auto", "pipelines": PIPELINE_SUCCESS}).mountpoint
    assert field(mnt / PIPELINE_SUCCESS / "7" / "status") == "completed"
    v3, v5 = build_calls(sim, PIPELINE_SUCCESS)
    assert len(v3) == 1 and not v5
    assert not (mnt / PIPELINE_SUCCESS / "7" / "pipeline_run_id").exists()


def test_auto_takes_the_project_from_the_pipeline_list(sim, mount_factory, tmp_path):
    mnt = mount_factory(sim.url, tmp_path / "mnt", {"api": "auto"}).mountpoint
    assert PIPELINE_SUCCESS in {entry.name for entry in mnt.iterdir()}   # the v3 list
    assert field(mnt / PIPELINE_SUCCESS / "7" / "status") == "completed"
    v3, v5 = build_calls(sim, PIPELINE_SUCCESS)
    assert not v3 and len(v5) == 1
    # once chosen, a pipeline stays with its API
    assert field(mnt / PIPELINE_SUCCESS / "latest" / "build_id") == "7"
    assert not build_calls(sim, PIPELINE_SUCCESS)[0]


# Each v5 status value (documented, seen in the wild, unknown, odd) and what
# the mount shows for it: (status, outcome) in v3's words; v5_status as given.
STATUS_MAP = {
    "COMPLETED": ("completed", "success"), "FAILED": ("completed", "error"),
    "CANCELED": ("completed", "aborted"), "RUNNING": ("running", ""),
    "ASYNC_RUNNING": ("running", ""), "ASYNC_FAILED": ("completed", "error"),
    "SKIPPED": ("completed", "skipped"), "UNSELECTED": ("completed", "skipped"),
    "IGNORED": ("completed", "ignored"), "QUEUED": ("waiting", ""), "INIT": ("waiting", ""),
    "PAUSED": ("verifying", ""), "SUSPEND": ("suspending", ""),
    "REDISPATCH": ("running", ""), "Completed": ("completed", "success"),
    "BRAND_NEW_STATE": ("brand_new_state", ""), "": ("", ""),
}


def test_every_v5_status_maps_to_v3_words_through_the_mount(sim_factory, mount_factory,
                                                            tmp_path):
    scenario = default_test_scenario()
    build = scenario["pipelines"][PIPELINE_SUCCESS]["builds"]["7"]["body"]
    template = build["states"][0]["children"][0]
    build["states"][0]["children"] = [
        {**template, "id": f"task_{number}", "name": f"t{number}", "v5_status": value}
        for number, value in enumerate(STATUS_MAP)]
    sim = sim_factory(scenario)
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    tasks = mnt / PIPELINE_SUCCESS / "7" / "stages" / "构建" / "tasks"
    seen = {}
    for number, value in enumerate(STATUS_MAP):
        task = tasks / f"t{number}"
        seen[value] = (read(task / "status").decode().rstrip("\n"),
                       read(task / "outcome").decode().rstrip("\n"))
        assert read(task / "v5_status") == value.encode() + b"\n"
    assert seen == STATUS_MAP


def test_a_json_message_is_split_and_gates_are_steps(sim_factory, mount_factory, tmp_path):
    scenario = default_test_scenario()
    states = scenario["pipelines"][PIPELINE_ERROR]["builds"]["12"]["body"]["states"]
    (task,) = [child for state in states for child in state["children"]
               if child["name"] == "unit-tests"]
    task["message_json"] = {"errorMessage": "compile failed: 3 errors",
                            "errorCode": "DEV-CODECI-35002"}
    stage = states[0]
    stage["pre"] = [{"name": "entry check", "v5_status": "COMPLETED", "log": "gate ok\n"}]
    stage["post"] = [{"name": "exit check", "v5_status": "FAILED"}]
    sim = sim_factory(scenario)
    mnt = v5_mount(mount_factory, sim, tmp_path).mountpoint
    build = mnt / PIPELINE_ERROR / "12"
    job = next((build / "stages").glob("*/tasks/unit-tests"))
    assert read(job / "error_msg") == b"compile failed: 3 errors\n"
    assert read(job / "error_code") == b"DEV-CODECI-35002\n"
    assert json.loads(read(job / "message")) == task["message_json"]
    gates = next(iter((build / "stages").iterdir())) / "gates"
    assert sorted(os.listdir(gates)) == ["entry check", "exit check"]
    assert read(gates / "entry check" / "gate") == b"pre\n"
    assert read(gates / "entry check" / "status") == b"completed\n"
    assert read(gates / "entry check" / "log") == b"gate ok\n"
    assert read(gates / "exit check" / "gate") == b"post\n"
    assert read(gates / "exit check" / "outcome") == b"error\n"
