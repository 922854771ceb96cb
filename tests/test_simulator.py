"""The API simulator on its own, over HTTP: no daemon, no FUSE needed.

The daemon's tests trust the simulator to behave like the real service and to
misbehave exactly as told, so both are pinned down here.
"""

import calendar
import datetime
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import (DEFAULT_PROJECT_ID, FAILED_TASK_ERROR_CODE, FAILED_TASK_ERROR_MSG,
                      PIPELINE_ERROR, PIPELINE_NULLS, PIPELINE_RUNNING, PIPELINE_SUCCESS, REPO,
                      SIM, TEST_PIPELINES, TEST_TOKEN, default_test_scenario, history_scenario,
                      history_starts, many_pipelines_scenario, numbered_id, scaled, wait_until)

SCENARIOS = REPO / "contrib" / "scenarios"
DEMO_SCENARIO = SCENARIOS / "demo.json"
SEED_EXAMPLE = SCENARIOS / "seed-example.json"
SEED_DOCUMENT = REPO.parent / "shared" / "seed" / "pipeline-status-api.zh.txt"
SEED_PIPELINE = "75c562a081574ff28224fb2c123a0643"
UNKNOWN_PIPELINE = "ffffffffffffffffffffffffffffffff"

NODE_FIELDS = {"id", "name", "type", "start_time", "end_time", "elapsed_time", "status",
               "outcome", "error_code", "error_msg", "children", "detail_url"}


def status_path(pipeline_id, build_id=None):
    path = f"/v3/pipelines/{pipeline_id}/status"
    return path if build_id is None else f"{path}?build_id={build_id}"


def get(sim, path, token=TEST_TOKEN, timeout=5):
    """GET path; (status, headers, body bytes) whatever the HTTP status.

    timeout is nominal (scaled here), as in every helper of this module.
    """
    headers = {} if token is None else {"X-Auth-Token": token}
    request = urllib.request.Request(sim.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=scaled(timeout)) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def get_json(sim, path, token=TEST_TOKEN):
    status, _, body = get(sim, path, token)
    return status, json.loads(body)


def raw_get(sim, path, token=TEST_TOKEN, timeout=5):
    """GET with http.client, for tests about connections rather than content."""
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=scaled(timeout))
    connection.request("GET", path, headers={"X-Auth-Token": token})
    return connection, connection.getresponse()


def request_in_background(sim, path, timeout=5):
    """Start a GET in a thread; outcome["result"] becomes "answered" or the error's name."""
    outcome = {}

    def run():
        try:
            raw_get(sim, path, timeout=timeout)[1].read()
            outcome["result"] = "answered"
        except (OSError, http.client.HTTPException) as error:
            outcome["result"] = type(error).__name__
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def extract_seed_example(document_bytes):
    """The example response in the API document: from "{" to "}" after 响应示例."""
    start = document_bytes.index(b"\n{\n", document_bytes.index("响应示例".encode())) + 1
    end = document_bytes.index(b"\n}\n", start) + 2
    return document_bytes[start:end]


def all_nodes(document):
    for stage in document["states"]:
        yield stage
        yield from stage["children"]


# --------------------------------------------------------------------------
# Authentication and errors


def test_missing_token_gets_401_with_error_body(sim):
    status, headers, body = get(sim, status_path(PIPELINE_SUCCESS), token=None)
    assert status == 401
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {
        "error_code": "APIG.0301",
        "error_msg": "Incorrect IAM authentication information: verify aksk signature fail"}


def test_wrong_token_gets_401_with_error_body(sim):
    status, body = get_json(sim, status_path(PIPELINE_SUCCESS), token="not-the-token")
    assert status == 401
    assert body["error_code"] == "APIG.0301"


def test_unknown_pipeline_gets_404_pipeline_not_found(sim):
    status, body = get_json(sim, status_path(UNKNOWN_PIPELINE))
    assert status == 404
    assert body == {"error_code": "DEVPIPE.00011401", "error_msg": "pipeline not found"}


def test_unknown_build_of_a_known_pipeline_gets_400_build_not_found(sim):
    status, body = get_json(sim, status_path(PIPELINE_SUCCESS, "999"))
    assert status == 400
    assert body == {"error_code": "DEVPIPE.00011104", "error_msg": "build not found"}


def test_unknown_path_gets_404_with_the_same_error_shape(sim):
    status, body = get_json(sim, "/v3/nothing/here")
    assert status == 404
    assert set(body) == {"error_code", "error_msg"}


def test_other_methods_on_the_api_path_are_not_an_api(sim):
    request = urllib.request.Request(sim.url + status_path(PIPELINE_SUCCESS), data=b"{}",
                                     method="POST", headers={"X-Auth-Token": TEST_TOKEN})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=scaled(5))
    assert error.value.code == 404
    assert json.loads(error.value.read())["error_code"] == "APIG.0101"


# --------------------------------------------------------------------------
# Builds


def test_without_build_id_the_latest_build_is_served(sim):
    status, body = get_json(sim, status_path(PIPELINE_SUCCESS))
    assert status == 200
    assert body["build_id"] == "7"


def test_empty_build_id_also_means_the_latest_build(sim):
    _, body = get_json(sim, status_path(PIPELINE_SUCCESS) + "?build_id=")
    assert body["build_id"] == "7"


def test_a_named_build_is_served(sim):
    status, body = get_json(sim, status_path(PIPELINE_SUCCESS, "6"))
    assert status == 200
    assert body["build_id"] == "6"
    assert body["parameters"] == [{"name": "codeBranch", "value": "master"},
                                  {"name": "发布版本", "value": "1.4.2"}]


def test_chinese_names_travel_as_utf8_not_as_escapes(sim):
    _, headers, body = get(sim, status_path(PIPELINE_SUCCESS))
    assert headers["Content-Type"].startswith("application/json")
    assert "后端服务-backend".encode("utf-8") in body
    assert b"\\u" not in body
    assert int(headers["Content-Length"]) == len(body)


def test_failed_task_carries_its_error_code_and_message(sim):
    _, body = get_json(sim, status_path(PIPELINE_ERROR))
    assert body["outcome"] == "error"
    failed = [node for node in all_nodes(body) if node["name"] == "unit-tests"]
    assert failed[0]["error_code"] == FAILED_TASK_ERROR_CODE
    assert failed[0]["error_msg"] == FAILED_TASK_ERROR_MSG


def test_null_fields_are_served_as_null(sim):
    _, body = get_json(sim, status_path(PIPELINE_NULLS))
    assert body["build_id"] is None and body["parameters"] is None
    assert body["states"][0]["children"][0]['end_time"'] is None


def test_running_build_progresses_when_the_clock_is_advanced(sim):
    _, before = get_json(sim, status_path(PIPELINE_RUNNING))
    assert (before["status"], before["states"][1]["status"]) == ("running", "waiting")

    sim.advance(30)
    _, review = get_json(sim, status_path(PIPELINE_RUNNING))
    assert review["states"][0]["outcome"] == "success"
    assert review["states"][1]["status"] == "verifying"

    sim.advance(30)
    _, done = get_json(sim, status_path(PIPELINE_RUNNING))
    assert (done["status"], done["outcome"], done["end_time"]) == (
        "completed", "success", "2026-11-28 10:01:00")


def test_a_finished_build_stays_finished(sim):
    sim.advance(10_000)
    _, body = get_json(sim, status_path(PIPELINE_RUNNING))
    assert (body["status"], body["outcome"]) == ("completed", "success")


# --------------------------------------------------------------------------
# The demo scenario and the API document's example


@pytest.fixture
def demo_sim(sim_factory):
    return sim_factory(DEMO_SCENARIO)


def test_seed_example_is_served_byte_for_byte(demo_sim):
    status, _, body = get(demo_sim, status_path(SEED_PIPELINE, "2"))
    assert status == 200
    assert body == SEED_EXAMPLE.read_bytes()
    assert body.startswith(b"{\n") and body.endswith(b"\n}")
    assert b'"end_time\\"" : null' in body


@pytest.mark.skipif(not SEED_DOCUMENT.exists(), reason="seed API document not in this checkout")
def test_stored_seed_example_equals_the_api_documents_example():
    assert SEED_EXAMPLE.read_bytes() == extract_seed_example(SEED_DOCUMENT.read_bytes())


def test_seed_pipelines_latest_build_is_the_seed_example(demo_sim):
    _, _, body = get(demo_sim, status_path(SEED_PIPELINE))
    assert body == SEED_EXAMPLE.read_bytes()


def test_demo_scenario_has_four_realistic_pipelines(demo_sim):
    pipelines = json.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))["pipelines"]
    assert len(pipelines) == 4
    assert all(re.fullmatch(r"[0-9a-f]{32}", pipeline_id) for pipeline_id in pipelines)
    demo_sim.advance(10_000)
    for pipeline_id, pipeline in pipelines.items():
        if pipeline_id == SEED_PIPELINE:
            continue
        for build_id in pipeline["builds"]:
            status, body = get_json(demo_sim, status_path(pipeline_id, build_id))
            assert status == 200
            assert 2 <= len(body["states"]) <= 5
            assert all(1 <= len(stage["children"]) <= 4 for stage in body["states"])
            assert all(set(node) == NODE_FIELDS for node in all_nodes(body))


def test_demo_running_build_changes_while_watched(demo_sim):
    pipeline_id = "c41e7b0f95d24a6e8b3f2a1d07e9c5b8"
    _, start = get_json(demo_sim, status_path(pipeline_id))
    demo_sim.advance(30)
    _, middle = get_json(demo_sim, status_path(pipeline_id))
    demo_sim.advance(60)
    _, end = get_json(demo_sim, status_path(pipeline_id))
    assert [start["status"], middle["status"], end["status"]] == ["waiting", "running", "completed"]
    assert end["outcome"] == "success"


# --------------------------------------------------------------------------
# Batch call


def test_batch_call_lists_the_latest_build_of_each_known_pipeline(sim):
    ids = ",".join([PIPELINE_SUCCESS, UNKNOWN_PIPELINE, PIPELINE_ERROR])
    status, items = get_json(sim, f"/v3/pipelines/status?pipeline_ids={ids}")
    assert status == 200
    assert [item["pipeline_id"] for item in items] == [PIPELINE_SUCCESS, PIPELINE_ERROR]
    success, error = items
    assert (success["build_id"], success["result"], success["pipeline_name"]) == (
        "7", "success", "后端服务-backend")
    assert error["result"] == "error"
    assert error["stages"][1] == {"name": "state_2", "display_name": "测试",
                                  "status": "completed", "result": "error", "order": 2}


def test_batch_call_needs_the_token_too(sim):
    status, _, _ = get(sim, f"/v3/pipelines/status?pipeline_ids={PIPELINE_SUCCESS}", token=None)
    assert status == 401


# --------------------------------------------------------------------------
# Faults


def test_status_fault_answers_with_code_default_body_and_headers_once(sim):
    sim.fault(kind="status", status=429, headers={"Retry-After": "3"}, count=1)
    status, headers, body = get(sim, status_path(PIPELINE_SUCCESS))
    assert (status, headers["Retry-After"]) == (429, "3")
    assert json.loads(body)["error_code"] == "APIG.0308"
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 200


def test_status_fault_can_carry_a_custom_body(sim):
    sim.fault(kind="status", status=503, body="upstream down")
    assert get(sim, status_path(PIPELINE_SUCCESS))[::2] == (503, b"upstream down")


def test_fault_count_limits_it_to_the_next_n_requests(sim):
    sim.fault(kind="status", status=500, count=2)
    statuses = [get(sim, status_path(PIPELINE_SUCCESS))[0] for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_fault_applies_only_to_its_pipeline(sim):
    sim.fault(kind="status", status=500, pipeline_id=PIPELINE_ERROR)
    assert get(sim, status_path(PIPELINE_ERROR))[0] == 500
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 200


def test_fault_with_null_build_id_hits_only_calls_without_build_id(sim):
    sim.fault(kind="status", status=500, pipeline_id=PIPELINE_SUCCESS, build_id=None)
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 500
    assert get(sim, status_path(PIPELINE_SUCCESS, "7"))[0] == 200


def test_fault_with_a_build_id_hits_only_that_build(sim):
    sim.fault(kind="status", status=500, build_id="6")
    assert get(sim, status_path(PIPELINE_SUCCESS, "6"))[0] == 500
    assert get(sim, status_path(PIPELINE_SUCCESS, "7"))[0] == 200


def test_one_fault_can_be_removed_by_id(sim):
    fault_id = sim.fault(kind="status", status=500)
    sim.control("DELETE", f"/_sim/faults/{fault_id}")
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 200


def test_garbage_fault_answers_200_with_bytes_that_are_not_json(sim):
    sim.fault(kind="garbage")
    status, _, body = get(sim, status_path(PIPELINE_SUCCESS))
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)


def test_truncate_fault_sends_half_the_body_as_valid_http(sim):
    _, _, whole = get(sim, status_path(PIPELINE_SUCCESS))
    sim.fault(kind="truncate", count=1)
    connection, response = raw_get(sim, status_path(PIPELINE_SUCCESS))
    body = response.read()
    assert response.status == 200
    assert body == whole[:len(whole) // 2]
    assert int(response.headers["Content-Length"]) == len(body)
    connection.request("GET", status_path(PIPELINE_SUCCESS), headers={"X-Auth-Token": TEST_TOKEN})
    assert connection.getresponse().read() == whole  # the connection is still usable
    connection.close()


def test_wrong_types_fault_answers_json_with_mistyped_fields(sim):
    sim.fault(kind="wrong_types")
    status, body = get_json(sim, status_path(PIPELINE_SUCCESS))
    assert status == 200
    assert body["pipeline_id"] == PIPELINE_SUCCESS
    assert (body["status"], body["parameters"]) == (42, 7)
    assert body["states"][0]["children"] == {}
    assert "x" in body["states"]


def test_hang_fault_holds_the_request_until_faults_are_cleared(sim):
    sim.fault(kind="hang")
    with pytest.raises(socket.timeout):
        raw_get(sim, status_path(PIPELINE_SUCCESS), timeout=0.3)

    waiting, outcome = request_in_background(sim, status_path(PIPELINE_SUCCESS))
    wait_until(lambda: len(sim.requests()) == 2, message="the second request to arrive")
    sim.clear_faults()
    waiting.join(scaled(3))
    assert outcome["result"] == "RemoteDisconnected"
    assert [entry["status"] for entry in sim.requests()] == [None, None]
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 200


def test_a_used_up_hang_fault_still_lets_go_of_its_request_when_cleared(sim):
    sim.fault(kind="hang", count=1)
    waiting, outcome = request_in_background(sim, status_path(PIPELINE_SUCCESS))
    wait_until(lambda: sim.requests(), message="the request to arrive")
    assert sim.control("GET", "/_sim/faults") == []  # used up, no longer listed
    sim.clear_faults()
    waiting.join(scaled(3))
    assert outcome["result"] == "RemoteDisconnected"


def test_status_fault_body_may_be_a_json_value(sim):
    sim.fault(kind="status", status=500, body={"error": {"code": "X", "message": "boom"}})
    status, body = get_json(sim, status_path(PIPELINE_SUCCESS))
    assert (status, body) == (500, {"error": {"code": "X", "message": "boom"}})


def test_close_fault_drops_the_connection_without_an_answer(sim):
    sim.fault(kind="close", count=1)
    with pytest.raises(http.client.RemoteDisconnected):
        raw_get(sim, status_path(PIPELINE_SUCCESS))
    assert sim.requests()[0]["status"] is None
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 200


def test_bad_fault_requests_are_refused(sim):
    with pytest.raises(AssertionError, match="400"):
        sim.fault(kind="explode")
    with pytest.raises(AssertionError, match="size"):
        sim.fault(kind="oversize", size=-1)


def test_html_fault_answers_200_with_a_proxy_page_in_valid_utf8(sim):
    sim.fault(kind="html", count=1)
    status, headers, body = get(sim, status_path(PIPELINE_SUCCESS))
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    page = body.decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Service Unavailable" in page
    with pytest.raises(ValueError):
        json.loads(body)
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 200


def test_small_oversize_fault_is_a_json_object_of_exactly_its_size(sim):
    sim.fault(kind="oversize", size=200_000, count=1)
    status, headers, body = get(sim, status_path(PIPELINE_SUCCESS))
    assert (status, int(headers["Content-Length"]), len(body)) == (200, 200_000, 200_000)
    assert json.loads(body)["pipeline_id"] == PIPELINE_SUCCESS
    assert sim.requests()[0]["bytes_sent"] == 200_000


def test_oversize_fault_stops_sending_when_the_client_hangs_up(sim):
    sim.fault(kind="oversize")                       # 50 MB by default
    connection, response = raw_get(sim, status_path(PIPELINE_SUCCESS))
    assert int(response.headers["Content-Length"]) == 50_000_000
    assert len(response.read(1_000_000)) == 1_000_000
    connection.sock.shutdown(socket.SHUT_RDWR)
    connection.close()

    entry = wait_until(lambda: sim.requests()[0]["ended"] and sim.requests()[0],
                       message="the simulator to stop writing")
    sent = entry["bytes_sent"]
    # what we read plus what the socket buffers held, nowhere near 50 MB
    assert 1_000_000 <= sent < 20_000_000, f"{sent} bytes sent after the client left"


def test_faults_play_in_the_order_added_and_a_used_up_one_is_gone(sim):
    # "a 429 with Retry-After: 2, then a hang" as the fault matrix sets it up
    sim.fault(kind="status", status=429, headers={"Retry-After": "2"}, count=1)
    sim.fault(kind="hang")
    status, headers, _ = get(sim, status_path(PIPELINE_SUCCESS))
    assert (status, headers["Retry-After"]) == (429, "2")
    assert [fault["kind"] for fault in sim.control("GET", "/_sim/faults")] == ["hang"]
    with pytest.raises(socket.timeout):
        raw_get(sim, status_path(PIPELINE_SUCCESS), timeout=0.3)
    sim.clear_faults()
    assert [entry["status"] for entry in sim.requests()] == [429, None]
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 200


# --------------------------------------------------------------------------
# Latency


def elapsed(function):
    started = time.monotonic()
    function()
    return time.monotonic() - started


def test_latency_slows_down_only_the_pipeline_it_names(sim):
    sim.latency(PIPELINE_SUCCESS, 0.4)
    assert elapsed(lambda: get(sim, status_path(PIPELINE_SUCCESS))) >= 0.4
    assert elapsed(lambda: get(sim, status_path(PIPELINE_ERROR))) < scaled(0.3)


def test_latency_flag_slows_down_every_api_answer_but_not_control_calls(sim_factory):
    slow = sim_factory(latency=0.3)
    assert elapsed(lambda: get(slow, status_path(PIPELINE_SUCCESS))) >= 0.3
    assert elapsed(slow.health) < scaled(0.25)


# --------------------------------------------------------------------------
# Request log


def test_request_log_records_api_calls_in_order_and_can_be_cleared(sim):
    get(sim, status_path(PIPELINE_SUCCESS, "6"))
    get(sim, status_path(PIPELINE_ERROR), token="wrong")
    sim.health()
    log = sim.requests()
    assert [(entry["method"], entry["path"], entry["query"], entry["pipeline_id"],
             entry["build_id"], entry["status"]) for entry in log] == [
        ("GET", status_path(PIPELINE_SUCCESS), "build_id=6", PIPELINE_SUCCESS, "6", 200),
        ("GET", status_path(PIPELINE_ERROR), "", PIPELINE_ERROR, None, 401)]
    assert log[0]["time"] <= log[1]["time"]
    assert sim.api_requests(PIPELINE_ERROR, build_id=None) == log[1:]
    sim.clear_requests()
    assert sim.requests() == []


def test_a_client_holding_its_answer_finds_it_logged_with_status_and_size(sim):
    # the log is written before the answer: never a null status for an answered request
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=scaled(5))
    paths = [status_path(PIPELINE_SUCCESS), status_path(UNKNOWN_PIPELINE)] * 150
    for number, path in enumerate(paths):
        connection.request("GET", path, headers={"X-Auth-Token": TEST_TOKEN})
        response = connection.getresponse()
        body = response.read()
        entry = sim.requests()[-1]
        assert (entry["status"], entry["bytes_sent"]) == (response.status, len(body)), \
            f"request {number}: logged {entry}"
    connection.close()


def test_request_log_numbers_the_connections_requests_came_on(sim):
    first, response = raw_get(sim, status_path(PIPELINE_SUCCESS))
    response.read()                             # first stays open meanwhile
    second, response = raw_get(sim, status_path(PIPELINE_ERROR))
    response.read()
    second.request("GET", status_path(PIPELINE_RUNNING), headers={"X-Auth-Token": TEST_TOKEN})
    second.getresponse().read()
    get(sim, status_path(PIPELINE_NULLS))
    connections = [entry["connection"] for entry in sim.requests()]
    assert connections[1] == connections[2], "keep-alive: the same connection"
    assert len({connections[0], connections[1], connections[3]}) == 3
    assert all(isinstance(number, int) and number >= 1 for number in connections)
    first.close()
    second.close()


def test_requests_since_a_mark_leaves_out_earlier_ones(sim):
    get(sim, status_path(PIPELINE_SUCCESS))
    mark = sim.mark()
    get(sim, status_path(PIPELINE_ERROR))
    get(sim, status_path(PIPELINE_SUCCESS, "6"))
    assert [entry["pipeline_id"] for entry in sim.requests_since(mark)] == [
        PIPELINE_ERROR, PIPELINE_SUCCESS]
    assert [entry["build_id"] for entry in sim.requests_since(mark, PIPELINE_SUCCESS)] == ["6"]


def test_restart_comes_back_on_the_same_port_as_the_same_service(sim):
    sim.advance(30)
    sim.set_token("rotated")
    sim.latency(PIPELINE_ERROR, 0.3)
    changed = default_test_scenario()
    del changed["pipelines"][PIPELINE_SUCCESS]
    sim.set_scenario(changed)
    assert get(sim, status_path(PIPELINE_RUNNING), token="rotated")[0] == 200
    sim.fault(kind="status", status=500)
    url = sim.url

    sim.stop()
    with pytest.raises(OSError):                         # a dead server refuses
        get(sim, status_path(PIPELINE_RUNNING), token="rotated")
    sim.restart()
    assert sim.url == url
    status, body = get_json(sim, status_path(PIPELINE_RUNNING), token="rotated")
    assert status == 200, "faults are not carried over"
    assert body["states"][1]["status"] == "verifying", "the clock kept its time"
    assert get(sim, status_path(PIPELINE_SUCCESS), token="rotated")[0] == 404
    assert elapsed(lambda: get(sim, status_path(PIPELINE_ERROR), token="rotated")) >= 0.3
    assert [entry["pipeline_id"] for entry in sim.requests()] == [
        PIPELINE_RUNNING, PIPELINE_RUNNING, PIPELINE_SUCCESS, PIPELINE_ERROR]
    sim.clear_requests()
    assert sim.requests() == []


# --------------------------------------------------------------------------
# Tokens and scenarios


def test_token_file_is_reread_on_every_request(sim_factory, tmp_path):
    token_file = tmp_path / "accepted-token"
    token_file.write_text("first\n")
    sim = sim_factory(token_file=token_file)
    assert get(sim, status_path(PIPELINE_SUCCESS), token="first")[0] == 200
    token_file.write_text("  second\n")
    assert get(sim, status_path(PIPELINE_SUCCESS), token="first")[0] == 401
    assert get(sim, status_path(PIPELINE_SUCCESS), token="second")[0] == 200
    token_file.unlink()
    assert get(sim, status_path(PIPELINE_SUCCESS), token="second")[0] == 401


def test_token_can_be_replaced_through_the_control_api(sim):
    sim.set_token("rotated")
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 401
    assert get(sim, status_path(PIPELINE_SUCCESS), token="rotated")[0] == 200


def test_token_cannot_be_replaced_while_a_token_file_decides(sim_factory, tmp_path):
    token_file = tmp_path / "accepted-token"
    token_file.write_text("from-file")
    sim = sim_factory(token_file=token_file)
    with pytest.raises(AssertionError, match="409"):
        sim.set_token("other")


def test_scenario_token_is_used_when_none_is_given(sim_factory):
    sim = sim_factory(DEMO_SCENARIO, token=None)
    assert get(sim, status_path(SEED_PIPELINE), token="demo-token")[0] == 200


def test_scenario_can_be_replaced_and_the_clock_keeps_running(sim):
    sim.advance(30)
    replacement = default_test_scenario()
    del replacement["pipelines"][PIPELINE_SUCCESS]
    sim.set_scenario(replacement)
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 404
    _, body = get_json(sim, status_path(PIPELINE_RUNNING))
    assert body["states"][1]["status"] == "verifying"


def test_a_scenario_with_a_bad_timeline_path_is_refused(sim):
    broken = default_test_scenario()
    broken["pipelines"][PIPELINE_RUNNING]["builds"]["3"]["timeline"].append(
        {"at": 99, "set": {"states.7.status": "completed"}})
    with pytest.raises(AssertionError, match="states.7.status"):
        sim.set_scenario(broken)


def test_a_bad_scenario_file_stops_the_simulator_at_start(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"pipelines": {"x": {"builds": {"1": {}}}}}')
    result = subprocess.run([sys.executable, SIM, "--port", "0", "--scenario", str(broken)],
                            capture_output=True, text=True, timeout=scaled(10))
    assert result.returncode == 2
    assert "pipelines.x.builds.1" in result.stderr


# --------------------------------------------------------------------------
# Process and connection behaviour


def test_keep_alive_serves_several_requests_on_one_connection(sim):
    connection, response = raw_get(sim, status_path(PIPELINE_SUCCESS))
    response.read()
    first_socket = connection.sock
    for path in (status_path(PIPELINE_ERROR), status_path(UNKNOWN_PIPELINE)):
        connection.request("GET", path, headers={"X-Auth-Token": TEST_TOKEN})
        connection.getresponse().read()
    assert connection.sock is first_socket
    connection.close()


def test_sigterm_exits_0_promptly_even_while_a_request_hangs(sim):
    sim.fault(kind="hang")
    request_in_background(sim, status_path(PIPELINE_SUCCESS), timeout=10)
    wait_until(lambda: sim.requests(), message="the request to arrive")
    assert elapsed(lambda: sim.stop()) < scaled(2)
    assert sim.proc.returncode == 0


def test_sigint_exits_0_too(sim):
    sim.proc.send_signal(signal.SIGINT)
    assert sim.proc.wait(scaled(5)) == 0


def test_script_runs_through_its_shebang():
    assert pathlib.Path(SIM).read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")
    assert os.access(SIM, os.X_OK)
    result = subprocess.run([SIM, "--help"], capture_output=True, text=True, timeout=scaled(20))
    assert result.returncode == 0
    assert "--token-file" in result.stdout


# --------------------------------------------------------------------------
# Issue 8: the pipeline list (POST /v3/pipelines/list)

LIST_PATH = "/v3/pipelines/list"
LIST_ITEM_FIELDS = {"project_id", "project_name", "pipeline_id", "pipeline_name", "creator_id",
                    "creator_name", "executor_id", "executor_name", "start_time", "create_time",
                    "watched"}
BAD_PARAMETER = "DEVPIPE.00011104"


def post(sim, path, payload, headers=None, token=TEST_TOKEN, timeout=5):
    """POST JSON (a value, or bytes as is); (status, headers, body bytes) whatever the status."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        headers["X-Auth-Token"] = token
    request = urllib.request.Request(sim.url + path, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=scaled(timeout)) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def list_pipelines(sim, token=TEST_TOKEN, **request):
    status, _, body = post(sim, LIST_PATH, request, token=token)
    return status, json.loads(body)


def test_list_pages_through_every_pipeline_newest_first(sim_factory):
    sim = sim_factory(many_pipelines_scenario(120))
    seen = []
    for offset in (0, 50, 100):
        status, page = list_pipelines(sim, offset=offset, limit=50)
        assert status == 200
        assert (page["offset"], page["limit"], page["total"]) == (offset, 50, 120)
        seen += page["result"]
    assert [item["pipeline_id"] for item in seen] == [numbered_id("pipeline", n)
                                                      for n in range(120)]
    assert [item["pipeline_name"] for item in seen[:2]] == ["pipeline-0000", "pipeline-0001"]
    assert all(set(item) == LIST_ITEM_FIELDS for item in seen)
    assert all(isinstance(value, str) for item in seen for value in item.values())
    create_times = [item["create_time"] for item in seen]
    assert create_times == sorted(create_times, reverse=True)
    assert list_pipelines(sim, offset=120, limit=50)[1]["result"] == []


@pytest.mark.parametrize("limit", [9, 51, 0, "x"])
def test_list_limit_outside_10_to_50_is_refused(sim, limit):
    status, body = list_pipelines(sim, limit=limit)
    assert status == 400
    assert body["error_code"] == BAD_PARAMETER and "limit" in body["error_msg"]


def test_list_items_of_a_plain_scenario_take_names_from_the_builds(sim):
    status, page = list_pipelines(sim, limit=10)
    assert status == 200 and page["total"] == 4
    items = {item["pipeline_id"]: item for item in page["result"]}
    assert set(items) == set(TEST_PIPELINES)
    success = items[PIPELINE_SUCCESS]
    assert success["pipeline_name"] == "后端服务-backend"
    assert (success["project_id"], success["project_name"]) == (DEFAULT_PROJECT_ID,
                                                                "project-0d1e2f")
    assert success["executor_name"] == "zhangsan" and success["watched"] == "false"
    assert success["start_time"] == "2026-11-28 09:00:00"
    assert items[PIPELINE_NULLS]["executor_name"] == ""           # null becomes ""


def test_list_narrows_to_projects_and_to_a_name_ignoring_case(sim_factory):
    projects = {numbered_id("project", n): f"项目 {n}" for n in range(3)}
    names = ["Alpha", "beta", "ALPHABET", "gamma", "alpha/../x", "delta"]
    sim = sim_factory(many_pipelines_scenario(6, projects=projects, names=names))
    first, second, third = projects
    status, page = list_pipelines(sim, limit=50, project_ids=f"{first},{third}")
    assert status == 200
    assert [item["pipeline_name"] for item in page["result"]] == [
        "Alpha", "ALPHABET", "gamma", "delta"]
    assert {item["project_name"] for item in page["result"]} == {"项目 0", "项目 2"}
    _, page = list_pipelines(sim, limit=50, pipeline_name="alpha")
    assert [item["pipeline_name"] for item in page["result"]] == ["Alpha", "ALPHABET",
                                                                   "alpha/../x"]
    _, page = list_pipelines(sim, limit=50, pipeline_name="ALPHA", project_ids=second)
    assert [item["pipeline_name"] for item in page["result"]] == ["alpha/../x"]
    assert page["total"] == 1


def test_list_takes_at_most_10_project_ids(sim):
    eleven = ",".join(numbered_id("project", n) for n in range(11))
    status, body = list_pipelines(sim, limit=10, project_ids=eleven)
    assert status == 400 and body["error_code"] == BAD_PARAMETER
    ten = ",".join(numbered_id("project", n) for n in range(10))
    assert list_pipelines(sim, limit=10, project_ids=ten)[0] == 200


def test_list_body_that_is_not_an_object_is_refused(sim):
    status, _, body = post(sim, LIST_PATH, b"[1, 2]")
    assert status == 400 and json.loads(body)["error_code"] == BAD_PARAMETER


def test_list_needs_credentials_and_logs_its_body(sim):
    status, body = list_pipelines(sim, token="wrong", limit=10)
    assert status == 401 and body["error_code"] == "APIG.0301"
    list_pipelines(sim, limit=20, offset=0, project_ids=DEFAULT_PROJECT_ID)
    entry = sim.requests()[-1]
    assert (entry["call"], entry["method"], entry["path"]) == ("list", "POST", LIST_PATH)
    assert json.loads(entry["body"]) == {"limit": 20, "offset": 0,
                                         "project_ids": DEFAULT_PROJECT_ID}
    assert entry["project_ids"] == [DEFAULT_PROJECT_ID]
    assert (entry["auth"], entry["auth_error"]) == ("token", None)


def test_scenario_names_projects_and_creation(sim_factory):
    scenario = default_test_scenario()
    scenario["projects"] = {"feedc0de" * 4: "支付 payments"}
    scenario["pipelines"][PIPELINE_ERROR].update(
        name="frontend (renamed)", project_id="feedc0de" * 4, create_time="2020-01-02 03:04:05",
        creator_name="王五")
    sim = sim_factory(scenario)
    _, page = list_pipelines(sim, limit=10)
    assert page["result"][-1] == {
        "project_id": "feedc0de" * 4, "project_name": "支付 payments",
        "pipeline_id": PIPELINE_ERROR, "pipeline_name": "frontend (renamed)",
        "creator_id": page["result"][-1]["creator_id"], "creator_name": "王五",
        "executor_id": page["result"][-1]["executor_id"], "executor_name": "lisi",
        "start_time": "2026-11-28 09:12:03", "create_time": "2020-01-02 03:04:05",
        "watched": "false"}
    assert re.fullmatch(r"[0-9a-f]{32}", page["result"][-1]["creator_id"])


# --------------------------------------------------------------------------
# Issue 8: run history (GET /v3/pipelines/build-result)

HISTORY_PATH = "/v3/pipelines/build-result"
HISTORY_ITEM_FIELDS = {"build_id", "pipeline_id", "pipeline_name", "status", "outcome",
                       "start_time", "end_time", "elapse_time"}


def history_path(project_id, start_date, end_date, offset=0, limit=100):
    return (f"{HISTORY_PATH}?project_id={project_id}&start_date={start_date}"
            f"&end_date={end_date}&offset={offset}&limit={limit}")


def service_day(days_ago=0):
    """The date days_ago days before today in the service's zone, as YYYY-MM-DD."""
    zone = datetime.timezone(datetime.timedelta(hours=8))
    return (datetime.datetime.now(zone).date() - datetime.timedelta(days=days_ago)).isoformat()


def newest_day(clock):
    """The date dates_relative moves a scenario's newest build to: today, or
    yesterday while today's `clock` (HH:MM:SS, +08:00) is still to come (no
    build ends in the future)."""
    zone = datetime.timezone(datetime.timedelta(hours=8))
    late = datetime.datetime.now(zone).strftime("%H:%M:%S") < clock
    return service_day(1 if late else 0)


def days_before(day, count):
    return (datetime.date.fromisoformat(day) - datetime.timedelta(days=count)).isoformat()


def test_history_lists_a_projects_builds_of_the_window_newest_first(sim_factory):
    scenario = history_scenario(days_ago=(0, 1, 2, 10, 40), pipelines=2)
    sim = sim_factory(scenario)
    status, answer = get_json(sim, history_path(DEFAULT_PROJECT_ID, service_day(6),
                                                service_day(0)))
    assert status == 200
    assert (answer["offset"], answer["limit"], answer["total"]) == (0, 100, 6)
    items = answer["build_results"]
    assert all(set(item) == HISTORY_ITEM_FIELDS for item in items)
    starts = history_starts(scenario)
    assert [item["start_time"] for item in items] == sorted(
        (starts[(item["pipeline_id"], item["build_id"])] for item in items), reverse=True)
    assert sorted((item["pipeline_id"], item["build_id"]) for item in items) == sorted(
        (numbered_id("history", n), build) for n in (0, 1) for build in ("3", "4", "5"))
    assert {(item["status"], item["outcome"], item["elapse_time"]) for item in items} == {
        ("completed", "success", "300000")}
    assert {item["pipeline_name"] for item in items
            if item["pipeline_id"] == numbered_id("history", 1)} == {"history-1"}


def test_history_pages_by_item_and_ends_are_inclusive(sim_factory):
    sim = sim_factory(history_scenario(days_ago=range(10)))
    _, whole = get_json(sim, history_path(DEFAULT_PROJECT_ID, service_day(9), service_day(0)))
    assert whole["total"] == 10
    _, page = get_json(sim, history_path(DEFAULT_PROJECT_ID, service_day(9), service_day(0),
                                         offset=4, limit=3))
    assert page["build_results"] == whole["build_results"][4:7]
    _, one_day = get_json(sim, history_path(DEFAULT_PROJECT_ID, service_day(3),
                                            service_day(3)))
    assert [item["start_time"][:10] for item in one_day["build_results"]] == [service_day(3)]


@pytest.mark.parametrize("start, end, offset, limit", [
    ("2026-01-01", "2026-02-02", 0, 10),      # 32 days apart: more than a month
    ("2026-02-02", "2026-01-01", 0, 10),      # backwards
    ("2026-01-01", "2026-1-2", 0, 10),        # not YYYY-MM-DD
    ("2026-01-01", "2026-01-02", 0, 0),       # limit 1..100
    ("2026-01-01", "2026-01-02", 0, 101),
    ("2026-01-01", "2026-01-02", -1, 10),
])
def test_history_refuses_bad_parameters(sim, start, end, offset, limit):
    status, body = get_json(sim, history_path(DEFAULT_PROJECT_ID, start, end, offset, limit))
    assert status == 400 and body["error_code"] == BAD_PARAMETER


def test_history_takes_a_31_day_range_and_needs_every_parameter(sim):
    assert get(sim, history_path(DEFAULT_PROJECT_ID, "2026-01-01", "2026-02-01"))[0] == 200
    status, body = get_json(sim, f"{HISTORY_PATH}?project_id={DEFAULT_PROJECT_ID}"
                                 "&start_date=2026-01-01&end_date=2026-01-02&offset=0")
    assert status == 400 and "limit" in body["error_msg"]


def test_history_of_an_unknown_project_is_refused(sim):
    status, body = get_json(sim, history_path("f" * 32, "2026-11-01", "2026-11-28"))
    assert (status, body["error_code"]) == (400, "DEVPIPE.00011412")


def test_history_shows_a_builds_current_state_and_skips_unstarted_ones(sim_factory):
    scenario = default_test_scenario()
    scenario["pipelines"][PIPELINE_RUNNING]["builds"]["4"] = {"body": dict(
        scenario["pipelines"][PIPELINE_RUNNING]["builds"]["3"]["body"], build_id="4",
        status="waiting", start_time=None)}
    sim = sim_factory(scenario)
    path = history_path(DEFAULT_PROJECT_ID, "2026-11-28", "2026-11-28")
    _, before = get_json(sim, path)
    running = [item for item in before["build_results"] if item["pipeline_id"] == PIPELINE_RUNNING]
    assert [(item["build_id"], item["status"], item["end_time"]) for item in running] == [
        ("3", "running", None)]
    sim.advance(60)
    _, after = get_json(sim, path)
    running = [item for item in after["build_results"] if item["pipeline_id"] == PIPELINE_RUNNING]
    assert [(item["status"], item["outcome"], item["elapse_time"]) for item in running] == [
        ("completed", "success", "60000")]
    assert [item["build_id"] for item in after["build_results"]] == ["3", "12", "7"]
    _, day_before = get_json(sim, history_path(DEFAULT_PROJECT_ID, "2026-11-27", "2026-11-27"))
    assert [item["build_id"] for item in day_before["build_results"]] == ["6"]


def test_dates_relative_moves_the_newest_build_to_today(sim_factory):
    scenario = default_test_scenario()
    scenario["dates_relative"] = True
    sim = sim_factory(scenario)
    day = newest_day("10:00:00")        # the running build's start, the newest time
    sim.advance(60)
    _, body = get_json(sim, status_path(PIPELINE_RUNNING))
    assert body["start_time"] == day + " 10:00:00"
    assert body["end_time"] == day + " 10:01:00"     # timeline values move too
    _, body = get_json(sim, status_path(PIPELINE_SUCCESS, "6"))
    assert body["start_time"] == days_before(day, 1) + " 17:00:00"
    _, answer = get_json(sim, history_path(DEFAULT_PROJECT_ID, days_before(day, 1), day))
    assert answer["total"] == 4


# --------------------------------------------------------------------------
# Issue 8: faults on the list calls

def test_a_fault_for_any_pipeline_hits_the_list_and_history_calls_too(sim):
    sim.fault(kind="status", status=503, count=2)
    assert list_pipelines(sim, limit=10)[0] == 503
    assert get(sim, history_path(DEFAULT_PROJECT_ID, "2026-11-28", "2026-11-28"))[0] == 503
    assert list_pipelines(sim, limit=10)[0] == 200


def test_an_error_in_a_200_body_on_the_list_call_only(sim):
    error = {"error_code": "DEVCP.00014031", "error_msg": "no permission"}
    sim.fault(kind="status", status=200, body=error, call="list")
    assert list_pipelines(sim, limit=10) == (200, error)
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 200
    assert get(sim, history_path(DEFAULT_PROJECT_ID, "2026-11-28", "2026-11-28"))[0] == 200


def test_throttling_with_500_on_one_projects_history(sim_factory):
    other = numbered_id("project", 1)
    sim = sim_factory(many_pipelines_scenario(2, projects=[DEFAULT_PROJECT_ID, other]))
    sim.fault(kind="status", status=500, call="history", project_id=other,
              body={"error_code": "COCT.0070003", "error_msg": "access too frequent"})
    status, body = get_json(sim, history_path(other, "2026-11-28", "2026-11-28"))
    assert (status, body["error_code"]) == (500, "COCT.0070003")
    assert get(sim, history_path(DEFAULT_PROJECT_ID, "2026-11-28", "2026-11-28"))[0] == 200
    assert list_pipelines(sim, limit=10, project_ids=other)[0] == 200


def test_a_fault_call_must_be_known(sim):
    with pytest.raises(AssertionError, match="call must be"):
        sim.fault(kind="status", call="lists")


def test_wrong_types_fault_on_the_list_call_stays_json(sim):
    sim.fault(kind="wrong_types", call="list")
    status, body = list_pipelines(sim, limit=10)
    assert status == 200 and body["total"] == "many" and body["result"][1:] == ["x", 7, None]


# --------------------------------------------------------------------------
# Issue 8: AK/SK signatures (SDK-HMAC-SHA256), checked against the published vectors

sys.path.insert(0, str(pathlib.Path(SIM).resolve().parent))
from pipelinefs_sim import auth as sim_auth  # noqa: E402  (the simulator's own module)

AK, SK = "QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
TEMP_AK, TEMP_SK, SECURITY_TOKEN = "TEMPAK0000000001", "tempsecret", "gQpjbi1ub3J0aC00...token"
UNAUTHORIZED = "Incorrect IAM authentication information: "
SDK_DATE = "%Y%m%dT%H%M%SZ"

# (ak, sk, method, url, date, body, signed headers, canonical request or None, signature)
PUBLISHED_VECTORS = [
    ("AccessKey", "SecretKey", "GET", "https://service.endpoint.myhuaweicloud.com/resources?size=1",
     "20200608T023900Z", b"", ["host", "x-sdk-date"],
     "GET\n/resources/\nsize=1\nhost:service.endpoint.myhuaweicloud.com\n"
     "x-sdk-date:20200608T023900Z\n\nhost;x-sdk-date\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842"),
    ("AccessKey", "SecretKey", "POST", "https://service.endpoint.myhuaweicloud.com/resources?size=1",
     "20200608T023900Z", b'{"name":"test","id":1}', ["host", "x-sdk-date"], None,
     "436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f"),
    ("AccessKey", "SecretKey", "GET", "https://example.huaweicloud.com/path?limit=1",
     "20060102T150405Z", b"", ["x-sdk-date"], None,
     "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"),
]


def _percent(text):
    return urllib.parse.quote(text, safe="-_.~")


def canonical_request(method, path, query, headers, signed, body):
    """The tests' own writing of the API notes' algorithm (section 4), step by step."""
    uri = "/".join(_percent(urllib.parse.unquote(segment)) for segment in path.split("/"))
    uri += "" if uri.endswith("/") else "/"
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    names = sorted(signed)
    return "\n".join([method, uri, "&".join(f"{_percent(k)}={_percent(v)}" for k, v in pairs),
                      "".join(f"{name}:{headers[name].strip()}\n" for name in names),
                      ";".join(names), hashlib.sha256(body).hexdigest()])


def sdk_signature(sk, date, canonical):
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("vector", PUBLISHED_VECTORS, ids=["get", "post", "date-only"])
def test_the_published_vectors_verify_with_both_signers(vector):
    ak, sk, method, url, date, body, signed, expected_canonical, expected = vector
    parts = urllib.parse.urlsplit(url)
    headers = {"host": parts.netloc, "x-sdk-date": date}
    canonical = canonical_request(method, parts.path, parts.query, headers, signed, body)
    if expected_canonical is not None:
        assert canonical == expected_canonical
    assert sdk_signature(sk, date, canonical) == expected
    assert sim_auth.canonical_request(method, parts.path, parts.query, headers, signed,
                                      body) == canonical
    assert sim_auth.sign(ak, sk, method, parts.path, parts.query, headers, body, signed) == (
        f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={';'.join(signed)}, Signature={expected}")


def signed_request(sim, method, target, ak=AK, sk=SK, body=b"", date=None, security_token=None,
                   signed=("host", "x-sdk-date"), host=None, tamper=None):
    """Send a request signed like the SDK does; (status, headers, JSON body).

    date: an X-Sdk-Date text (default now); security_token is sent, and signed
    when "x-security-token" is in signed; tamper(headers) changes the request
    after signing.
    """
    parts = urllib.parse.urlsplit(target)
    headers = {"host": host or f"127.0.0.1:{sim.port}",
               "x-sdk-date": date or time.strftime(SDK_DATE, time.gmtime())}
    if security_token is not None:
        headers["x-security-token"] = security_token
    if body:
        headers["content-type"] = "application/json"
    canonical = canonical_request(method, parts.path, parts.query, headers, signed, body)
    headers["authorization"] = (f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders="
                                f"{';'.join(sorted(signed))}, "
                                f"Signature={sdk_signature(sk, headers['x-sdk-date'], canonical)}")
    if tamper is not None:
        tamper(headers)
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=scaled(5))
    try:
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, json.loads(response.read())
    finally:
        connection.close()


@pytest.fixture
def aksk_sim(sim):
    sim.auth(credentials=[{"ak": AK, "sk": SK},
                          {"ak": TEMP_AK, "sk": TEMP_SK, "security_token": SECURITY_TOKEN}])
    return sim


def refusal(answer):
    status, _, body = answer
    assert status == 401 and body["error_code"] == "APIG.0301", answer
    assert body["error_msg"].startswith(UNAUTHORIZED)
    return body["error_msg"][len(UNAUTHORIZED):]


def test_a_signed_get_and_a_signed_list_call_pass(aksk_sim):
    status, _, body = signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS, "6"))
    assert status == 200 and body["build_id"] == "6"
    payload = json.dumps({"offset": 0, "limit": 10}).encode()
    status, _, body = signed_request(aksk_sim, "POST", LIST_PATH, body=payload)
    assert status == 200 and body["total"] == 4
    status, _, body = signed_request(
        aksk_sim, "GET", history_path(DEFAULT_PROJECT_ID, "2026-11-27", "2026-11-28"))
    assert status == 200 and body["total"] == 4
    entries = aksk_sim.requests()
    assert [(entry["auth"], entry["access_key"], entry["security_token_sent"],
             entry["auth_error"], entry["status"]) for entry in entries] == [
        ("aksk", AK, False, None, 200)] * 3


def test_a_tampered_request_fails_verification(aksk_sim):
    payload = b'{"offset":0,"limit":10}'
    tampered_path = signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS, "6"),
                                   tamper=lambda headers: headers.update(host="evil:1"))
    assert refusal(tampered_path) == "verify aksk signature fail"
    assert refusal(signed_request(aksk_sim, "POST", LIST_PATH, body=payload, sk="wrong")) == (
        "verify aksk signature fail")
    assert refusal(signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS),
                                  signed=("x-sdk-date",))) == "verify aksk signature fail"
    entry = aksk_sim.requests()[-1]
    assert (entry["auth"], entry["access_key"], entry["auth_error"]) == (
        "aksk", AK, UNAUTHORIZED + "verify aksk signature fail")
    assert aksk_sim.auth_state()["failures"] == {AK: 3}


def test_an_unknown_access_key_is_refused(aksk_sim):
    assert refusal(signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS),
                                  ak="NOSUCHKEY")) == "unknown access key"


def test_a_date_more_than_15_minutes_off_is_refused_and_the_clock_offset_moves_it(aksk_sim):
    too_early = time.strftime(SDK_DATE, time.gmtime(time.time() - 960))
    assert refusal(signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS),
                                  date=too_early)).startswith("the request time is out of range")
    within = time.strftime(SDK_DATE, time.gmtime(time.time() + 840))
    assert signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS), date=within)[0] == 200
    # The simulator's clock set to a published vector's date: that date is now "now".
    vector_time = calendar.timegm(time.strptime("20200608T023900Z", SDK_DATE))
    aksk_sim.auth(clock_offset=vector_time - time.time())
    status, headers, _ = signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS),
                                        date="20200608T023900Z")
    assert status == 200
    served = email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
    assert abs(served - vector_time) < scaled(60), "the Date header follows the clock"
    assert refusal(signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS))).startswith(
        "the request time is out of range")
    assert aksk_sim.auth_state()["failures"] == {}, "skew does not count towards the lock"


def test_five_bad_signatures_lock_the_key_until_the_lock_expires(aksk_sim):
    aksk_sim.auth(lock_seconds=1)
    for _ in range(5):
        refusal(signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS), sk="wrong"))
    locked_at = time.monotonic()
    good = lambda: signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS))  # noqa: E731
    answer = good()
    if time.monotonic() - locked_at < 1:
        assert refusal(answer) == "the access key is locked"
        assert aksk_sim.auth_state()["locked"] == [AK]
    wait_until(lambda: good()[0] == 200, timeout=5, message="the lock to expire")
    assert time.monotonic() - locked_at >= 1
    assert aksk_sim.auth_state()["failures"] == {}


def test_a_good_signature_resets_the_count_and_reset_locks_lifts_a_lock(aksk_sim):
    bad = lambda: signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS),  # noqa: E731
                                 sk="wrong")
    for _ in range(4):
        bad()
    assert signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS))[0] == 200
    for _ in range(4):
        bad()
    assert signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS))[0] == 200
    for _ in range(5):
        bad()
    assert refusal(signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS))) == (
        "the access key is locked")
    assert aksk_sim.auth(reset_locks=True)["locked"] == []
    assert signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS))[0] == 200


def test_temporary_credentials_must_send_and_sign_their_security_token(aksk_sim):
    def call(**kwargs):
        return signed_request(aksk_sim, "GET", status_path(PIPELINE_SUCCESS), ak=TEMP_AK,
                              sk=TEMP_SK, **kwargs)
    signed = ("host", "x-sdk-date", "x-security-token")
    why = "the security token is missing, wrong or not signed"
    assert refusal(call()) == why
    assert refusal(call(security_token=SECURITY_TOKEN)) == why            # sent, not signed
    assert refusal(call(security_token="other", signed=signed)) == why
    assert call(security_token=SECURITY_TOKEN, signed=signed)[0] == 200
    assert [entry["security_token_sent"] for entry in aksk_sim.requests()] == [
        False, True, True, True]


def test_the_scenarios_credentials_are_accepted_and_restart_keeps_auth_settings(sim_factory):
    scenario = default_test_scenario()
    scenario["credentials"] = [{"ak": AK, "sk": SK}]
    sim = sim_factory(scenario)
    assert signed_request(sim, "GET", status_path(PIPELINE_SUCCESS))[0] == 200
    sim.auth(max_skew=5, lock_seconds=7)
    sim.auth(credentials=[{"ak": "OTHER", "sk": "x"}])
    sim.restart()
    state = sim.auth_state()
    assert (state["max_skew"], state["lock_seconds"]) == (5, 7)
    assert refusal(signed_request(sim, "GET", status_path(PIPELINE_SUCCESS))) == (
        "unknown access key")
    assert signed_request(sim, "GET", status_path(PIPELINE_SUCCESS), ak="OTHER", sk="x")[0] == 200
    assert get(sim, status_path(PIPELINE_SUCCESS))[0] == 200, "the token is still accepted"


@pytest.mark.parametrize("settings", [{"lock_seconds": -1}, {"max_skew": "1"},
                                      {"credentials": [{"ak": "x"}]}, {"what": 1},
                                      {"iam_users": {}}])
def test_bad_auth_settings_are_refused(sim, settings):
    with pytest.raises(AssertionError, match="400"):
        sim.auth(**settings)


# --------------------------------------------------------------------------
# Issue 8: the IAM token call

IAM_USER = {"domain": "acme", "name": "ci-robot", "password": "s3cret pass"}
IAM_EXPIRES = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def iam_body(name=IAM_USER["name"], password=IAM_USER["password"], domain=IAM_USER["domain"]):
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "password": password, "domain": {"name": domain}}}},
        "scope": {"project": {"name": "cn-north-4"}}}}


def test_iam_issues_a_token_that_the_api_accepts_until_it_expires(sim):
    sim.auth(iam_users=[IAM_USER], iam_token_seconds=1)
    status, headers, body = post(sim, "/v3/auth/tokens", iam_body(), token=None)
    issued = time.monotonic()
    assert status == 201
    token = headers["X-Subject-Token"]
    answer = json.loads(body)["token"]
    assert IAM_EXPIRES.fullmatch(answer["expires_at"]) and IAM_EXPIRES.fullmatch(
        answer["issued_at"])
    assert answer["user"]["name"] == "ci-robot" and answer["user"]["domain"]["name"] == "acme"
    lifetime = (datetime.datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
                - datetime.datetime.fromisoformat(answer["issued_at"].replace("Z", "+00:00")))
    assert lifetime == datetime.timedelta(seconds=1)
    first = get(sim, status_path(PIPELINE_SUCCESS), token=token)
    if time.monotonic() - issued < 1:
        assert first[0] == 200
    wait_until(lambda: get(sim, status_path(PIPELINE_SUCCESS), token=token)[0] == 401,
               timeout=5, message="the IAM token to expire")
    assert time.monotonic() - issued >= 1
    _, last = get_json(sim, status_path(PIPELINE_SUCCESS), token=token)
    assert last["error_msg"] == UNAUTHORIZED + "the token has expired"
    iam_entry, *api_entries = sim.requests()
    assert (iam_entry["call"], iam_entry["path"], iam_entry["status"], iam_entry["body"],
            iam_entry["auth"]) == ("iam", "/v3/auth/tokens", 201, None, None)
    assert {entry["auth"] for entry in api_entries} == {"iam-token"}
    assert token not in json.dumps(sim.requests())


@pytest.mark.parametrize("wrong", [{"password": "nope"}, {"domain": "other"}, {"name": "x"}])
def test_iam_refuses_a_wrong_password_user_or_domain(sim, wrong):
    sim.auth(iam_users=[IAM_USER])
    status, headers, body = post(sim, "/v3/auth/tokens", iam_body(**wrong), token=None)
    assert status == 401 and "X-Subject-Token" not in headers
    assert json.loads(body) == {"error": {"code": 401, "message":
                                          "The username or password is wrong.",
                                          "title": "Unauthorized"}}


def test_iam_users_may_come_from_the_scenario_and_a_fault_can_hit_the_iam_call(sim_factory):
    scenario = default_test_scenario()
    scenario["iam_users"] = [IAM_USER]
    sim = sim_factory(scenario)
    sim.fault(kind="status", status=503, count=1)          # "*": not the IAM call
    assert post(sim, "/v3/auth/tokens", iam_body(), token=None)[0] == 201
    sim.clear_faults()
    sim.fault(kind="status", status=503, call="iam", count=1)
    assert post(sim, "/v3/auth/tokens", iam_body(), token=None)[0] == 503
    assert post(sim, "/v3/auth/tokens", b"{not json", token=None)[0] == 400


def test_demo_scenario_names_its_projects_and_pipelines_and_shows_a_week_of_history(demo_sim):
    scenario = json.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))
    _, page = list_pipelines(demo_sim, limit=10)
    assert {item["pipeline_name"] for item in page["result"]} == {
        "web-frontend", "order-service-ci", "payment-service-release", "seed-example"}
    assert {item["project_name"] for item in page["result"]} == set(
        scenario["projects"].values())
    days = set()
    for project_id in scenario["projects"]:
        _, answer = get_json(demo_sim, history_path(project_id, service_day(7), service_day(0)))
        days |= {item["start_time"][:10] for item in answer["build_results"]}
        ends = [item["end_time"] for item in answer["build_results"] if item["end_time"]]
        zone = datetime.timezone(datetime.timedelta(hours=8))
        assert max(ends) <= datetime.datetime.now(zone).strftime("%Y-%m-%d %H:%M:%S"), \
            "no build ends in the future"
    # the newest on today, or yesterday when today's would be still to come
    assert max(days) in (service_day(0), service_day(1)) and len(days) >= 6, \
        "builds on most days of the last week"
    credential, = scenario["credentials"]
    assert signed_request(demo_sim, "GET", status_path(SEED_PIPELINE), ak=credential["ak"],
                          sk=credential["sk"])[0] == 200


def test_revoked_iam_tokens_are_refused_and_a_new_one_works(sim):
    sim.auth(iam_users=[IAM_USER])
    token = post(sim, "/v3/auth/tokens", iam_body(), token=None)[1]["X-Subject-Token"]
    assert get(sim, status_path(PIPELINE_SUCCESS), token=token)[0] == 200
    assert sim.auth(revoke_iam_tokens=True)["iam_tokens_valid"] == 0
    assert get(sim, status_path(PIPELINE_SUCCESS), token=token)[0] == 401
    renewed = post(sim, "/v3/auth/tokens", iam_body(), token=None)[1]["X-Subject-Token"]
    assert renewed != token and get(sim, status_path(PIPELINE_SUCCESS), token=renewed)[0] == 200
