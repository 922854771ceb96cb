"""Defects found by trying issue 8 (a real account: AK/SK, pipelines by name,
build history) as a user of sshfs, rclone mount or `gh run watch` would.

Each test states a promise of README.md that the daemon did not keep when it
was found (commit a5b92e5, branch core); what each shows, and how it was
found, is in its docstring.  They fail until the defect is fixed.

Backends: each test that mounts runs on v3 and v5 (BOTH_BACKENDS): the
promises are the same whichever API lists the pipelines (v3's list call,
v5's per-project pipeline list) and the builds of a pipeline (v3's
build-result, v5's runs list); faults name each API's call through
call_name().
"""

import datetime
import errno
import os
import pathlib
import sys
import time

import pytest

from conftest import (BOTH_BACKENDS, PIPELINE_ERROR, PIPELINE_SUCCESS, REPO, call_name,
                      default_test_scenario, errno_of, health, history_scenario,
                      many_pipelines_scenario, numbered_id, read, scaled, wait_until)

pytestmark = BOTH_BACKENDS

AK = "QTWAOYTTINDUT2QVKYUC"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
WRONG_SK = "Zc0Ifl6dLnWw8dJFqZl5pmHk1GBOKJ3oiOH7MRuB"


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    return path


def ini(sk):
    return f"[basic]\nak = {AK}\nsk = {sk}\n"


def clean_env(tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PIPELINEFS_TOKEN": "", "HUAWEICLOUD_SDK_AK": "",
            "HUAWEICLOUD_SDK_SK": "", "HUAWEICLOUD_SDK_SECURITY_TOKEN": "",
            "HUAWEICLOUD_SDK_CREDENTIALS_FILE": ""}


# --------------------------------------------------------------------------
# Listings and a list call that hangs


TIMEOUT = 4


@pytest.mark.parametrize("where", ["root", "pipeline"])
def test_ls_waits_one_timeout_not_one_per_getdents(sim_factory, mount_factory, tmp_path,
                                                   where, backend):
    """README, Freshness: "`timeout` bounds every read: whatever it waits for
    ..., it returns within `timeout` seconds and a little."  With the pipeline
    list call hanging, `ls MOUNT` and `ls MOUNT/<pipeline>` (whose history needs
    the project from that list) took twice `timeout` (9.8 s with timeout=5; 60 s
    with the default 30): strace shows each of ls's two getdents64 calls
    waiting the whole timeout, the second one (at the end of the listing,
    which asks for nothing new) as long as the first.

    Found with: a "hang" fault on the list call, `time ls MOUNT/<pipeline>`.
    On v5 a pipeline's project is the mount's (project_id=): its history
    waits for the runs list alone, which hangs too.
    """
    sim = sim_factory(history_scenario(days_ago=(0, 1)))
    for call in ("list", "history"):
        sim.fault(kind="hang", call=call_name(backend, call))
    mount = mount_factory(sim.url, tmp_path / "mnt",
                          {"history": 7, "prefetch": 0, "timeout": TIMEOUT})
    directory = pathlib.Path(mount.mountpoint)
    if where == "pipeline":
        directory = directory / numbered_id("history", 0)
    started = time.monotonic()
    try:
        os.listdir(directory)             # readdir(3) to the end: getdents until 0
    except OSError as error:              # the root: no list yet is EIO, not empty
        assert where == "root" and error.errno == errno.EIO, error
    elapsed = time.monotonic() - started
    assert elapsed < scaled(TIMEOUT + 2), \
        f"ls {where} took {elapsed:.1f} s with timeout={TIMEOUT}"


# --------------------------------------------------------------------------
# A list call that failed at the first ls is never asked again


def test_the_root_is_listed_once_the_list_call_works_again(sim_factory, mount_factory,
                                                           tmp_path, backend):
    """README, Pipelines by name: the list is "asked when the root is first
    listed and again when it is listed after `list_ttl` seconds"; a service
    that fails then answers is served again (Freshness, stale-if-error).  When
    the first list call failed (a 500 for a second or two: a deploy, a
    gateway hiccup), `ls MOUNT` and `ls MOUNT/by-name` stayed empty for good:
    no list call was made again however often they were listed (list_ttl=1,
    35 s watched), until a remount.  cache_lists.c refresh_if_stale() only
    refreshes a list that was once known (l->known), and the kernel keeps its
    cached listing because the directory's mtime never changes, so
    pfs_ns_list() is not called again either.

    Found with: {"kind": "status", "status": 500, "call": "list", "count": 2},
    then `ls MOUNT` in a loop.
    """
    sim = sim_factory(many_pipelines_scenario(3))
    sim.fault(kind="status", status=500, call=call_name(backend, "list"))
    mount = mount_factory(sim.url, tmp_path / "mnt", {"list_ttl": 1, "timeout": 2})
    mnt = pathlib.Path(mount.mountpoint)
    # no list yet: an error, not an empty root that says there is nothing
    with pytest.raises(OSError) as error:
        os.listdir(mnt)
    assert error.value.errno == errno.EIO

    def listed():
        try:
            return numbered_id("pipeline", 0) in os.listdir(mnt)
        except OSError:
            return False
    sim.clear_faults()
    wait_until(listed, timeout=15, message="the pipelines listed once the list call works again")
    wait_until(lambda: len(os.listdir(mnt / "by-name")) == 3, timeout=5,
               message="by-name/ listed once the list call works again")


def test_history_is_listed_once_the_history_call_works_again(sim_factory, mount_factory,
                                                             tmp_path, backend):
    """The same for a pipeline's build history: when the first build-result
    call failed, `ls MOUNT/<pipeline>` showed only the build `latest` names for
    good (list_ttl=1, 60 s watched): cache_lists.c refresh_if_stale() skips a
    history never known.

    Found with: {"kind": "status", "status": 500, "call": "history",
    "count": 2}, then `ls MOUNT/<pipeline>` in a loop.
    """
    sim = sim_factory(history_scenario(days_ago=(0, 1, 2)))
    sim.fault(kind="status", status=500, call=call_name(backend, "history"))
    mount = mount_factory(sim.url, tmp_path / "mnt",
                          {"history": 7, "prefetch": 0, "list_ttl": 1, "timeout": 2})
    pipeline = pathlib.Path(mount.mountpoint) / numbered_id("history", 0)
    assert "1" not in os.listdir(pipeline)
    sim.clear_faults()
    wait_until(lambda: {"1", "2", "3"} <= set(os.listdir(pipeline)), timeout=15,
               message="the history listed once build-result works again")


# --------------------------------------------------------------------------
# by-name/ when the list call fails


@pytest.mark.parametrize("fault", [
    {"kind": "status", "status": 503},
    {"kind": "status", "status": 500,
     "body": {"error_code": "COCT.0070003", "error_msg": "access too frequent"}},
    {"kind": "garbage"},
])
def test_a_name_is_not_reported_missing_when_the_list_call_fails(
        sim_factory, mount_factory, tmp_path, fault, backend):
    """README, Errors: only a 404 (400 for a named build) is `No such file or
    directory`; a network error, 5xx or garbage with nothing cached is
    `Input/output error`.  With the pipeline list call failing and no list
    ever received, `cat MOUNT/by-name/alpha/latest/status` said "No such file
    or directory" at once (8 ms): a script that checks `[ -e by-name/alpha ]`
    concludes the pipeline was deleted.  namespace_account.c load_catalog()
    passes every error but EACCES/EINTR off as an empty catalog.

    Found with: a 503 fault on the list call, then `cat by-name/<name>/...`.
    """
    sim = sim_factory(many_pipelines_scenario(2, names=["alpha", "beta"]))
    sim.fault(call=call_name(backend, "list"), **fault)
    mount = mount_factory(sim.url, tmp_path / "mnt", {"timeout": 2})
    mnt = pathlib.Path(mount.mountpoint)
    assert errno_of(os.lstat, mnt / "by-name" / "alpha") == errno.EIO
    assert errno_of(os.lstat, mnt / "projects" / "project-0d1e2f") == errno.EIO


# --------------------------------------------------------------------------
# Health after new keys end the 401 pause


def test_health_is_ok_once_new_keys_are_accepted(sim_factory, mount_factory, tmp_path):
    """README, Credentials: new keys in the credentials file "end at once the
    pause a 401/403 put the mount in"; `.pipelinefs/health` says `ok` when "the
    last request worked, nothing backing off".  After the keys were fixed and
    every read worked again, health still said `state: degraded` with
    `backing_off_until` at the end of the old 30 s pause, for up to 30 s: each
    read that the pause kept from being sent (flight.c pfs_flight_note, the
    not_before branch) reported the pause's end to pfs_stats_backoff_until(),
    and nothing takes that back when pfs_limiter_credentials_changed() ends
    the pause.  A monitor polling health (or pipelinefs_up) sees a problem
    that is gone.

    Found with: wrong SK, a few reads, the right SK written, `cat health`.
    """
    scenario = default_test_scenario()
    scenario["credentials"] = [{"ak": AK, "sk": SK}]
    sim = sim_factory(scenario)
    creds = write_private(tmp_path / "credentials", ini(WRONG_SK))
    mount = mount_factory(sim.url, tmp_path / "mnt",
                          {"credentials_file": str(creds), "prefetch": 0,
                           "pipelines": f"{PIPELINE_ERROR}:{PIPELINE_SUCCESS}"},
                          token=None, env=clean_env(tmp_path))
    mnt = pathlib.Path(mount.mountpoint)
    assert errno_of(read, mnt / PIPELINE_ERROR / "12" / "status") == errno.EACCES
    # another build asked for during the pause: refused without a request
    assert errno_of(read, mnt / PIPELINE_SUCCESS / "7" / "status") == errno.EACCES
    assert len(sim.requests()) == 1
    assert health(mnt)["state"] == "unauthorized"

    replacement = tmp_path / "credentials.new"
    write_private(replacement, ini(SK))
    os.rename(replacement, creds)

    def all_readable():
        try:
            return (read(mnt / PIPELINE_ERROR / "12" / "status") == b"completed\n" and
                    read(mnt / PIPELINE_SUCCESS / "7" / "status") == b"completed\n")
        except OSError:
            return False
    wait_until(all_readable, timeout=5, message="both builds read with the new keys")
    last = {}

    def healthy():
        last.update(health(mnt))
        return last["state"] == "ok"
    try:
        wait_until(healthy, timeout=5, message="health ok once the new keys work")
    except BaseException:
        print(f"the last health seen: {last}")
        raise


# --------------------------------------------------------------------------
# st_nlink of the account's directories


def test_nlink_counts_by_name_projects_and_each_project(sim_factory, mount_factory, tmp_path):
    """README, Layout: "a directory's `st_nlink` is 2 + its subdirectories, so
    `find` and Perl's `File::Find` see every entry."  The root counted its
    pipelines and .pipelinefs but not by-name/ and projects/ (15 for 15
    subdirectories), and projects/ said 2 whatever the number of projects in
    it (namespace.c listing_attr, namespace_account.c dir_attr).  A walker
    that trusts the count (File::Find with $File::Find::dont_use_nlink = 0,
    find(1) on file systems it knows) stops descending early.

    Found with: `stat -c %h MOUNT MOUNT/projects` against `ls -a | wc -l`.
    """
    projects = [numbered_id("project", n) for n in range(3)]
    sim = sim_factory(many_pipelines_scenario(6, projects=projects))
    mnt = pathlib.Path(mount_factory(sim.url, tmp_path / "mnt").mountpoint)
    for directory in (mnt, mnt / "projects"):
        names = os.listdir(directory)
        subdirs = [name for name in names if os.path.isdir(directory / name)
                   and not os.path.islink(directory / name)]
        assert os.stat(directory).st_nlink == 2 + len(subdirs), \
            f"{directory}: st_nlink {os.stat(directory).st_nlink}, subdirectories {subdirs}"


# --------------------------------------------------------------------------
# The demo's builds in the future


def test_the_demo_scenario_has_no_build_in_the_future(monkeypatch):
    """README, first lines: `./contrib/demo.sh` shows `ls -lt
    by-name/web-frontend/`.  Run at 16:30 UTC (00:30 the next day at +08:00),
    its newest build 22 started at 09:12 and ended at 09:17 +08:00 of that
    day, nine hours ahead: `ls -lt` printed "Dec  1  2026" (ls shows the year
    for times in the future) and a `latest` older than the build it points
    at.  "dates_relative" (contrib/pipelinefs_sim/catalog.py shift_dates())
    moves the newest start_time onto today's date, not before now, so from
    16:00 UTC until the demo build's time of day every first run of the
    demo is like that.

    Found with: `./contrib/demo.sh` at 16:30 UTC.
    """
    sys.path.insert(0, str(REPO / "contrib"))
    from pipelinefs_sim import catalog
    import json

    zone = catalog.SERVICE_ZONE
    now = datetime.datetime(2026, 12, 1, 0, 30, 0, tzinfo=zone)

    class Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return now if tz is None else now.astimezone(tz)

    fake = type(datetime)("datetime")
    fake.__dict__.update(datetime.__dict__)
    fake.datetime = Clock
    monkeypatch.setattr(catalog, "datetime", fake)
    data = json.loads((REPO / "contrib" / "scenarios" / "demo.json").read_text("utf-8"))
    catalog.shift_dates(data)
    latest_time = now.replace(tzinfo=None)
    future = []
    for pipeline_id, pipeline in data["pipelines"].items():
        for build_id, build in (pipeline.get("builds") or {}).items():
            body = build.get("body") if isinstance(build, dict) else None
            for field in ("start_time", "end_time"):
                value = body.get(field) if isinstance(body, dict) else None
                if value and datetime.datetime.strptime(value, catalog.API_TIME) > latest_time:
                    future.append((pipeline.get("name"), build_id, field, value))
    assert future == [], f"at {now}, builds in the future: {future}"
