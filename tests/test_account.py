"""Issue 8: every pipeline of the account, by name, and build history.

Through real mounts against the simulator: the root lists the pipeline list
call's answer (every page, fresh for list_ttl), by-name/ and projects/ are
symlinks made of it, a pipeline lists its builds of the last history=DAYS
days with times and no per-build request, and errors that come in 200
bodies are errors.

Backends: every test runs on v3 and v5 (BOTH_BACKENDS).  v3 lists the
account's pipelines with one list call (project_ids narrows it) and a
project's history with build-result (date windows of at most 28 days, one
history per project); v5 lists each project's pipelines (the fixture names
the scenario's projects: project_id= or projects=) and each pipeline's runs
(newest first, until a run older than history days).  Requests are counted
by call_name(); what only one API has (build-result's windows, the list
call's project_ids) is checked on that API.
"""
import errno
import json
import os
import pathlib
import signal
import time

import pytest

from conftest import (BOTH_BACKENDS, CALL_NAMES, DEFAULT_PROJECT_ID, PIPELINE_ERROR,
                      PIPELINE_RUNNING, PIPELINE_SUCCESS, api_epoch, api_time, call_name,
                      entries, errno_of, health, history_scenario, history_starts, log_lines,
                      many_pipelines_scenario, numbered_id, read, v5_path, wait_past, wait_until)

pytestmark = BOTH_BACKENDS


def list_path(backend, project_id=DEFAULT_PROJECT_ID):
    """The path of backend's pipeline list call (v5: the project's)."""
    return "/v3/pipelines/list" if backend == "v3" else v5_path(project_id, tail="/list")


def list_calls(sim, backend):
    """Every page of the pipeline list backend asked for, oldest first."""
    return sim.api_requests(call=call_name(backend, "list"))


def history_calls(sim, backend):
    """The history calls (v3: build-result windows; v5: runs list pages)."""
    return sim.api_requests(call=call_name(backend, "history"))


def build_calls(sim, backend, by_id=False):
    """Calls for builds: a build by id, and unless by_id the latest ones (v3's
    batch call too)."""
    names = tuple(CALL_NAMES[call][backend] for call in ("build", "batch")
                  if CALL_NAMES[call][backend])
    return [entry for entry in sim.api_requests(call=names) if entry["build_id"] or not by_id]


def bodies(requests):
    """The JSON bodies of POST requests."""
    return [json.loads(entry["body"]) for entry in requests]


def test_root_lists_every_pipeline_over_pages_and_a_second_ls_costs_nothing(
        sim_factory, mount_factory, tmp_path, backend):
    scenario = many_pipelines_scenario(120)
    sim = sim_factory(scenario)
    mount = mount_factory(sim.url, tmp_path / "mnt")
    assert sim.requests() == [], "nothing is fetched at mount"
    ids = [numbered_id("pipeline", n) for n in range(120)]
    assert entries(mount.mountpoint) == ids
    pages = list_calls(sim, backend)
    assert [(page["method"], page["path"]) for page in pages] == \
        [("POST", list_path(backend))] * 3
    assert sorted(body["offset"] for body in bodies(pages)) == [0, 50, 100]
    assert all(body["limit"] == 50 for body in bodies(pages))
    assert entries(mount.mountpoint) == ids
    assert len(list_calls(sim, backend)) == 3, "a second ls within list_ttl costs no request"
    assert build_calls(sim, backend) == [], "listing the root fetches no pipeline's build"


def test_list_ttl_refreshes_the_list(sim_factory, mount_factory, tmp_path):
    sim = sim_factory(many_pipelines_scenario(3))
    mount = mount_factory(sim.url, tmp_path / "mnt", {"list_ttl": 1})
    first = entries(mount.mountpoint)
    assert len(first) == 3
    scenario = many_pipelines_scenario(4)
    sim.set_scenario(scenario)
    wait_until(lambda: len(entries(mount.mountpoint)) == 4, message="the new pipeline listed")
    assert numbered_id("pipeline", 3) in entries(mount.mountpoint)


def test_a_pipeline_gone_from_the_list_leaves_the_root(sim_factory, mount_factory, tmp_path):
    sim = sim_factory(many_pipelines_scenario(3))
    mount = mount_factory(sim.url, tmp_path / "mnt", {"list_ttl": 1})
    assert len(entries(mount.mountpoint)) == 3
    sim.set_scenario(many_pipelines_scenario(2))
    wait_until(lambda: len(entries(mount.mountpoint)) == 2, message="the pipeline unlisted")


@pytest.mark.parametrize("mount_options", [{"pipelines": f"{PIPELINE_RUNNING}:{PIPELINE_SUCCESS}"}])
def test_pipelines_option_shows_exactly_those_and_lists_nothing(mnt, sim, backend):
    assert entries(mnt) == [PIPELINE_RUNNING, PIPELINE_SUCCESS]
    assert list_calls(sim, backend) == []
    assert sorted(os.listdir(mnt)) == sorted([".pipelinefs", PIPELINE_RUNNING, PIPELINE_SUCCESS])
    # by-name/ is found by path still, from the list call
    assert sorted(os.listdir(mnt / "by-name")) == sorted(["集成流水线", "后端服务-backend"])
    assert os.readlink(mnt / "by-name" / "集成流水线") == f"../{PIPELINE_RUNNING}"


def test_projects_option_narrows_the_list(sim_factory, mount_factory, tmp_path, backend):
    projects = [numbered_id("project", n) for n in range(3)]
    sim = sim_factory(many_pipelines_scenario(9, projects=projects))
    mount = mount_factory(sim.url, tmp_path / "mnt",
                          {"projects": f"{projects[0]}:{projects[2]}"})
    listed = entries(mount.mountpoint)
    wanted = [numbered_id("pipeline", n) for n in (0, 2, 3, 5, 6, 8)]
    pages = list_calls(sim, backend)
    if backend == "v3":
        # one list, newest first, narrowed by the call
        assert listed == wanted
        assert pages and all(body["project_ids"] == f"{projects[0]},{projects[2]}"
                             for body in bodies(pages))
    else:
        # v5 lists project by project: the order of the root is theirs
        assert sorted(listed) == sorted(wanted)
        assert sorted(page["path"] for page in pages) == \
            sorted(list_path(backend, project) for project in (projects[0], projects[2]))


HOSTILE = ["deploy/prod", "dup", "dup", "..", "", "\x1b[31mred", "tab\there", "后端服务",
           "x" * 300]


def test_by_name_links_with_hostile_and_duplicate_names(sim_factory, mount_factory, tmp_path):
    sim = sim_factory(many_pipelines_scenario(len(HOSTILE), names=HOSTILE))
    mount = mount_factory(sim.url, tmp_path / "mnt")
    by_name = pathlib.Path(mount.mountpoint) / "by-name"
    names = os.listdir(by_name)
    assert len(names) == len(HOSTILE) == len(set(names)), names
    assert "deploy_prod" in names and "dup" in names and "dup~2" in names
    assert "_[31mred" in names and "tab_here" in names and "后端服务" in names
    assert all(len(name.encode()) <= 255 and "/" not in name and name not in (".", "..")
               for name in names)
    targets = {name: os.readlink(by_name / name) for name in names}
    # the list comes newest first: the older "dup" keeps the plain name
    assert targets["dup"] == "../" + numbered_id("pipeline", 2)
    assert targets["dup~2"] == "../" + numbered_id("pipeline", 1)
    # the fallback for "" and "..": the pipeline's id
    for n in (3, 4):
        assert numbered_id("pipeline", n) in names
    # through the link, the pipeline
    assert read(by_name / "后端服务" / "1" / "status") == b"completed\n"
    assert os.path.islink(by_name / "dup")


def test_the_oldest_of_a_name_keeps_it_across_projects(sim_factory, mount_factory, tmp_path):
    # pipelines 1 (project B) and 2 (project A) are both "dup", 2 the older:
    # v5 lists A's pipelines (0, 2) then B's (1, 3), yet age decides
    projects = [numbered_id("project", n) for n in range(2)]
    sim = sim_factory(many_pipelines_scenario(4, projects=projects,
                                              names=["p0", "dup", "dup", "p3"]))
    mount = mount_factory(sim.url, tmp_path / "mnt")
    by_name = pathlib.Path(mount.mountpoint) / "by-name"
    assert sorted(os.listdir(by_name)) == ["dup", "dup~2", "p0", "p3"]
    assert os.readlink(by_name / "dup") == "../" + numbered_id("pipeline", 2)
    assert os.readlink(by_name / "dup~2") == "../" + numbered_id("pipeline", 1)


def test_projects_directory(sim_factory, mount_factory, tmp_path):
    projects = {numbered_id("project", 0): "Team/A", numbered_id("project", 1): "Team/A",
                numbered_id("project", 2): "平台"}
    sim = sim_factory(many_pipelines_scenario(6, projects=projects,
                                              names=lambda n: f"p{n % 2}"))
    mount = mount_factory(sim.url, tmp_path / "mnt")
    root = pathlib.Path(mount.mountpoint) / "projects"
    assert sorted(os.listdir(root)) == sorted(["Team_A", "Team_A~2", "平台"])
    assert sorted(os.listdir(root / "平台")) == ["p0", "p1"]
    assert os.readlink(root / "平台" / "p0") == "../../" + numbered_id("pipeline", 2)
    # projects 0 and 1 are both "Team/A": the older (listed later) keeps the name
    assert os.readlink(root / "Team_A" / "p1") == "../../" + numbered_id("pipeline", 1)
    assert os.readlink(root / "Team_A~2" / "p1") == "../../" + numbered_id("pipeline", 3)
    assert read(root / "Team_A" / "p0" / "1" / "outcome") == b"success\n"
    with pytest.raises(FileNotFoundError):
        os.lstat(root / "nothing")


def test_history_lists_builds_newest_first_with_times_and_no_build_request(
        sim_factory, mount_factory, tmp_path, backend):
    scenario = history_scenario(days_ago=(0, 2, 30, 31))
    sim = sim_factory(scenario)
    mount = mount_factory(sim.url, tmp_path / "mnt", {"history": 45, "prefetch": 0})
    pipeline_id = numbered_id("history", 0)
    pipeline = pathlib.Path(mount.mountpoint) / pipeline_id
    assert entries(pipeline) == ["latest", "4", "3", "2", "1"], "newest first"
    windows = history_calls(sim, backend)
    if backend == "v3":
        assert len({entry["query"] for entry in windows}) == len(windows) >= 2, \
            "45 days are asked in windows of at most 28"
    else:
        assert [(entry["path"], body["offset"]) for entry, body in
                zip(windows, bodies(windows))] == \
            [(v5_path(DEFAULT_PROJECT_ID, pipeline_id, "/pipeline-runs/list"), 0)], \
            "four runs are one page of the pipeline's runs"
    starts = history_starts(scenario)
    for build_id in ("1", "2", "3", "4"):
        stat = os.lstat(pipeline / build_id)
        start = api_epoch(starts[(numbered_id("history", 0), build_id)])
        assert stat.st_mtime == start + 300, build_id   # its end_time
    assert build_calls(sim, backend, by_id=True) == [], "ls -l fetches no build"
    assert read(pipeline / "2" / "status") == b"completed\n"
    assert len(history_calls(sim, backend)) == len(windows), "fresh for list_ttl"


def test_history_calls_per_project_on_v3_per_pipeline_on_v5_fresh_for_list_ttl(
        sim_factory, mount_factory, tmp_path, backend):
    """Two pipelines of one project, each listed by path (no root listing):
    both show their builds of the last days, from one build-result (v3) or
    one runs list each (v5), asked again after list_ttl."""
    sim = sim_factory(history_scenario(days_ago=(0, 1), pipelines=2))
    mount = mount_factory(sim.url, tmp_path / "mnt",
                          {"history": 7, "prefetch": 0, "list_ttl": 2})
    pipelines = [numbered_id("history", n) for n in range(2)]

    def builds():
        # "latest" is listed once known: with prefetch=0, not always
        return [[name for name in entries(pathlib.Path(mount.mountpoint) / pipeline_id)
                 if name != "latest"] for pipeline_id in pipelines]
    assert builds() == [["2", "1"], ["2", "1"]]
    first = history_calls(sim, backend)
    if backend == "v3":
        # one build-result window serves both pipelines of the project
        assert len(first) == 1, first
    else:
        assert sorted(entry["path"] for entry in first) == sorted(
            v5_path(DEFAULT_PROJECT_ID, pipeline_id, "/pipeline-runs/list")
            for pipeline_id in pipelines), "one runs list per pipeline"
    assert builds() == [["2", "1"], ["2", "1"]]
    assert len(history_calls(sim, backend)) == len(first), "fresh for list_ttl"
    wait_past(first[-1]["time"], 2, "list_ttl")
    wait_until(lambda: builds() and len(history_calls(sim, backend)) >= 2 * len(first),
               message="each history asked again after list_ttl")


def test_history_days_bound_what_is_listed(sim_factory, mount_factory, tmp_path):
    sim = sim_factory(history_scenario(days_ago=(0, 1, 20)))
    mount = mount_factory(sim.url, tmp_path / "mnt", {"history": 7, "prefetch": 0})
    pipeline = pathlib.Path(mount.mountpoint) / numbered_id("history", 0)
    assert entries(pipeline) == ["latest", "3", "2"]
    assert read(pipeline / "1" / "status") == b"completed\n", "an older build by id"
    assert entries(pipeline) == ["latest", "3", "2", "1"]


def test_history_zero_asks_for_none(sim_factory, mount_factory, tmp_path, backend):
    sim = sim_factory(history_scenario(days_ago=(0, 1)))
    mount = mount_factory(sim.url, tmp_path / "mnt", {"history": 0, "prefetch": 0})
    pipeline = pathlib.Path(mount.mountpoint) / numbered_id("history", 0)
    assert entries(pipeline) == ["latest", "2"], "the build latest named, seen"
    assert history_calls(sim, backend) == []


@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_an_error_in_a_200_body_is_an_error(sim, mount_factory, tmp_path, shape):
    body = ({"error_code": "DEVPIPE.00011104", "error_msg": "bad parameter"} if shape == "flat"
            else {"error": {"code": "DEVPIPE.00011104", "message": "bad parameter"}})
    sim.fault(kind="status", status=200, body=body, pipeline_id=PIPELINE_ERROR)
    mount = mount_factory(sim.url, tmp_path / "mnt", {"pipelines": PIPELINE_ERROR})
    mnt = pathlib.Path(mount.mountpoint)
    with pytest.raises(OSError) as error:
        read(mnt / PIPELINE_ERROR / "12" / "status")
    assert error.value.errno == errno.EIO
    assert "DEVPIPE.00011104" in health(mnt).get("last_error", "")
    assert log_lines(mount, "HTTP 200 DEVPIPE.00011104 bad parameter")


def test_no_permission_in_a_200_body_is_eacces(sim, mount_factory, tmp_path):
    sim.fault(kind="status", status=200, pipeline_id=PIPELINE_ERROR,
              body={"error_code": "DEVCP.00014031", "error_msg": "no permission"})
    mount = mount_factory(sim.url, tmp_path / "mnt", {"pipelines": PIPELINE_ERROR})
    with pytest.raises(PermissionError):
        read(pathlib.Path(mount.mountpoint) / PIPELINE_ERROR / "12" / "status")


def test_coct_throttling_with_500_is_throttling_not_an_outage(sim, mount_factory, tmp_path):
    sim.fault(kind="status", status=500, count=1, pipeline_id=PIPELINE_ERROR,
              body={"error_code": "COCT.0070003", "error_msg": "access too frequent"})
    mount = mount_factory(sim.url, tmp_path / "mnt",
                          {"pipelines": PIPELINE_ERROR, "timeout": 20})
    mnt = pathlib.Path(mount.mountpoint)
    # waited out within the reader's time, then answered
    assert read(mnt / PIPELINE_ERROR / "12" / "status") == b"completed\n"
    assert "COCT.0070003" in health(mnt).get("last_error", "")


def test_a_failing_list_is_eio_until_one_comes_then_the_last_one_stays(
        sim_factory, mount_factory, tmp_path, backend):
    error = {"error_code": "DEVPIPE.00011104", "error_msg": "bad parameter"}
    list_call = call_name(backend, "list")
    sim = sim_factory(many_pipelines_scenario(2))
    sim.fault(kind="status", status=200, call=list_call, body=error)
    mount = mount_factory(sim.url, tmp_path / "mnt", {"list_ttl": 1})
    # no list yet: an error, not an empty root that says there is nothing
    assert errno_of(os.listdir, mount.mountpoint) == errno.EIO
    assert log_lines(mount, f"POST {list_path(backend)}: HTTP 200 DEVPIPE.00011104")
    sim.clear_faults()

    def listed():
        try:
            return len(entries(mount.mountpoint)) == 2
        except OSError:
            return False
    wait_until(listed, message="listed once the list call works")
    failed_before = len([entry for entry in list_calls(sim, backend) if entry["status"] == 200])
    sim.fault(kind="status", status=500, call=list_call)
    wait_until(lambda: entries(mount.mountpoint) and
               [entry for entry in list_calls(sim, backend) if entry["status"] == 500],
               message="a refresh that fails")
    assert len(entries(mount.mountpoint)) == 2, "the last list stays"
    assert failed_before >= 1


def test_names_in_the_summaries(sim_factory, mount_factory, tmp_path, backend):
    sim = sim_factory(many_pipelines_scenario(2, names=["alpha svc", "beta"]))
    mnt = pathlib.Path(mount_factory(sim.url, tmp_path / "mnt").mountpoint)
    ids = entries(mnt)
    root = {line.split()[0]: line.split()
            for line in read(mnt / ".pipelinefs" / "summary").decode().splitlines()}
    assert root[ids[0]][1] == "alpha_svc" and root[ids[1]][1] == "beta"
    assert list_calls(sim, backend), "names from the list"
    read(mnt / ids[1] / "1" / "status")
    lines = read(mnt / ids[1] / "summary").decode().splitlines()
    assert lines and all(line.split()[-1] == "beta" for line in lines)


def test_sighup_asks_for_the_list_again(sim_factory, mount_factory, tmp_path, backend):
    sim = sim_factory(many_pipelines_scenario(2))
    mount = mount_factory(sim.url, tmp_path / "mnt")
    assert len(entries(mount.mountpoint)) == 2
    assert len(list_calls(sim, backend)) == 1
    sim.set_scenario(many_pipelines_scenario(3))
    mount.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: len(entries(mount.mountpoint)) == 3, message="the list asked again")
    assert len(list_calls(sim, backend)) == 2


def test_history_days_are_days_not_dates(sim_factory, mount_factory, tmp_path):
    """history=1 asks for the dates of yesterday and today, but lists only
    the builds of the last 24 hours."""
    scenario = history_scenario(days_ago=(0, 1, 2))
    now = time.time()
    since_midnight = (now + 8 * 3600) % 86400       # in the service's zone, +08:00
    builds = scenario["pipelines"][numbered_id("history", 0)]["builds"]
    # "1": yesterday's date, so asked for, but more than 24 hours ago
    for build_id, age in (("1", 86400 + since_midnight / 2), ("2", 23 * 3600), ("3", 600)):
        body = builds[build_id]["body"]
        body["start_time"], body["end_time"] = api_time(now - age), api_time(now - age + 60)
    sim = sim_factory(scenario)
    mount = mount_factory(sim.url, tmp_path / "mnt", {"history": 1, "prefetch": 0})
    pipeline = pathlib.Path(mount.mountpoint) / numbered_id("history", 0)
    assert entries(pipeline) == ["latest", "3", "2"]


def test_pipeline_summary_shows_history_builds_without_fetching_them(
        sim_factory, mount_factory, tmp_path, backend):
    scenario = history_scenario(days_ago=(0, 1, 2))
    sim = sim_factory(scenario)
    mount = mount_factory(sim.url, tmp_path / "mnt", {"history": 7, "prefetch": 0})
    pipeline = pathlib.Path(mount.mountpoint) / numbered_id("history", 0)
    assert entries(pipeline) == ["latest", "3", "2", "1"]
    lines = [line.split() for line in read(pipeline / "summary").decode().splitlines()]
    starts = history_starts(scenario)
    assert [line[0] for line in lines] == ["3", "2", "1"]
    for line in lines:
        start = starts[(numbered_id("history", 0), line[0])]
        assert line[1:7] == ["✓", "completed", "success", *start.split(), "5m00s"], line
    assert build_calls(sim, backend, by_id=True) == [], "the summary fetches no build"
