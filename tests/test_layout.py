"""What a user sees through the mount: directories, file names and contents.

Every value is read through a real pipelinefs mount of the simulator and
compared with the scenario it serves, as v3 and as v5 (BOTH_BACKENDS): the
v5 tree keeps v3's names and values where v5 says the same thing
(/work/notes/spec9.md, "The v5 tree"), and differs where the API does:
ids are v5's (v3's id is `identifier`), `type` and a stage's error fields
are empty, elapsed_time is end - start, and v5 adds its own files.
"""

import errno
import json
import os
import subprocess

import pytest

from conftest import (entries, BOTH_BACKENDS, FAILED_TASK_ERROR_CODE, FAILED_TASK_ERROR_MSG,
                      PIPELINE_ERROR, PIPELINE_NULLS, PIPELINE_RUNNING, PIPELINE_SUCCESS, REPO,
                      TEST_PIPELINES, api_epoch, default_test_scenario, read, scaled,
                      served_body, served_json, v3_only)

pytestmark = BOTH_BACKENDS

SCENARIOS = REPO / "contrib" / "scenarios"
DEMO_SCENARIO = SCENARIOS / "demo.json"
SEED_EXAMPLE = SCENARIOS / "seed-example.json"
SEED_PIPELINE = "75c562a081574ff28224fb2c123a0643"

BUILD_ENTRIES = ["status", "outcome", "pipeline_id", "pipeline_name", "executor", "build_id",
                 "start_time", "end_time", "elapsed_time", "detail_url", "parameters",
                 "status.json", "summary", "events", "stages", "failed"]
BUILD_FIELDS = BUILD_ENTRIES[:10]
NODE_FIELDS = ["id", "name", "type", "status", "outcome", "start_time", "end_time",
               "elapsed_time", "error_code", "error_msg", "detail_url"]
# What v5 adds (spec9.md, "The v5 tree"); v3's names keep their order.
V5_BUILD_EXTRAS = {"pipeline_run_id", "v5_status", "start_time_ms", "end_time_ms",
                   "trigger_type", "executor_id", "project_id", "description"}
V5_NODE_EXTRAS = {"v5_status", "identifier", "sequence", "start_time_ms", "end_time_ms"}
# The file holding the API's id of a stage or task as v3 names it.
V3_ID_FILE = {"v3": "id", "v5": "identifier"}


@pytest.fixture
def mount_options():
    return {"pipelines": ":".join(TEST_PIPELINES)}


def field(value):
    """What a field file holds for a JSON string value (or null)."""
    return b"" if value is None else value.encode("utf-8") + b"\n"


def scenario_body(pipeline_id, build_id):
    return default_test_scenario()["pipelines"][pipeline_id]["builds"][build_id]["body"]


def elapsed_ms(node):
    """v5's elapsed_time of a v3 node: end - start in ms, as text ("" without both)."""
    if not node.get("start_time") or not node.get("end_time"):
        return None
    return str(int((api_epoch(node["end_time"]) - api_epoch(node["start_time"])) * 1000))


def expected_node(backend, v3_node, v5_node, stage=False):
    """{field: bytes} of a stage or task directory's NODE_FIELDS on backend."""
    if backend == "v3":
        return {name: field(v3_node.get(name)) for name in NODE_FIELDS}
    values = {name: field(v3_node.get(name)) for name in NODE_FIELDS}
    values.update(id=field(v5_node["id"]), type=b"", detail_url=b"",
                  elapsed_time=field(elapsed_ms(v3_node)))
    if stage:
        values.update(error_code=b"", error_msg=b"")
    else:                       # a plain-text message: all of it is error_msg
        values.update(error_code=b"")
    return values


def check_listing(backend, listing, v3_names, v5_extras=frozenset()):
    """v3 lists exactly v3_names; v5 lists them in the same order among its own
    entries, and v5_extras among those."""
    if backend == "v3":
        assert listing == v3_names
        return
    assert [name for name in listing if name in v3_names] == v3_names
    assert v5_extras <= set(listing), f"{sorted(v5_extras - set(listing))} missing"


# --------------------------------------------------------------------------
# Build directories and their fields


def test_build_directory_lists_fields_in_documented_order(mnt, backend):
    check_listing(backend, os.listdir(mnt / PIPELINE_SUCCESS / "7"), BUILD_ENTRIES,
                  V5_BUILD_EXTRAS)


def test_cat_build_fields_shows_the_api_values(mnt, backend):
    body = scenario_body(PIPELINE_SUCCESS, "7")
    if backend == "v5":
        body = dict(body, elapsed_time=elapsed_ms(body))     # the scenario's is not end - start
    build = mnt / PIPELINE_SUCCESS / "7"
    assert {name: read(build / name) for name in BUILD_FIELDS} == {
        name: field(body[name]) for name in BUILD_FIELDS}
    assert read(build / "pipeline_name") == "后端服务-backend\n".encode()
    assert read(build / "status") == b"completed\n"
    assert read(build / "build_id") == b"7\n"
    assert read(build / "detail_url") == f"https://example.com/{PIPELINE_SUCCESS}/7\n".encode()
    failed = mnt / PIPELINE_ERROR / "12"
    assert [read(failed / name) for name in ["outcome", "executor", "elapsed_time"]] == [
        b"error\n", b"lisi\n", b"312000\n"]


def test_stage_and_task_dirs_follow_api_order_with_all_fields(mnt, backend):
    stages = mnt / PIPELINE_ERROR / "12" / "stages"
    assert entries(stages) == ["构建", "测试"]
    check_listing(backend, entries(stages / "测试"), NODE_FIELDS + ["tasks"], V5_NODE_EXTRAS)
    assert entries(stages / "测试" / "tasks") == ["lint", "unit-tests"]
    check_listing(backend, entries(stages / "测试" / "tasks" / "unit-tests"), NODE_FIELDS,
                  V5_NODE_EXTRAS | {"message", "steps", "log"})
    assert entries(mnt / PIPELINE_SUCCESS / "7" / "stages" / "构建" / "tasks") == [
        "编译", "打包镜像"]


def test_cat_stage_fields_shows_the_api_values(mnt, sim, backend):
    stage_json = scenario_body(PIPELINE_ERROR, "12")["states"][1]
    stage_v5 = served_json(sim, PIPELINE_ERROR, "12", "v5")["stages"][1]
    stage = mnt / PIPELINE_ERROR / "12" / "stages" / "测试"
    assert {name: read(stage / name) for name in NODE_FIELDS} == \
        expected_node(backend, stage_json, stage_v5, stage=True)
    if backend == "v3":
        assert read(stage / "error_code") == FAILED_TASK_ERROR_CODE.encode() + b"\n"
        assert read(stage / "type") == b"stage\n"
    else:
        assert read(stage / "identifier") == b"state_2\n"
        assert read(stage / "v5_status") == b"FAILED\n"


def test_cat_failed_task_fields_shows_error_code_and_message(mnt, sim, backend):
    task_json = scenario_body(PIPELINE_ERROR, "12")["states"][1]["children"][1]
    task_v5 = served_json(sim, PIPELINE_ERROR, "12", "v5")["stages"][1]["jobs"][1]
    task = mnt / PIPELINE_ERROR / "12" / "stages" / "测试" / "tasks" / "unit-tests"
    assert {name: read(task / name) for name in NODE_FIELDS} == \
        expected_node(backend, task_json, task_v5)
    assert read(task / "error_msg") == FAILED_TASK_ERROR_MSG.encode() + b"\n"
    assert read(task / "outcome") == b"error\n"
    assert read(task / V3_ID_FILE[backend]) == b"Task_3\n"


def test_parameters_directory_holds_each_value(mnt):
    parameters = mnt / PIPELINE_SUCCESS / "7" / "parameters"
    assert entries(parameters) == ["codeBranch", "发布版本"]
    assert read(parameters / "codeBranch") == b"master\n"
    assert read(parameters / "发布版本") == b"1.4.2\n"


def test_null_fields_are_empty_files(mnt, backend):
    build = mnt / PIPELINE_NULLS / "1"
    empty = ["status", "outcome", "start_time", "end_time", "elapsed_time", "detail_url"]
    if backend == "v3":
        empty += ["executor", "build_id"]
    else:       # a v5 run always has its run number; the service sends executor_name ""
        assert (read(build / "build_id"), read(build / "executor")) == (b"1\n", b"\n")
    assert {name: read(build / name) for name in empty} == {name: b"" for name in empty}
    assert all((build / name).stat().st_size == 0 for name in empty)
    assert read(build / "pipeline_name") == "空值流水线\n".encode()
    assert read(build / "pipeline_id") == PIPELINE_NULLS.encode() + b"\n"
    assert entries(build / "parameters") == []
    check_listing(backend, os.listdir(build), BUILD_ENTRIES, V5_BUILD_EXTRAS)
    stage = build / "stages" / "构建"
    assert read(stage / V3_ID_FILE[backend]) == b"state_1\n"
    # null, and missing (error_code, error_msg, detail_url): all empty
    for name in ["status", "outcome", "start_time", "end_time", "elapsed_time",
                 "error_code", "error_msg", "detail_url"]:
        assert read(stage / name) == b"", name


def test_task_with_null_name_is_named_after_its_id(mnt, backend):
    tasks = mnt / PIPELINE_NULLS / "1" / "stages" / "构建" / "tasks"
    assert entries(tasks) == ["Task_1"]
    assert read(tasks / "Task_1" / V3_ID_FILE[backend]) == b"Task_1\n"
    assert read(tasks / "Task_1" / "name") == b""
    # the body misspells "end_time" as 'end_time"': the real field is missing
    assert read(tasks / "Task_1" / "end_time") == b""


def test_status_json_is_byte_equal_to_what_the_api_served(mnt, sim, backend):
    assert read(mnt / PIPELINE_SUCCESS / "7" / "status.json") == \
        served_body(sim, PIPELINE_SUCCESS, "7", backend)
    assert read(mnt / PIPELINE_NULLS / "1" / "status.json") == \
        served_body(sim, PIPELINE_NULLS, "1", backend)


def test_status_json_via_latest_is_the_latest_calls_body(mnt, sim, backend):
    data = read(mnt / PIPELINE_ERROR / "latest" / "status.json")
    assert data == served_body(sim, PIPELINE_ERROR, backend=backend)
    if backend == "v3":
        assert json.loads(data)["build_id"] == "12"
    else:
        assert json.loads(data)["run_number"] == 12


def test_stat_size_equals_bytes_read_for_every_file(mnt):
    checked = 0
    for pipeline_id, build_id in [(PIPELINE_SUCCESS, "7"), (PIPELINE_ERROR, "12"),
                                  (PIPELINE_RUNNING, "3"), (PIPELINE_NULLS, "1")]:
        for root, _, files in os.walk(mnt / pipeline_id / build_id):
            for name in files:
                path = os.path.join(root, name)
                assert os.stat(path).st_size == len(read(path)), path
                checked += 1
    assert checked > 100


def test_ls_l_shows_true_sizes(mnt):
    build = mnt / PIPELINE_SUCCESS / "7"
    listing = subprocess.run(["ls", "-ln", "--time-style=+%s", str(build)],
                             check=True, capture_output=True, text=True).stdout
    sizes = {}
    for line in listing.splitlines()[1:]:      # skip "total N"
        fields = line.split()
        sizes[fields[-1]] = (fields[0][0], int(fields[4]))
    for name in BUILD_FIELDS + ["status.json"]:
        assert sizes[name] == ("-", len(read(build / name))), name
    assert sizes["status"] == ("-", len(b"completed\n"))
    assert sizes["stages"][0] == "d"


def test_grep_finds_failed_task_error_msg(mnt, backend):
    stages = mnt / PIPELINE_ERROR / "latest" / "stages"
    result = subprocess.run(["grep", "-r", "-l", FAILED_TASK_ERROR_MSG, str(stages)],
                            capture_output=True, text=True, timeout=scaled(30))
    assert result.returncode == 0, result.stderr
    task = stages / "测试" / "tasks" / "unit-tests"
    # v5: the job's raw message, and the logs of the job and its one step (the
    # simulator's log of a failed step ends with its error)
    found = ["error_msg"] if backend == "v3" else [
        "error_msg", "log", "message", "steps/unit-tests/log"]
    assert sorted(result.stdout.splitlines()) == sorted(str(task / name) for name in found)


# --------------------------------------------------------------------------
# latest, pipeline and root directories


def test_latest_is_a_symlink_to_the_newest_build_id(mnt):
    latest = mnt / PIPELINE_SUCCESS / "latest"
    assert latest.is_symlink()
    assert os.readlink(latest) == "7"
    assert read(latest / "build_id") == b"7\n"
    assert read(latest / "start_time") == b"2026-11-28 09:00:00\n"


@pytest.mark.parametrize("mount_options", [{"pipelines": ":".join(TEST_PIPELINES), "prefetch": 0}])
def test_pipeline_dir_lists_latest_then_builds_in_first_seen_order(mnt):
    pipeline = mnt / PIPELINE_SUCCESS
    assert entries(pipeline) == []      # prefetch=0: latest not asked for yet
    assert read(pipeline / "6" / "start_time") == b"2026-11-27 17:00:00\n"
    assert read(pipeline / "latest" / "start_time") == b"2026-11-28 09:00:00\n"
    assert entries(pipeline) == ["latest", "6", "7"]


@pytest.mark.parametrize("mount_options", [{"pipelines": f"{PIPELINE_RUNNING}:{PIPELINE_SUCCESS}"}])
def test_root_lists_configured_pipelines_then_looked_up_ones(mnt):
    assert entries(mnt) == [PIPELINE_RUNNING, PIPELINE_SUCCESS]
    assert read(mnt / PIPELINE_ERROR / "12" / "executor") == b"lisi\n"
    assert entries(mnt) == [PIPELINE_RUNNING, PIPELINE_SUCCESS, PIPELINE_ERROR]


@pytest.mark.parametrize("mount_options", [{"pipelines": PIPELINE_SUCCESS}])
def test_unlisted_pipeline_is_reachable_by_path(mnt, sim):
    assert entries(mnt) == [PIPELINE_SUCCESS]
    assert os.path.isdir(mnt / PIPELINE_ERROR)
    assert sim.api_requests(PIPELINE_ERROR, build_id=None), "lookup must ask the API"
    assert entries(mnt) == [PIPELINE_SUCCESS, PIPELINE_ERROR]
    assert os.readlink(mnt / PIPELINE_ERROR / "latest") == "12"


# --------------------------------------------------------------------------
# Ids the API cannot have: no request, no entry

BAD_IDS = {"space": "a b", "percent": "x%2fy", "query": "a?build_id=1", "129-chars": "a" * 129,
           "chinese": "构建"}


@pytest.mark.parametrize("bad_id", BAD_IDS.values(), ids=BAD_IDS.keys())
@v3_only("ids are checked before any API is asked")
def test_invalid_pipeline_id_is_enoent_without_a_request(mnt, sim, bad_id):
    with pytest.raises(FileNotFoundError):
        os.stat(mnt / bad_id)
    assert sim.requests() == []
    assert bad_id not in os.listdir(mnt)


@pytest.mark.parametrize("bad_id", BAD_IDS.values(), ids=BAD_IDS.keys())
@v3_only("ids are checked before any API is asked")
def test_invalid_build_id_is_enoent_without_a_request(mnt, sim, bad_id):
    with pytest.raises(FileNotFoundError):
        read(mnt / PIPELINE_SUCCESS / bad_id / "status")
    assert sim.requests() == []


def test_id_of_128_characters_is_still_asked_for(mnt, sim):
    longest = "b" * 128
    with pytest.raises(FileNotFoundError):
        os.stat(mnt / longest)
    assert [entry["pipeline_id"] for entry in sim.requests()] == [longest]


# --------------------------------------------------------------------------
# Read-only


def _write_existing(build):
    os.open(build / "status", os.O_WRONLY)


def _append_existing(build):
    os.open(build / "status", os.O_RDWR | os.O_APPEND)


def _create_file(build):
    os.open(build / "new-file", os.O_WRONLY | os.O_CREAT, 0o644)


def _mkdir(build):
    os.mkdir(build / "new-dir")


def _rename(build):
    os.rename(build / "status", build / "status.old")


def _unlink(build):
    os.unlink(build / "status")


def _rmdir(build):
    os.rmdir(build / "parameters")


def _chmod(build):
    os.chmod(build / "status", 0o644)


def _truncate(build):
    os.truncate(build / "status", 0)


def _symlink(build):
    os.symlink("status", build / "link-to-status")


WRITE_OPERATIONS = [_write_existing, _append_existing, _create_file, _mkdir, _rename, _unlink,
                    _rmdir, _chmod, _truncate, _symlink]


@pytest.mark.parametrize("operation", WRITE_OPERATIONS,
                         ids=[op.__name__.lstrip("_") for op in WRITE_OPERATIONS])
@v3_only("the same FUSE handlers refuse writes whatever the API; one backend is enough")
def test_changing_anything_fails_with_erofs(mnt, operation):
    build = mnt / PIPELINE_SUCCESS / "7"
    before = read(build / "status")
    with pytest.raises(OSError) as error:
        operation(build)
    assert error.value.errno == errno.EROFS
    assert read(build / "status") == before == b"completed\n"
    assert os.listdir(build) == BUILD_ENTRIES


# --------------------------------------------------------------------------
# The API document's own example (contrib/scenarios/demo.json)


@pytest.fixture
def seed_mnt(sim_factory, mount_factory, tmp_path):
    demo = sim_factory(DEMO_SCENARIO)
    return mount_factory(demo.url, tmp_path / "seed-mnt").mountpoint


@v3_only("the v3 document's own example, byte for byte")
def test_seed_example_status_json_is_byte_equal_to_the_document(seed_mnt):
    assert read(seed_mnt / SEED_PIPELINE / "2" / "status.json") == SEED_EXAMPLE.read_bytes()


def test_seed_example_fields_parameters_stage_and_task(seed_mnt, backend):
    build = seed_mnt / SEED_PIPELINE / "2"
    # v5's is the pipeline's name (the scenario's), v3's the body's
    assert read(build / "pipeline_name") == (b"pipeline-1185523_Cx2Ur\n" if backend == "v3"
                                             else b"seed-example\n")
    assert read(build / "start_time") == b"2022-04-01 19:44:16\n"
    assert read(build / "detail_url") == b"https://example.com\n"
    assert read(build / "status") == b""
    # a v5 run always has its run number
    assert read(build / "build_id") == (b"" if backend == "v3" else b"2\n")
    assert entries(build / "parameters") == ["seviceName", "codeBranch"]
    assert read(build / "parameters" / "seviceName") == b"pipeline-23\n"
    assert read(build / "parameters" / "codeBranch") == b"master\n"
    stages = build / "stages"
    assert entries(stages) == ["构建"]
    assert read(stages / "构建" / V3_ID_FILE[backend]) == b"state_4\n"
    assert entries(stages / "构建" / "tasks") == ["人工审核"]
    task = stages / "构建" / "tasks" / "人工审核"
    assert read(task / V3_ID_FILE[backend]) == b"Task_1\n"
    assert read(task / "type") == (b"task\n" if backend == "v3" else b"")
    # the seed misspells the key as 'end_time"', so end_time has no value
    assert read(task / "end_time") == b""
    assert (task / "end_time").stat().st_size == 0


@v3_only("a v5 run always has its run number: the seed's build has a latest link there")
def test_seed_pipeline_without_build_id_has_no_latest_link(seed_mnt):
    pipeline = seed_mnt / SEED_PIPELINE
    with pytest.raises(FileNotFoundError):
        os.lstat(pipeline / "latest")
    assert read(pipeline / "2" / "pipeline_name") == b"pipeline-1185523_Cx2Ur\n"
    assert entries(pipeline) == ["2"]
    assert SEED_PIPELINE in entries(seed_mnt)      # the account's pipelines


@v3_only("a v5 run always has its run number: the latest answer names one")
def test_latest_disappears_from_listing_once_api_gives_no_build_id(mnt, sim):
    pipeline = mnt / PIPELINE_NULLS
    # issue 7 item 8: only what can be looked up is listed; the listing
    # asks which build is latest, and the answer names none
    assert entries(pipeline) == []
    assert sim.api_requests(PIPELINE_NULLS, build_id=None)
    with pytest.raises(FileNotFoundError):
        os.readlink(pipeline / "latest")
    assert entries(pipeline) == []
    assert read(pipeline / "1" / "pipeline_name") == "空值流水线\n".encode()
    assert entries(pipeline) == ["1"]


# --------------------------------------------------------------------------
# Hostile names from the API

HOSTILE_PIPELINE = "4057113e0000000000000000000000a1"
LONG_NAME = "构" * 300                       # 900 bytes of UTF-8
MANY_TASKS = 600
MANY_TASKS_PREFIX = "部署任务-deploy-to-region-"
LONG_ID = "a" + "构" * 100                   # 301 bytes: 255 would split a character


def _node(kind, node_id, name, children=()):
    node = {"id": node_id, "type": kind, "status": "completed", "outcome": "success",
            "start_time": "2026-11-28 09:00:00", "end_time": "2026-11-28 09:01:00",
            "elapsed_time": "60000", "error_code": None, "error_msg": None,
            "detail_url": f"https://example.com/{node_id}", "children": list(children)}
    if name is not _MISSING:
        node["name"] = name
    return node


_MISSING = object()

# (id, name from the API, directory name expected)
HOSTILE_STAGES = [
    ("s1", "a/b", "a_b"),
    ("s2", "..", "s2"),
    ("s3", ".", "s3"),
    ("s4", "", "s4"),
    ("s5", None, "s5"),
    ("s6", _MISSING, "s6"),
    ("s7", "\u001b[31mred", "_[31mred"),
    ("s8", "x\ny", "x_y"),
    ("s9", LONG_NAME, "构" * 85),
    ("s10", LONG_NAME, "构" * 84 + "~2"),
    ("s11", "dup", "dup"),
    ("s12", "dup", "dup~2"),
    ("s13", "dup", "dup~3"),
    ("s14", "a_b", "a_b~2"),
    ("s/15", "..", "s_15"),
    ("s16", 42, "42"),
    ("s17", "del\u007f", "del_"),
    ("s18", "tab\there\r", "tab_here_"),
    ("s19", "nul\u0000byte", "nul_byte"),
    ("s20", "\n", "_"),
]
HOSTILE_TASKS = [
    ("t1", "a/b", "a_b"),
    ("t2", "..", "t2"),
    ("t3", None, "t3"),
    ("t4", "", "t4"),
    ("t5", "构建", "构建"),
    ("t6", "构建", "构建~2"),
    ("t7", "x\ny", "x_y"),
]
HOSTILE_PARAMETERS = [
    ({"name": "", "value": "v1"}, "parameter-1", b"v1\n"),
    ({"value": "v2"}, "parameter-2", b"v2\n"),
    ({"name": "a/b", "value": "v3"}, "a_b", b"v3\n"),
    ({"name": "dup", "value": "first"}, "dup", b"first\n"),
    ({"name": "dup", "value": "second"}, "dup~2", b"second\n"),
    ({"name": None, "value": None}, "parameter-6", b""),
    ({"name": "..", "value": 3}, "parameter-7", b"3\n"),
    ({"name": "\u001b[0m", "value": "x"}, "_[0m", b"x\n"),
]


def hostile_scenario():
    stages = [_node("stage", sid, name) for sid, name, _ in HOSTILE_STAGES]
    stages[0]["children"] = [_node("task", tid, name) for tid, name, _ in HOSTILE_TASKS]
    body = {"pipeline_id": HOSTILE_PIPELINE, "pipeline_name": "hostile", "executor": "x",
            "build_id": "1", "start_time": None, "end_time": None, "elapsed_time": None,
            "status": "completed", "outcome": "success", "detail_url": None,
            "parameters": [spec for spec, _, _ in HOSTILE_PARAMETERS], "states": stages}
    # build 2: names that must come from ids the API sent in odd shapes
    odd_ids = dict(body, build_id="2", parameters=[], states=[
        _node("stage", LONG_ID, ""), _node("stage", 77, None)])
    # build 3: more tasks than one readdir reply holds
    many = dict(body, build_id="3", parameters=[], states=[
        _node("stage", "state_1", "many", children=[
            _node("task", f"Task_{index}", f"{MANY_TASKS_PREFIX}{index:04d}")
            for index in range(MANY_TASKS)])])
    scenario = default_test_scenario()
    scenario["pipelines"][HOSTILE_PIPELINE] = {"latest": "1", "builds": {
        "1": {"body": body}, "2": {"body": odd_ids}, "3": {"body": many}}}
    return scenario


@pytest.fixture
def hostile_build(sim_factory, mount_factory, tmp_path):
    hostile = sim_factory(hostile_scenario())
    mountpoint = mount_factory(hostile.url, tmp_path / "hostile-mnt").mountpoint
    return mountpoint / HOSTILE_PIPELINE / "1"


def test_hostile_stage_names_are_listed_safe_and_unique(hostile_build, backend):
    stages = hostile_build / "stages"
    assert entries(stages) == [name for _, _, name in HOSTILE_STAGES]
    assert {name: read(stages / name / V3_ID_FILE[backend]) for _, _, name in HOSTILE_STAGES} == {
        name: sid.encode() + b"\n" for sid, _, name in HOSTILE_STAGES}
    assert [len(name.encode()) for name in os.listdir(stages) if name.startswith("构")] == [
        255, 254]


def test_name_file_keeps_the_raw_api_name(hostile_build):
    stages = hostile_build / "stages"
    assert read(stages / "x_y" / "name") == b"x\ny\n"
    assert read(stages / "_[31mred" / "name") == "\u001b[31mred\n".encode()
    assert read(stages / "s2" / "name") == b"..\n"
    assert read(stages / "s5" / "name") == b""
    assert read(stages / "42" / "name") == b"42\n"
    assert read(stages / ("构" * 85) / "name") == LONG_NAME.encode() + b"\n"


def test_hostile_task_names_are_listed_safe_and_unique(hostile_build, backend):
    tasks = hostile_build / "stages" / "a_b" / "tasks"
    assert entries(tasks) == [name for _, _, name in HOSTILE_TASKS]
    assert {name: read(tasks / name / V3_ID_FILE[backend]) for _, _, name in HOSTILE_TASKS} == {
        name: tid.encode() + b"\n" for tid, _, name in HOSTILE_TASKS}


def test_hostile_parameter_names_fall_back_to_their_position(hostile_build):
    parameters = hostile_build / "parameters"
    assert entries(parameters) == [name for _, name, _ in HOSTILE_PARAMETERS]
    assert {name: read(parameters / name) for _, name, _ in HOSTILE_PARAMETERS} == {
        name: value for _, name, value in HOSTILE_PARAMETERS}


def test_long_id_standing_in_for_a_name_is_cut_on_a_character_boundary(hostile_build, backend):
    stages = hostile_build.parent / "2" / "stages"
    names = os.listdir(os.fsencode(stages))
    assert names[0] == ("a" + "构" * 84).encode()       # 253 bytes, whole characters
    assert read(stages / ("a" + "构" * 84) / V3_ID_FILE[backend]) == LONG_ID.encode() + b"\n"


def test_nameless_stage_with_numeric_id_is_named_after_that_id(hostile_build, backend):
    stages = hostile_build.parent / "2" / "stages"
    assert entries(stages)[1] == "77"
    assert read(stages / "77" / V3_ID_FILE[backend]) == b"77\n"


def test_stage_with_hundreds_of_tasks_lists_them_all_in_api_order(hostile_build, backend):
    tasks = hostile_build.parent / "3" / "stages" / "many" / "tasks"
    names = os.listdir(tasks)
    assert names == [f"{MANY_TASKS_PREFIX}{index:04d}" for index in range(MANY_TASKS)]
    assert read(tasks / names[-1] / V3_ID_FILE[backend]) == f"Task_{MANY_TASKS - 1}\n".encode()
