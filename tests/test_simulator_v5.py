"""The simulator's v5 API (and /v4/projects) on its own, over HTTP: no daemon.

Every v5 answer is derived from the same scenario as the v3 one (issue 9,
item 4), so these tests pin down the mapping the daemon's v5 backend will be
judged against: statuses, times, ids, stages/jobs/steps, gates, messages,
paging of runs, pipelines and step logs, and that auth, faults and the
request log cover the v5 calls as they do v3's.
"""

import base64
import http.client
import json
import pathlib
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import (DEFAULT_PROJECT_ID, FAILED_TASK_ERROR_CODE, FAILED_TASK_ERROR_MSG,
                      PIPELINE_ERROR, PIPELINE_NULLS, PIPELINE_RUNNING, PIPELINE_SUCCESS, REPO,
                      SIM, TEST_TOKEN, api_epoch, default_test_scenario, scaled, v5_run_id,
                      v5_task)

sys.path.insert(0, str(pathlib.Path(SIM).resolve().parent))
from pipelinefs_sim import auth as sim_auth  # noqa: E402  (the simulator's own modules)
from pipelinefs_sim import v5 as sim_v5  # noqa: E402

SCENARIOS = REPO / "contrib" / "scenarios"
OTHER_PROJECT = "abcdefabcdefabcdefabcdefabcdef00"
UNKNOWN_PIPELINE = "ffffffffffffffffffffffffffffffff"
HEX32 = re.compile(r"[0-9a-f]{32}")
AK, SK = "V5TESTAK000000000001", "v5-test-secret-key"


def v5_path(pipeline_id=None, tail="", project_id=DEFAULT_PROJECT_ID):
    """/v5/{project}/api/pipelines[/{pipeline}]{tail}."""
    middle = "" if pipeline_id is None else f"/{pipeline_id}"
    return f"/v5/{project_id}/api/pipelines{middle}{tail}"


def call(sim, method, path, payload=None, token=TEST_TOKEN, headers=None):
    """(status, body bytes) of an API request, whatever the status."""
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["X-Auth-Token"] = token
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(sim.url + path, data=data, headers=all_headers,
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=scaled(10)) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def call_json(sim, method, path, payload=None, **kwargs):
    status, body = call(sim, method, path, payload, **kwargs)
    return status, json.loads(body)


def detail(sim, pipeline_id, query="", project_id=DEFAULT_PROJECT_ID):
    path = v5_path(pipeline_id, "/pipeline-runs/detail", project_id)
    return call_json(sim, "GET", path + (f"?{query}" if query else ""))


def runs(sim, pipeline_id, **request):
    return call_json(sim, "POST", v5_path(pipeline_id, "/pipeline-runs/list"), request)


def log_path(pipeline_id, run, job, step):
    return v5_path(pipeline_id, f"/pipeline-runs/{run['id']}/jobs/{job['id']}"
                                f"/steps/{step['id']}/logs")


def log_page(sim, path, start="0", end="0", limit=500, sort="asc"):
    status, body = call(sim, "POST", path, {"start_offset": start, "end_offset": end,
                                            "limit": limit, "sort": sort})
    assert status == 200, body
    return json.loads(body)


def read_whole_log(sim, path, limit=500):
    """Page through a log with the offsets the service gives; (text, pages)."""
    text, offset, pages = "", "0", 0
    while True:
        page = log_page(sim, path, start=offset, limit=limit)
        pages += 1
        text += page["log"]
        assert isinstance(page["end_offset"], str) and isinstance(page["start_offset"], str)
        offset = page["end_offset"]
        if not page["has_more"]:
            return text, pages


def ms(text):
    return int(api_epoch(text) * 1000) if text else 0


def one_build_scenario(body, timeline=(), pipeline_id=PIPELINE_SUCCESS, build_id="1",
                       **pipeline):
    return {"token": TEST_TOKEN, "pipelines": {pipeline_id: {
        **pipeline, "builds": {build_id: {"body": body, "timeline": list(timeline)}}}}}


def task(name, status="completed", outcome="success", start="2026-11-28 09:00:00",
         end="2026-11-28 09:01:00", **extra):
    return {"id": f"Task_{name}", "name": name, "type": "task", "status": status,
            "outcome": outcome, "start_time": start, "end_time": end, "error_code": None,
            "error_msg": None, "children": [], **extra}


def run_body(tasks, status="completed", outcome="success", stage_extra=None, **extra):
    stage = {"id": "state_1", "name": "构建", "type": "stage", "status": status,
             "outcome": outcome, "start_time": "2026-11-28 09:00:00",
             "end_time": "2026-11-28 09:01:00", "children": tasks, **(stage_extra or {})}
    return {"pipeline_id": PIPELINE_SUCCESS, "pipeline_name": "v5", "executor": "wangwu",
            "build_id": "1", "status": status, "outcome": outcome,
            "start_time": "2026-11-28 09:00:00", "end_time": "2026-11-28 09:01:00",
            "states": [stage], **extra}


# --------------------------------------------------------------------------
# Status mapping

RUN_MAPPING = [("running", None, "RUNNING"), ("completed", "success", "COMPLETED"),
               ("completed", "error", "FAILED"), ("completed", "aborted", "CANCELED"),
               ("completed", None, "COMPLETED"), ("completed", "skipped", "SKIPPED"),
               ("waiting", None, "QUEUED"), ("verifying", None, "PAUSED"),
               ("suspending", None, "SUSPEND"), ("brand_new", None, "BRAND_NEW"),
               (None, None, None)]


@pytest.mark.parametrize("status,outcome,expected", RUN_MAPPING,
                         ids=[f"{s}-{o}" for s, o, _ in RUN_MAPPING])
def test_each_v3_status_maps_to_its_v5_status(sim_factory, status, outcome, expected):
    """Run, stage, job and step alike, except waiting: QUEUED for a run, INIT below it."""
    sim = sim_factory(one_build_scenario(run_body([task("t", status, outcome)], status,
                                                  outcome)))
    code, run = detail(sim, PIPELINE_SUCCESS)
    assert code == 200
    below = "INIT" if status == "waiting" else expected
    stage = run["stages"][0]
    job = stage["jobs"][0]
    assert (run["status"], stage["status"], job["status"], job["steps"][0]["status"]) == (
        expected, below, below, below)
    finished = status == "completed"
    assert run["end_time"] == (ms("2026-11-28 09:01:00") if finished else 0)
    assert job["end_time"] == run["end_time"]


def test_v5_status_key_is_served_as_is_at_every_level(sim_factory):
    body = run_body([task("t", v5_status="ASYNC_RUNNING",
                          steps=[{"name": "s", "v5_status": "REDISPATCH"}])],
                    stage_extra={"v5_status": "UNSELECTED"}, v5_status="IGNORED")
    sim = sim_factory(one_build_scenario(body))
    _, run = detail(sim, PIPELINE_SUCCESS)
    job = run["stages"][0]["jobs"][0]
    assert (run["status"], run["stages"][0]["status"], job["status"],
            job["steps"][0]["status"]) == ("IGNORED", "UNSELECTED", "ASYNC_RUNNING", "REDISPATCH")


# --------------------------------------------------------------------------
# Run detail of every build of the default scenario


def default_builds():
    scenario = default_test_scenario()
    return [(pipeline_id, build_id, build["body"])
            for pipeline_id, pipeline in scenario["pipelines"].items()
            for build_id, build in pipeline["builds"].items()]


@pytest.mark.parametrize("pipeline_id,build_id,body", default_builds(),
                         ids=[f"{p[:6]}-{b}" for p, b, _ in default_builds()])
def test_run_detail_of_each_default_build_mirrors_its_v3_body(sim, pipeline_id, build_id, body):
    code, run = detail(sim, pipeline_id, f"pipeline_run_number={build_id}")
    assert code == 200
    assert HEX32.fullmatch(run["id"]) and run["id"] == v5_run_id(pipeline_id, build_id)
    assert run["run_number"] == int(build_id) and run["pipeline_id"] == pipeline_id
    assert run["project_id"] == DEFAULT_PROJECT_ID
    assert run["status"] == sim_v5.v5_status(body, run=True)
    assert run["start_time"] == ms(body["start_time"])
    assert run["end_time"] == (ms(body["end_time"]) if body["status"] == "completed" else 0)
    assert run["executor_name"] == (body["executor"] or "")
    assert [stage["name"] for stage in run["stages"]] == [s["name"] for s in body["states"]]
    assert [stage["identifier"] for stage in run["stages"]] == [s["id"] for s in body["states"]]
    for stage, state in zip(run["stages"], body["states"]):
        assert stage["pre"] == stage["post"] == [] and stage["parallel"] == "false"
        tasks = state["children"] or []
        assert [job["name"] for job in stage["jobs"]] == [t["name"] for t in tasks]
        for job, v3_task in zip(stage["jobs"], tasks):
            assert job["message"] == v3_task["error_msg"] and job["async"] == "false"
            step, = job["steps"]
            assert step["name"] == v3_task["name"] and step["status"] == job["status"]
    # the same run by its id, and as the latest when it is
    assert detail(sim, pipeline_id, f"pipeline_run_id={run['id']}") == (200, run)
    if build_id != "6":
        assert detail(sim, pipeline_id) == (200, run)


def test_failed_job_carries_the_task_error_as_message(sim):
    _, run = detail(sim, PIPELINE_ERROR)
    job = run["stages"][1]["jobs"][1]
    assert (run["status"], job["name"], job["status"], job["message"]) == (
        "FAILED", "unit-tests", "FAILED", FAILED_TASK_ERROR_MSG)


def test_v5_keys_added_to_the_default_scenario_leave_its_v3_answer_alone(sim_factory):
    scenario = v5_task(default_test_scenario(), PIPELINE_ERROR, "12", 1, 1, message_json=True,
                       steps=[{"name": "npm test", "log": "1 passing\n3 failing\n"}])
    sim = sim_factory(scenario)
    status, v3 = call_json(sim, "GET", f"/v3/pipelines/{PIPELINE_ERROR}/status")
    assert status == 200 and v3["states"][1]["children"][1]["error_msg"] == FAILED_TASK_ERROR_MSG
    _, run = detail(sim, PIPELINE_ERROR)
    job = run["stages"][1]["jobs"][1]
    assert json.loads(job["message"]) == {"errorMessage": FAILED_TASK_ERROR_MSG,
                                          "errorCode": FAILED_TASK_ERROR_CODE}
    step, = job["steps"]
    text, _ = read_whole_log(sim, log_path(PIPELINE_ERROR, run, job, step))
    assert (step["name"], text) == ("npm test", "1 passing\n3 failing\n")


def test_message_json_gives_the_json_form_of_the_error(sim_factory):
    failed = task("unit", "completed", "error", error_msg="3 failing",
                  error_code="DEV-CODECI-35002", message_json=True)
    given = task("lint", "completed", "error", message_json={"errorMessage": "x", "k": 1})
    sim = sim_factory(one_build_scenario(run_body([failed, given], "completed", "error")))
    _, run = detail(sim, PIPELINE_SUCCESS)
    first, second = run["stages"][0]["jobs"]
    assert isinstance(first["message"], str)
    assert json.loads(first["message"]) == {"errorMessage": "3 failing",
                                            "errorCode": "DEV-CODECI-35002"}
    assert json.loads(second["message"]) == {"errorMessage": "x", "k": 1}


def test_steps_and_gates_come_from_the_scenario(sim_factory):
    steps = [{"name": "checkout", "task": "official_git_plugin"},
             {"name": "compile", "status": "completed", "outcome": "error", "message": "boom"}]
    gates = {"pre": [{"name": "entry rule", "status": "completed", "outcome": "success"}],
             "post": [{"name": "人工审核", "status": "verifying", "outcome": None}]}
    body = run_body([task("build", "completed", "error", steps=steps)], "completed", "error",
                    stage_extra=gates)
    sim = sim_factory(one_build_scenario(body))
    _, run = detail(sim, PIPELINE_SUCCESS)
    stage = run["stages"][0]
    job, = stage["jobs"]
    assert [(s["name"], s["task"], s["status"], s["sequence"]) for s in job["steps"]] == [
        ("checkout", "official_git_plugin", "FAILED", 0), ("compile", "official_shell_plugin",
                                                           "FAILED", 1)]
    assert job["steps"][1]["message"] == "boom"
    assert [(g["name"], g["status"]) for g in stage["pre"]] == [("entry rule", "COMPLETED")]
    assert [(g["name"], g["status"], g["end_time"]) for g in stage["post"]] == [
        ("人工审核", "PAUSED", 0)]
    ids = [stage["id"], job["id"]] + [s["id"] for s in job["steps"] + stage["pre"] + stage["post"]]
    assert all(HEX32.fullmatch(value) for value in ids) and len(set(ids)) == len(ids)


def test_the_running_build_moves_on_with_the_clock(sim):
    assert detail(sim, PIPELINE_RUNNING)[1]["status"] == "RUNNING"
    sim.advance(30)
    _, run = detail(sim, PIPELINE_RUNNING)
    assert [stage["status"] for stage in run["stages"]] == ["COMPLETED", "PAUSED"]
    sim.advance(30)
    _, run = detail(sim, PIPELINE_RUNNING)
    assert run["status"] == "COMPLETED" and run["end_time"] == ms("2026-11-28 10:01:00")


def test_detail_errors(sim):
    assert detail(sim, UNKNOWN_PIPELINE)[0] == 404
    code, body = detail(sim, PIPELINE_SUCCESS, project_id=OTHER_PROJECT)
    assert (code, body["error_code"]) == (200, "DEVPIPE.00011136")
    for query in ("pipeline_run_number=99", "pipeline_run_id=" + "0" * 32):
        code, body = detail(sim, PIPELINE_SUCCESS, query)
        assert (code, body["error_code"]) == (400, "DEVPIPE.00011104")


def test_a_raw_build_that_is_not_json_is_served_as_written(sim_factory):
    scenario = {"token": TEST_TOKEN, "pipelines": {PIPELINE_SUCCESS: {
        "builds": {"1": {"raw": "<html>not json</html>"}}}}}
    sim = sim_factory(scenario)
    status, body = call(sim, "GET", v5_path(PIPELINE_SUCCESS, "/pipeline-runs/detail"))
    assert (status, body) == (200, b"<html>not json</html>")


SHIPPED = sorted(path.name for path in SCENARIOS.glob("*.json")
                 if "pipelines" in json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_build_of_the_shipped_scenarios_is_served_as_v5(sim_factory, name):
    """demo.json's raw seed build (a JSON object with nulls) too."""
    data = json.loads((SCENARIOS / name).read_text(encoding="utf-8"))
    sim = sim_factory(SCENARIOS / name, token=data.get("token", TEST_TOKEN))
    token = data.get("token", TEST_TOKEN)
    for pipeline_id, pipeline in data["pipelines"].items():
        project = pipeline.get("project_id", DEFAULT_PROJECT_ID)
        path = v5_path(pipeline_id, "/pipeline-runs/list", project)
        status, listing = call_json(sim, "POST", path, {"limit": 100}, token=token)
        assert status == 200 and listing["total"] == len(pipeline["builds"])
        for item in listing["pipeline_runs"]:
            query = f"?pipeline_run_id={item['pipeline_run_id']}"
            status, run = call_json(sim, "GET", v5_path(pipeline_id, "/pipeline-runs/detail",
                                                        project) + query, token=token)
            assert status == 200 and run["run_number"] == item["run_number"]


# --------------------------------------------------------------------------
# Runs list, pipeline list, projects


def many_runs_scenario(count):
    builds = {str(number): {"body": run_body([task("t")], build_id=str(number),
                                             outcome="success" if number % 3 else "error")}
              for number in range(1, count + 1)}
    return {"token": TEST_TOKEN, "pipelines": {PIPELINE_SUCCESS: {"builds": builds}}}


def test_runs_list_pages_newest_first(sim_factory):
    sim = sim_factory(many_runs_scenario(25))
    numbers = []
    for offset in (0, 10, 20):
        status, page = runs(sim, PIPELINE_SUCCESS, offset=offset, limit=10)
        assert status == 200 and (page["offset"], page["limit"], page["total"]) == (
            offset, 10, 25)
        numbers += [item["run_number"] for item in page["pipeline_runs"]]
    assert numbers == list(range(25, 0, -1))
    status, page = runs(sim, PIPELINE_SUCCESS, limit=100, status=["FAILED"])
    assert page["total"] == 8 and all(item["status"] == "FAILED" for item in page["pipeline_runs"])
    item = page["pipeline_runs"][0]
    assert item["pipeline_run_id"] == v5_run_id(PIPELINE_SUCCESS, str(item["run_number"]))
    assert item["stage_status_list"][0]["name"] == "构建"
    assert isinstance(item["stage_status_list"][0]["start_time"], str)
    assert runs(sim, PIPELINE_SUCCESS, limit=0)[0] == 400
    assert runs(sim, PIPELINE_SUCCESS, limit=101)[0] == 400


def test_pipeline_list_of_a_project(sim):
    status, page = call_json(sim, "POST", v5_path(tail="/list"), {})
    assert status == 200 and page["total"] == 4 and page["offset"] == 0
    by_id = {item["pipeline_id"]: item for item in page["pipelines"]}
    assert set(by_id) == {PIPELINE_SUCCESS, PIPELINE_ERROR, PIPELINE_RUNNING, PIPELINE_NULLS}
    item = by_id[PIPELINE_SUCCESS]
    assert (item["name"], item["project_id"]) == ("后端服务-backend", DEFAULT_PROJECT_ID)
    assert item["latest_run"]["run_number"] == 7 and item["latest_run"]["status"] == "COMPLETED"
    assert isinstance(item["create_time"], int)
    assert by_id[PIPELINE_ERROR]["latest_run"]["status"] == "FAILED"
    status, page = call_json(sim, "POST", v5_path(tail="/list"), {"name": "FRONTEND"})
    assert [item["pipeline_id"] for item in page["pipelines"]] == [PIPELINE_ERROR]
    status, page = call_json(sim, "POST", v5_path(tail="/list"), {"offset": 1, "limit": 2})
    assert (page["total"], len(page["pipelines"])) == (4, 2)
    status, body = call_json(sim, "POST", v5_path(tail="/list", project_id=OTHER_PROJECT), {})
    assert (status, body["error_code"]) == (400, "DEVPIPE.30021001")


def test_projects_list(sim_factory):
    scenario = default_test_scenario()
    scenario["projects"] = {OTHER_PROJECT: "商城 shop"}
    sim = sim_factory(scenario)
    status, body = call_json(sim, "GET", "/v4/projects?offset=0&limit=10")
    assert status == 200 and body["total"] == 2
    assert [(p["project_id"], p["project_name"]) for p in body["projects"]] == [
        (OTHER_PROJECT, "商城 shop"), (DEFAULT_PROJECT_ID, "project-0d1e2f")]
    assert all(isinstance(p["project_num_id"], int) and isinstance(p["created_time"], int)
               for p in body["projects"])
    assert call_json(sim, "GET", "/v4/projects?offset=1&limit=1")[1]["projects"][0][
        "project_id"] == DEFAULT_PROJECT_ID
    assert call(sim, "GET", "/v4/projects?offset=0&limit=1001")[0] == 400


# --------------------------------------------------------------------------
# Step logs


def log_scenario(step, status="completed", outcome="success", timeline=()):
    return one_build_scenario(run_body([task("build", status, outcome, steps=[step])], status,
                                       outcome), timeline)


def only_step(sim):
    _, run = detail(sim, PIPELINE_SUCCESS)
    job = run["stages"][0]["jobs"][0]
    return log_path(PIPELINE_SUCCESS, run, job, job["steps"][0])


def test_a_20000_line_log_reads_in_full_by_pages_byte_identical(sim_factory):
    sim = sim_factory(log_scenario({"name": "compile", "log_lines": 20000}))
    path = only_step(sim)
    start = ms("2026-11-28 09:00:00")
    expected = b"".join(sim_v5.generated_line("compile", start, number, 20000)
                        for number in range(1, 20001))
    sim.clear_requests()
    text, pages = read_whole_log(sim, path, limit=1000)      # asks for more than a page
    assert text.encode("utf-8") == expected
    assert pages == 40
    assert len([e for e in sim.requests() if e["call"] == "v5_log"]) == 40
    first = log_page(sim, path, limit=3)
    assert first["log"].splitlines() == expected.decode().splitlines()[:3]
    assert first["has_more"] is True and first["start_offset"] == "0"


def test_descending_pages_go_back_from_the_end(sim_factory):
    sim = sim_factory(log_scenario({"name": "s", "log": "a\nb\nc\nd\n"}))
    path = only_step(sim)
    page = log_page(sim, path, limit=2, sort="desc")
    assert page["log"] == "d\nc\n" and page["has_more"] is True
    page = log_page(sim, path, end=page["start_offset"], limit=2, sort="desc")
    assert page["log"] == "b\na\n" and page["has_more"] is False


def test_log_requests_need_limit_and_sort(sim_factory):
    sim = sim_factory(log_scenario({"name": "s", "log": "x\n"}))
    path = only_step(sim)
    for request in ({"sort": "asc"}, {"limit": 10}, {"limit": 0, "sort": "asc"},
                    {"limit": 10, "sort": "asc", "start_offset": "nope"}):
        status, body = call_json(sim, "POST", path, request)
        assert (status, body["error_code"]) == (400, "DEVPIPE.00011104"), request
    bad = path.replace(path.rsplit("/steps/", 1)[1], "0" * 32 + "/logs")
    assert call(sim, "POST", bad, {"limit": 1, "sort": "asc"})[0] == 400


def test_a_running_steps_log_grows_with_the_clock_and_ends_whole(sim_factory):
    step = {"name": "test", "log_lines": 1000, "log_lines_per_second": 10}
    done = {"at": 60, "set": {"status": "completed", "outcome": "success",
                              "states.0.status": "completed",
                              "states.0.children.0.status": "completed"}}
    sim = sim_factory(log_scenario(step, "running", None, [done]))
    path = only_step(sim)
    page = log_page(sim, path)
    assert (page["log"], page["has_more"], page["end_offset"]) == ("", False, "0")
    sim.advance(5)
    page = log_page(sim, path, start=page["end_offset"])
    assert len(page["log"].splitlines()) == 50 and page["has_more"] is False
    sim.advance(2)
    more = log_page(sim, path, start=page["end_offset"])
    assert more["log"].splitlines()[0].endswith("log line 51 of 1000")
    assert len(more["log"].splitlines()) == 20
    sim.advance(60)                                     # finished: all of it, nothing more
    text, _ = read_whole_log(sim, path)
    assert len(text.splitlines()) == 1000


def test_a_step_not_started_has_no_log_and_default_logs_tell_the_error(sim):
    _, run = detail(sim, PIPELINE_RUNNING)
    job = run["stages"][1]["jobs"][0]
    assert log_page(sim, log_path(PIPELINE_RUNNING, run, job, job["steps"][0]))["log"] == ""
    _, run = detail(sim, PIPELINE_ERROR)
    job = run["stages"][1]["jobs"][1]
    text, _ = read_whole_log(sim, log_path(PIPELINE_ERROR, run, job, job["steps"][0]))
    assert f"[ERROR] unit-tests: {FAILED_TASK_ERROR_MSG}" in text


def test_a_hostile_log_is_served_byte_for_byte(sim_factory):
    hostile = (b"ok \xff\xfe bad utf-8\n\x00nul\x1b[31mred\x1b[0m \"q\" \\ \t\r\n"
               + b"y" * 1_000_000 + b"\n" + "中文".encode() + b" no newline")
    sim = sim_factory(log_scenario({"name": "s",
                                    "log_base64": base64.b64encode(hostile).decode()}))
    status, body = call(sim, "POST", only_step(sim), {"limit": 500, "sort": "asc"})
    assert status == 200
    raw = body.split(b'"log": "', 1)[1].rsplit(b'"}', 1)[0]
    unescaped = (raw.replace(b"\\n", b"\n").replace(b"\\u0000", b"\x00")
                 .replace(b"\\u001b", b"\x1b").replace(b"\\u0009", b"\t")
                 .replace(b"\\u000d", b"\r").replace(b'\\"', b'"').replace(b"\\\\", b"\\"))
    assert unescaped == hostile
    # the JSON escapes decode to the same bytes where the text is valid UTF-8
    assert json.loads(body.replace(b"\xff\xfe", b""))["log"].encode() == hostile.replace(
        b"\xff\xfe", b"")


# --------------------------------------------------------------------------
# Auth, faults, the request log


def every_v5_call(sim):
    """(method, path, payload) of each v5 call and the project list."""
    _, run = detail(sim, PIPELINE_ERROR)
    job = run["stages"][0]["jobs"][0]
    return [("GET", v5_path(PIPELINE_ERROR, "/pipeline-runs/detail"), None),
            ("POST", v5_path(PIPELINE_ERROR, "/pipeline-runs/list"), {}),
            ("POST", v5_path(tail="/list"), {}),
            ("POST", log_path(PIPELINE_ERROR, run, job, job["steps"][0]),
             {"limit": 10, "sort": "asc"}),
            ("GET", "/v4/projects?offset=0&limit=10", None)]


def test_every_v5_call_refuses_missing_or_wrong_credentials(sim):
    for method, path, payload in every_v5_call(sim):
        for token in (None, "wrong"):
            status, body = call_json(sim, method, path, payload, token=token)
            assert (status, body["error_code"]) == (401, "APIG.0301"), (path, token)
        assert call(sim, method, path, payload)[0] == 200, path
    calls = [entry["call"] for entry in sim.requests()[1:]]
    assert calls == [kind for kind in sim_v5.CALLS for _ in range(3)]


def signed_call(sim, method, path, payload, sk=SK):
    body = b"" if payload is None else json.dumps(payload).encode()
    parts = urllib.parse.urlsplit(path)
    headers = {"host": f"127.0.0.1:{sim.port}",
               "x-sdk-date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}
    headers["authorization"] = sim_auth.sign(AK, sk, method, parts.path, parts.query, headers,
                                             body)
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=scaled(5))
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_every_v5_call_accepts_aksk_and_refuses_a_bad_signature(sim):
    sim.auth(credentials=[{"ak": AK, "sk": SK}])
    for method, path, payload in every_v5_call(sim):
        assert signed_call(sim, method, path, payload)[0] == 200, path
        status, body = signed_call(sim, method, path, payload, sk="wrong")
        assert (status, body["error_msg"]) == (401, sim_auth.WHY_SIGNATURE), path
    sim.auth(reset_locks=True)


def test_a_fault_on_one_v5_call_leaves_the_others(sim):
    calls = every_v5_call(sim)
    sim.fault(kind="status", status=500, call="v5_log", count=1,
              body={"error_code": "COCT.0070003", "error_msg": "access too frequent"})
    method, path, payload = calls[3]
    status, body = call_json(sim, method, path, payload)
    assert (status, body["error_code"]) == (500, "COCT.0070003")
    assert call(sim, method, path, payload)[0] == 200
    sim.fault(kind="status", status=503, call="v5_detail", build_id="12")
    assert detail(sim, PIPELINE_ERROR, "pipeline_run_number=12")[0] == 503
    assert detail(sim, PIPELINE_SUCCESS, "pipeline_run_number=7")[0] == 200
    sim.fault(kind="wrong_types", call="projects")
    status, body = call_json(sim, "GET", "/v4/projects?offset=0&limit=10")
    assert status == 200 and body["total"] == "2"
    logged = [entry for entry in sim.requests() if entry["call"] == "v5_detail"]
    assert logged[-2]["build_id"] == "12" and logged[-2]["pipeline_id"] == PIPELINE_ERROR
    assert logged[-2]["project_ids"] == [DEFAULT_PROJECT_ID] and logged[-2]["status"] == 503


def test_latency_applies_to_v5_calls(sim):
    sim.latency(PIPELINE_SUCCESS, 0.3)
    begun = time.monotonic()
    assert detail(sim, PIPELINE_SUCCESS)[0] == 200
    assert time.monotonic() - begun >= 0.3


def test_help_lists_the_v5_calls():
    text = subprocess.run([sys.executable, SIM, "--help"], capture_output=True, text=True,
                          timeout=scaled(10), check=True).stdout
    for needle in ("/pipeline-runs/detail", "/pipeline-runs/list", "/api/pipelines/list",
                   "/steps/{step_run_id}/logs", "/v4/projects", "log_lines_per_second",
                   "message_json", "v5_log"):
        assert needle in text, needle
