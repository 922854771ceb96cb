"""What a user sees when the API fails: errno values, cached copies, log lines.

After every failure the mount must keep working, and at teardown the
mount_factory fixture demands that the daemon exits 0, so a crash in any of
these paths fails the test that caused it.

Backends: every failure of a build call runs on v3 and v5 (BOTH_BACKENDS);
v3 only: the mistyped v3 body (its shapes are v3's; v5's wrong types are in
test_fault_matrix) and a lazy unmount (FUSE's, whatever the API).
"""

import errno
import json
import os
import subprocess
import time

import pytest

from conftest import (entries, ALL_LISTED, BOTH_BACKENDS, PIPELINE_ERROR, PIPELINE_RUNNING,
                      PIPELINE_SUCCESS, errno_of, in_mount_table, log_lines, read,
                      readable_again, scaled, v3_only, wait_until)

pytestmark = BOTH_BACKENDS

UNKNOWN_PIPELINE = "ffffffffffffffffffffffffffffffff"


@pytest.fixture
def mount_options():
    return dict(ALL_LISTED)


def status_path(backend, pipeline_id, build_id=None):
    """What the daemon's log line of a build call names: v3's path and query; v5's
    path (a run may be named by its number or its id)."""
    if backend == "v5":
        return f"/api/pipelines/{pipeline_id}/pipeline-runs/detail"
    path = f"/v3/pipelines/{pipeline_id}/status"
    return path if build_id is None else f"{path}?build_id={build_id}"


def assert_mount_still_works(mnt):
    """A build no failure touched can still be read: the daemon lives on."""
    assert read(mnt / PIPELINE_ERROR / "12" / "outcome") == b"error\n"
    assert entries(mnt / PIPELINE_ERROR / "12" / "stages") == ["构建", "测试"]


# --------------------------------------------------------------------------
# The API says no: ENOENT and EACCES


def test_unknown_pipeline_is_enoent_and_logged_with_api_error(mnt, mount, sim):
    assert errno_of(os.stat, mnt / UNKNOWN_PIPELINE) == errno.ENOENT
    requests = sim.api_requests(UNKNOWN_PIPELINE)
    assert [entry["status"] for entry in requests] == [404]
    assert len(log_lines(mount, "DEVPIPE.00011401", "pipeline not found")) == len(requests)
    assert UNKNOWN_PIPELINE not in os.listdir(mnt)
    assert_mount_still_works(mnt)


def test_latest_of_unknown_listed_pipeline_is_enoent(mount_with, sim):
    mount = mount_with(pipelines=f"{PIPELINE_ERROR}:{UNKNOWN_PIPELINE}")
    mnt = mount.mountpoint
    assert entries(mnt) == [PIPELINE_ERROR, UNKNOWN_PIPELINE]
    assert errno_of(os.readlink, mnt / UNKNOWN_PIPELINE / "latest") == errno.ENOENT
    assert log_lines(mount, "DEVPIPE.00011401")
    assert_mount_still_works(mnt)


def test_unknown_build_is_enoent_and_logged_with_api_error(mnt, mount, sim):
    assert errno_of(read, mnt / PIPELINE_SUCCESS / "99" / "status") == errno.ENOENT
    requests = sim.api_requests(PIPELINE_SUCCESS, build_id="99")
    assert [entry["status"] for entry in requests] == [400]
    # v3 "build not found", v5 "pipeline run not found"
    assert len(log_lines(mount, "DEVPIPE.00011104", "not found")) == len(requests)
    assert "99" not in os.listdir(mnt / PIPELINE_SUCCESS)
    assert_mount_still_works(mnt)


@pytest.mark.parametrize("path", [(PIPELINE_SUCCESS, "7", "status"),
                                  (PIPELINE_SUCCESS, "latest", "status")],
                         ids=["build", "latest"])
def test_wrong_token_is_eacces_and_logged(mnt, mount, sim, path):
    assert read(mnt / PIPELINE_ERROR / "12" / "status") == b"completed\n"   # cached forever
    sim.set_token("other")
    assert errno_of(read, mnt.joinpath(*path)) == errno.EACCES
    requests = sim.api_requests(PIPELINE_SUCCESS)
    assert [entry["status"] for entry in requests] == [401]
    assert len(log_lines(mount, "APIG.0301")) == 1
    assert_mount_still_works(mnt)          # cached: served during the 401 pause
    # the 401 paused the whole mount (30 s: keys that keep failing get
    # locked); a new token ends the pause at once
    sim.set_token("rotated-token")
    mount.token_file.write_text("rotated-token\n")
    readable_again(mnt.joinpath(*path), b"completed\n")


def test_forbidden_is_eacces_and_logged(mnt, mount, sim):
    assert_mount_still_works(mnt)          # build 12 cached before the 403
    sim.fault(kind="status", status=403, pipeline_id=PIPELINE_SUCCESS,
              body={"error_code": "DEVPIPE.00011103",
                    "error_msg": "no permission to view this pipeline"})
    assert errno_of(read, mnt / PIPELINE_SUCCESS / "7" / "status") == errno.EACCES
    assert len(log_lines(mount, "DEVPIPE.00011103", "no permission to view this pipeline")) == 1
    assert_mount_still_works(mnt)          # cached: served during the 403 pause
    # another pipeline, once the mount-wide pause the 403 started is over
    readable_again(mnt / PIPELINE_RUNNING / "3" / "status", b"running\n")


# --------------------------------------------------------------------------
# The API answers 200 with something else than the documented JSON


@pytest.mark.parametrize("kind", ["garbage", "truncate", "wrong_types"])
def test_unusable_body_is_eio(mnt, mount, sim, kind, backend):
    sim.fault(kind=kind, pipeline_id=PIPELINE_SUCCESS)
    build = mnt / PIPELINE_SUCCESS / "7"
    assert errno_of(read, build / "status") == errno.EIO
    assert errno_of(os.listdir, build) == errno.EIO
    requests = sim.api_requests(PIPELINE_SUCCESS, build_id="7")
    assert [entry["status"] for entry in requests] == [200] * len(requests)
    # however many requests the same failure takes, it is logged once
    assert len(log_lines(mount, status_path(backend, PIPELINE_SUCCESS, "7"))) == 1
    assert_mount_still_works(mnt)
    sim.clear_faults()
    readable_again(build / "status", b"completed\n")      # after the failure's backoff


def test_unusable_body_for_latest_is_eio(mnt, mount, sim, backend):
    sim.fault(kind="garbage", pipeline_id=PIPELINE_SUCCESS, build_id=None)
    assert errno_of(os.readlink, mnt / PIPELINE_SUCCESS / "latest") == errno.EIO
    assert log_lines(mount, status_path(backend, PIPELINE_SUCCESS))
    assert read(mnt / PIPELINE_SUCCESS / "7" / "status") == b"completed\n"
    assert_mount_still_works(mnt)


MISTYPED_BODY = {
    "pipeline_id": PIPELINE_SUCCESS, "pipeline_name": 12345, "executor": {"name": "zhangsan"},
    "build_id": 7, "start_time": [], "end_time": True, "elapsed_time": 3.5, "status": 42,
    "outcome": False, "detail_url": None,
    "parameters": [{"name": "retries", "value": 5}, {"name": 7, "value": True}],
    "states": [{"id": 4, "name": "构建", "type": None, "status": 42, "outcome": {},
                "start_time": 1700000000, "end_time": False, "elapsed_time": [1, 2],
                "error_code": 11500, "error_msg": {"zh": "失败"}, "detail_url": 3.25,
                "children": [{"id": "Task_1", "name": 5, "status": True}]}],
}


@pytest.fixture
def mistyped_build(mnt, sim, backend):
    if backend != "v3":
        pytest.fail("MISTYPED_BODY is a v3 body: mark the test v3_only")
    sim.fault(kind="status", status=200, body=MISTYPED_BODY, pipeline_id=PIPELINE_SUCCESS,
              build_id="7")
    return mnt / PIPELINE_SUCCESS / "7"


MISTYPED = "MISTYPED_BODY has v3's shapes"


@v3_only(MISTYPED)
def test_mistyped_build_fields_show_their_json_text(mistyped_build):
    assert read(mistyped_build / "status") == b"42\n"
    assert read(mistyped_build / "pipeline_name") == b"12345\n"
    assert read(mistyped_build / "build_id") == b"7\n"
    assert read(mistyped_build / "end_time") == b"true\n"
    assert read(mistyped_build / "outcome") == b"false\n"
    assert read(mistyped_build / "elapsed_time") == b"3.5\n"
    assert read(mistyped_build / "start_time") == b"[]\n"
    assert json.loads(read(mistyped_build / "executor")) == {"name": "zhangsan"}
    assert read(mistyped_build / "executor").endswith(b"}\n")
    assert read(mistyped_build / "detail_url") == b""


@v3_only(MISTYPED)
def test_mistyped_stage_task_and_parameter_fields_show_their_json_text(mistyped_build):
    stage = mistyped_build / "stages" / "构建"
    assert read(stage / "id") == b"4\n"
    assert read(stage / "status") == b"42\n"
    assert read(stage / "start_time") == b"1700000000\n"
    assert read(stage / "end_time") == b"false\n"
    assert read(stage / "error_code") == b"11500\n"
    assert read(stage / "detail_url") == b"3.25\n"
    assert read(stage / "type") == b""
    assert json.loads(read(stage / "outcome")) == {}
    assert json.loads(read(stage / "elapsed_time")) == [1, 2]
    assert json.loads(read(stage / "error_msg")) == {"zh": "失败"}
    assert entries(stage / "tasks") == ["5"]
    assert read(stage / "tasks" / "5" / "status") == b"true\n"
    assert entries(mistyped_build / "parameters") == ["retries", "7"]
    assert read(mistyped_build / "parameters" / "retries") == b"5\n"
    assert read(mistyped_build / "parameters" / "7") == b"true\n"


@v3_only(MISTYPED)
def test_mistyped_body_is_served_as_status_json(mistyped_build):
    assert json.loads(read(mistyped_build / "status.json")) == MISTYPED_BODY
    assert os.stat(mistyped_build / "status.json").st_size == \
        len(read(mistyped_build / "status.json"))


# --------------------------------------------------------------------------
# Network errors, timeouts and 5xx


FAILURES = {
    "connection-closed": ({"kind": "close"}, None),
    "503": ({"kind": "status", "status": 503}, "SIM.503"),
    "500": ({"kind": "status", "status": 500}, "SIM.500"),
}


@pytest.mark.parametrize("fault, code", FAILURES.values(), ids=FAILURES.keys())
def test_failure_with_nothing_cached_is_eio(mnt, mount, sim, fault, code, backend):
    sim.fault(pipeline_id=PIPELINE_SUCCESS, **fault)
    assert errno_of(read, mnt / PIPELINE_SUCCESS / "7" / "status") == errno.EIO
    requests = sim.api_requests(PIPELINE_SUCCESS, build_id="7")
    assert len(requests) >= 1
    assert len(log_lines(mount, status_path(backend, PIPELINE_SUCCESS, "7"))) == 1
    if code:
        assert len(log_lines(mount, code)) == 1
    assert_mount_still_works(mnt)


def test_timeout_with_nothing_cached_is_eio(mount_with, sim, backend):
    mount = mount_with(timeout=1)
    mnt = mount.mountpoint
    sim.fault(kind="hang", pipeline_id=PIPELINE_SUCCESS)
    started = time.monotonic()
    assert errno_of(read, mnt / PIPELINE_SUCCESS / "7" / "status") == errno.EIO
    assert time.monotonic() - started < scaled(2.0), "not within timeout + 1 s"
    assert log_lines(mount, status_path(backend, PIPELINE_SUCCESS, "7"))
    assert_mount_still_works(mnt)
    sim.clear_faults()


def test_build_is_readable_again_once_the_api_recovers(mnt, sim):
    sim.fault(kind="status", status=503, pipeline_id=PIPELINE_SUCCESS)
    status = mnt / PIPELINE_SUCCESS / "7" / "status"
    assert errno_of(read, status) == errno.EIO
    first = sim.api_requests(PIPELINE_SUCCESS)[0]["time"]
    # during the backoff (0.5-1.5 s) a reader waits for the retry, which
    # comes within its timeout: one request per backoff, however many read
    assert errno_of(read, status) == errno.EIO
    requests = sim.api_requests(PIPELINE_SUCCESS)
    assert len(requests) == 2, requests
    assert requests[1]["time"] - first >= 0.45, "asked again before the backoff"
    sim.clear_faults()
    assert read(status) == b"completed\n"
    assert len(sim.api_requests(PIPELINE_SUCCESS)) == 3


# With a copy cached, every failed refresh serves the copy (stale-if-error):
# only 404/400 and 401/403 change what readers see.
CACHED_FAILURES = {**FAILURES, "timeout": ({"kind": "hang"}, None),
                   "garbage": ({"kind": "garbage"}, None),
                   "truncate": ({"kind": "truncate"}, None),
                   "wrong_types": ({"kind": "wrong_types"}, None),
                   "html": ({"kind": "html"}, None),
                   "oversize": ({"kind": "oversize"}, None)}


@pytest.mark.parametrize("fault, code", CACHED_FAILURES.values(), ids=CACHED_FAILURES.keys())
def test_failure_with_build_cached_serves_the_cached_copy(mount_with, sim, fault, code):
    mount = mount_with(ttl=1, timeout=1)
    mnt = mount.mountpoint
    build = mnt / PIPELINE_RUNNING / "3"
    files = ["status", "stages/人工审核/status", "status.json"]
    before = {name: read(build / name) for name in files}
    assert before["status"] == b"running\n"

    sim.advance(60)                   # a successful refresh would now say "completed"
    sim.fault(pipeline_id=PIPELINE_RUNNING, **fault)

    def refresh_failed():
        # the request is logged by the sim as it starts, its failure by the
        # daemon when it ends (a hang: timeout later): wait for both
        assert read(build / "status") == b"running\n"
        return (len(sim.api_requests(PIPELINE_RUNNING, build_id="3")) >= 2 and
                log_lines(mount, "cached copy", PIPELINE_RUNNING))
    wait_until(refresh_failed, timeout=8, message="a failed refresh after ttl")
    assert {name: read(build / name) for name in files} == before
    if code:
        assert log_lines(mount, code)
    assert_mount_still_works(mnt)

    sim.clear_faults()
    wait_until(lambda: read(build / "status") == b"completed\n", timeout=10,
               message="the new status once the API recovers (after the backoff)")


def test_failure_with_latest_cached_keeps_the_latest_link(mount_with, sim):
    mount = mount_with(ttl=1)
    mnt = mount.mountpoint
    latest = mnt / PIPELINE_RUNNING / "latest"
    assert os.readlink(latest) == "3"
    sim.fault(kind="status", status=503, pipeline_id=PIPELINE_RUNNING)

    def refresh_failed():
        assert os.readlink(latest) == "3"
        return len(sim.api_requests(PIPELINE_RUNNING, build_id=None)) >= 2
    wait_until(refresh_failed, timeout=5, message="a failed refresh of latest after ttl")
    assert read(latest / "status") == b"running\n"
    assert log_lines(mount, "cached copy", PIPELINE_RUNNING)
    sim.clear_faults()


# --------------------------------------------------------------------------
# Leaving: the daemon must exit 0 even if the kernel never releases a handle


@v3_only("FUSE's unmount, the same whatever the API")
def test_lazy_unmount_with_files_still_open_exits_cleanly(mount_with, sim):
    mount = mount_with()
    mnt = mount.mountpoint
    build = mnt / PIPELINE_SUCCESS / "7"
    directory = os.open(build / "stages", os.O_RDONLY | os.O_DIRECTORY)
    file = os.open(build / "status", os.O_RDONLY)
    assert os.read(file, 100) == b"completed\n"
    try:
        result = subprocess.run(["fusermount3", "-u", "-z", str(mnt)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    finally:
        for fd in (directory, file):
            try:
                os.close(fd)
            except OSError:
                pass
    assert mount.wait_exit() == 0, mount.log()
    assert not in_mount_table(mnt)
