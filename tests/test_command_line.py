"""The command line as a user meets it: options, help, errors before
mounting, where the endpoint and token come from, signals and fstab.

Backends: v3 only (conftest pins api=v3 unless a test names api=): option
parsing and signals are the daemon's, whatever the API."""

import errno
import os
import shutil
import signal
import subprocess

import pytest

from conftest import (entries, BIN, PIPELINE_RUNNING, PIPELINE_SUCCESS, TEST_TOKEN,
                      in_mount_table, readable_again, require_fuse, scaled, wait_until)


def run_daemon(*args, env=None, timeout=10):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=scaled(timeout),
                          env={**os.environ, **(env or {})})


def test_help_lists_our_options_before_libfuse_options():
    result = run_daemon("--help")
    assert result.returncode == 0
    out = result.stdout + result.stderr
    for option in ("endpoint=URL", "token_file=PATH", "pipelines=ID", "ttl=SECONDS",
                   "timeout=SECONDS", "max_requests=N", "rate=N", "cache_size=MIB",
                   "prefetch=0|1", "--version"):
        assert option in out
    assert "allow_other" in out
    assert out.index("ttl=SECONDS") < out.index("allow_other")
    assert run_daemon("-h").stdout == result.stdout


def test_version_names_pipelinefs_and_libfuse():
    result = run_daemon("-V")
    assert result.returncode == 0
    assert "pipelinefs version 0.1.0" in result.stdout
    assert "FUSE library version 3." in result.stdout


def write_private(path, text):
    """Write a token file as the README says (umask 077): a group- or world-readable
    one gets a warning line, which would break the one-line error checks."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)
    return path


@pytest.fixture
def token_path(tmp_path):
    return write_private(tmp_path / "token", TEST_TOKEN + "\n")


@pytest.mark.parametrize("options, complaint", [
    ("ttl=soon", "ttl=soon"),
    ("ttl=-1", "ttl=-1"),
    ("ttl=0", "ttl=0"),
    ("ttl=0.5", "ttl=0.5"),
    ("timeout=0", "timeout=0"),
    ("timeout=5s", "timeout=5s"),
    ("pipelines=abc:not/an/id", "not/an/id"),
    ("endpoint=ftp://example.com", "ftp://example.com"),
    ("endpoint=https://", "https://"),
    ("frobnicate=1", "frobnicate"),
    ("max_requests=0", "max_requests=0"),
    ("max_requests=2.5", "max_requests=2.5"),
    ("rate=-1", "rate=-1"),
    ("cache_size=lots", "cache_size=lots"),
    ("prefetch=2", "prefetch=2"),
    ("ttl=1,timeout=0,rate=-1", "timeout=0"),
])
def test_bad_option_is_one_line_error_and_nothing_mounted(tmp_path, token_path, options,
                                                          complaint):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    endpoint = "" if "endpoint=" in options else "endpoint=http://127.0.0.1:9,"
    result = run_daemon("-f", "-o", f"{endpoint}token_file={token_path},{options}", str(mnt))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert complaint in lines[0]
    assert not in_mount_table(mnt)


@pytest.mark.parametrize("args, complaint", [
    (["-o", "token_file={token}"], "no endpoint"),
    (["-o", "endpoint=http://127.0.0.1:9"], "no token"),
    (["-o", "endpoint=http://127.0.0.1:9,token_file={missing}"], "cannot read token file"),
    (["-o", "endpoint=http://127.0.0.1:9,token_file={empty}"], "holds no token"),
    (["-o", "endpoint=http://127.0.0.1:9,token=secret"], "token= is refused"),
    (["http://127.0.0.1:9", "extra", "-o", "token_file={token}"], "too many arguments"),
])
def test_missing_endpoint_or_token_fails_before_mounting(tmp_path, token_path, args,
                                                         complaint):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    write_private(tmp_path / "empty", "\n")
    args = [a.format(token=token_path, missing=tmp_path / "nope", empty=tmp_path / "empty")
            for a in args]
    env = {"PIPELINEFS_ENDPOINT": "", "PIPELINEFS_TOKEN": ""}
    result = run_daemon("-f", *args, str(mnt), env=env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert complaint in result.stderr
    assert "secret" not in result.stderr
    assert not in_mount_table(mnt)


def test_no_mountpoint_is_an_error():
    result = run_daemon("-o", "endpoint=http://127.0.0.1:9")
    assert result.returncode == 1
    assert "no mountpoint" in result.stderr


def test_endpoint_without_mountpoint_says_the_mountpoint_is_missing(token_path):
    # it used to take the URL for the mountpoint and say "no endpoint"
    result = run_daemon("-o", f"token_file={token_path}", "http://127.0.0.1:9",
                        env={"PIPELINEFS_ENDPOINT": ""})
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "no mountpoint given after the endpoint http://127.0.0.1:9" in result.stderr


def read_status(mnt, pipeline=PIPELINE_SUCCESS):
    return (mnt / pipeline / "latest" / "status").read_text()


def test_endpoint_as_first_argument(sim, mount_factory, tmp_path, token_path):
    mount = mount_factory("ignored", tmp_path / "mnt", token=None,
                          options={"endpoint": None, "token_file": token_path},
                          extra_args=[sim.url])
    assert read_status(mount.mountpoint) == "completed\n"


def test_endpoint_and_token_from_the_environment(sim, mount_factory, tmp_path):
    mount = mount_factory("ignored", tmp_path / "mnt", token=None,
                          options={"endpoint": None},
                          env={"PIPELINEFS_ENDPOINT": sim.url + "/",
                               "PIPELINEFS_TOKEN": TEST_TOKEN})
    assert read_status(mount.mountpoint) == "completed\n"
    assert [r["status"] for r in sim.requests()] == [200]


def test_options_also_work_as_double_dash_flags(sim, mount_factory, tmp_path, token_path):
    mount = mount_factory("ignored", tmp_path / "mnt", token=None,
                          options={"endpoint": None},
                          extra_args=[f"--endpoint={sim.url}", f"--token_file={token_path}",
                                      f"--pipelines={PIPELINE_SUCCESS}", "--ttl=1"])
    assert entries(mount.mountpoint) == [PIPELINE_SUCCESS]


def test_token_file_under_home_is_expanded(sim, mount_factory, tmp_path):
    write_private(tmp_path / ".iam-token", TEST_TOKEN)
    mount = mount_factory(sim.url, tmp_path / "mnt", token=None,
                          options={"token_file": "~/.iam-token"},
                          env={"HOME": str(tmp_path)})
    assert read_status(mount.mountpoint) == "completed\n"


def test_rotated_token_file_is_used_without_remounting(sim, mount_factory, tmp_path):
    mount = mount_factory(sim.url, tmp_path / "mnt", {"ttl": 1})
    status = mount.mountpoint / PIPELINE_RUNNING / "3" / "status"
    assert status.read_text() == "running\n"
    sim.set_token("rotated-token")
    sim.clear_requests()

    def refused():
        try:
            status.read_text()
        except PermissionError:
            return True
        return False

    wait_until(refused, timeout=5, message="EACCES with the old token")
    assert "APIG.0301" in mount.log()
    rotated = tmp_path / "rotated"
    write_private(rotated, "rotated-token\n")
    os.rename(rotated, mount.token_file)    # how tools replace files atomically
    # a changed token file ends the pause the 401 started: no remount, no long wait
    readable_again(status, b"running\n", timeout=3, message="the build with the new token")
    assert "rotated-token" not in mount.log()
    assert TEST_TOKEN not in mount.log()


def test_mount_table_names_the_endpoint_and_read_only(sim, mnt):
    with open("/proc/self/mounts", encoding="utf-8") as table:
        line = next(line for line in table if line.split()[1] == str(mnt))
    source, _, fstype, options = line.split()[:4]
    assert source == sim.url
    assert fstype == "fuse.pipelinefs"
    assert "ro" in options.split(",")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_unmounts_cleanly_and_exits_zero(sim, mount, sig):
    assert read_status(mount.mountpoint) == "completed\n"
    mount.terminate(sig)
    assert not in_mount_table(mount.mountpoint)


def test_fstab_line_mounts_through_mount_fuse3(sim, tmp_path, token_path):
    """An fstab line runs mount.fuse3 SOURCE MOUNTPOINT -t pipelinefs -o OPTIONS."""
    require_fuse()
    mount_helper = shutil.which("mount.fuse3") or "/sbin/mount.fuse3"
    if not os.path.exists(mount_helper):
        pytest.skip("mount.fuse3 not installed")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = {**os.environ, "PATH": f"{os.path.dirname(BIN)}:{os.environ['PATH']}"}
    result = subprocess.run(
        [mount_helper, sim.url, str(mnt), "-t", "pipelinefs",
         "-o", f"noauto,token_file={token_path},pipelines={PIPELINE_SUCCESS}"],
        capture_output=True, text=True, env=env, timeout=scaled(20))
    try:
        assert result.returncode == 0, result.stderr
        assert in_mount_table(mnt)
        assert entries(mnt) == [PIPELINE_SUCCESS]
        assert read_status(mnt) == "completed\n"
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], capture_output=True)
    wait_until(lambda: not in_mount_table(mnt), message="fstab mount gone")


def test_debug_output_never_shows_the_token(sim, mount_factory, tmp_path):
    mount = mount_factory(sim.url, tmp_path / "mnt", token="a-very-secret-token-1234",
                          extra_args=["-d"])
    sim.set_token("a-very-secret-token-1234")
    assert read_status(mount.mountpoint) == "completed\n"
    mount.umount()
    assert "GET /v3/pipelines" in mount.log()
    assert "a-very-secret-token-1234" not in mount.log()


def test_writes_fail_read_only_even_for_root(sim, mnt):
    path = mnt / PIPELINE_SUCCESS / "latest" / "status"
    with pytest.raises(OSError) as error:
        open(path, "w")
    assert error.value.errno == errno.EROFS
