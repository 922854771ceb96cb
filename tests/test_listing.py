"""Directory listings as tools read them: consistent across getdents calls,
`.` and `..` with real inode numbers, st_nlink that counts subdirectories,
and a mount that is read-only whatever the options say.

Listings are read with raw getdents64 calls and a small buffer, so that one
directory takes many calls and the simulator can change it between them.

Backends: st_nlink, `.`/`..` and File::Find run on the v3 and the v5 tree
(BOTH_BACKENDS: v5 builds have more kinds of directory: steps, gates).  The
getdents cursors and the read-only mount are the namespace's and FUSE's,
the same whatever the API, so those run on v3 alone.
"""

import collections
import ctypes
import os
import pathlib
import struct
import subprocess

import pytest

from conftest import (BOTH_BACKENDS, PIPELINE_ERROR, PIPELINE_SUCCESS, TEST_PIPELINES,
                      TEST_TOKEN, wait_until)


# --------------------------------------------------------------------------
# Raw getdents64

SYS_GETDENTS64 = {"x86_64": 217, "aarch64": 61}.get(os.uname().machine)
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
Dirent = collections.namedtuple("Dirent", "name ino off")
DIRENT_HEADER = struct.Struct("<QqHB")     # d_ino, d_off, d_reclen, d_type


def getdents(fd, size=1024):
    """One getdents64 call on fd: the entries it returned, [] at the end."""
    if SYS_GETDENTS64 is None:
        pytest.skip(f"getdents64 number unknown on {os.uname().machine}")
    buf = ctypes.create_string_buffer(size)
    got = _libc.syscall(SYS_GETDENTS64, fd, buf, ctypes.c_size_t(size))
    if got < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    entries, pos = [], 0
    while pos < got:
        ino, off, reclen, _ = DIRENT_HEADER.unpack_from(buf.raw, pos)
        name = buf.raw[pos + DIRENT_HEADER.size:pos + reclen].split(b"\0", 1)[0]
        entries.append(Dirent(name.decode("utf-8", "surrogateescape"), ino, off))
        pos += reclen
    return entries


def read_some(fd, at_least):
    """Entries from getdents calls on fd until at least at_least came (or the end)."""
    entries = []
    while len(entries) < at_least:
        chunk = getdents(fd)
        if not chunk:
            break
        entries += chunk
    return entries


def all_dirents(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return read_some(fd, float("inf"))
    finally:
        os.close(fd)


def assert_each_once(names, present_throughout, allowed):
    counts = collections.Counter(names)
    assert [name for name, count in counts.items() if count > 1] == []
    assert sorted(set(present_throughout) - set(counts)) == []
    assert sorted(set(counts) - set(allowed) - {".", ".."}) == []


# --------------------------------------------------------------------------
# Item 7: a listing changed between getdents calls

BIG = "b16b16b16b16b16b16b16b16b16b16b1"


def build_body(pipeline_id, build_id, parameter_names=(), status="running"):
    return {"pipeline_id": pipeline_id, "pipeline_name": "big", "build_id": build_id,
            "status": status, "outcome": None, "states": [],
            "parameters": [{"name": name, "value": "v"} for name in parameter_names]}


def one_build_scenario(parameter_names):
    return {"token": TEST_TOKEN, "pipelines": {BIG: {"builds": {
        "1": {"body": build_body(BIG, "1", parameter_names)}}}}}


def test_parameters_changed_between_getdents_calls_each_kept_entry_once(
        sim_factory, mount_factory, tmp_path):
    gone = [f"gone{i:04d}" for i in range(500)]
    kept = [f"kept{i:04d}" for i in range(3000)]
    new = [f"new{i:04d}" for i in range(300)]
    before = gone + kept
    # removed before the reader's position, added before and after it
    after = new[:100] + kept[:500] + new[100:200] + kept[500:2000] + new[200:] + kept[2000:]
    sim = sim_factory(one_build_scenario(before))
    mnt = pathlib.Path(mount_factory(sim.url, tmp_path / "mnt",
                                     {"ttl": 1, "prefetch": 0}).mountpoint)
    parameters = mnt / BIG / "1" / "parameters"
    fd = os.open(parameters, os.O_RDONLY | os.O_DIRECTORY)
    try:
        seen = read_some(fd, 1500)
        assert len(seen) < len(before)     # the reader is in the middle
        sim.set_scenario(one_build_scenario(after))
        wait_until(lambda: os.path.exists(parameters / "new0000"), timeout=10,
                   message="the daemon to see the new parameters")
        seen += read_some(fd, 800)
        # then the entry read last goes, and others before it
        last = seen[-1].name
        final = [name for name in after if name != last and name not in kept[:100]]
        sim.set_scenario(one_build_scenario(final))
        wait_until(lambda: not os.path.exists(parameters / last), timeout=10,
                   message=f"{last} to go away")
        seen += read_some(fd, float("inf"))
    finally:
        os.close(fd)
    names = [entry.name for entry in seen]
    assert set(names) & set(new[200:])     # the rest came from the new copies
    assert_each_once(names, set(kept[100:]) - {last}, before + after)


def many_builds_scenario(builds, latest):
    entries = {build_id: {"body": build_body(BIG, build_id, status="completed")}
               for build_id in builds}
    entries["none"] = {"body": build_body(BIG, None)}   # names no build: no "latest"
    return {"token": TEST_TOKEN, "pipelines": {BIG: {"latest": latest, "builds": entries}}}


def test_latest_going_away_between_getdents_calls_loses_no_build(
        sim_factory, mount_factory, tmp_path):
    builds = [f"b{i:04d}" for i in range(300)]
    sim = sim_factory(many_builds_scenario(builds, latest=builds[-1]))
    mnt = pathlib.Path(mount_factory(sim.url, tmp_path / "mnt",
                                     {"ttl": 1, "prefetch": 0}).mountpoint)
    pipeline = mnt / BIG
    for build_id in builds:     # seen, so listed, in this order
        os.stat(pipeline / build_id)
    fd = os.open(pipeline, os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = read_some(fd, 100)
        assert "latest" in [entry.name for entry in first]
        sim.set_scenario(many_builds_scenario(builds, latest="none"))
        wait_until(lambda: not os.path.lexists(pipeline / "latest"), timeout=10,
                   message="latest to go away")
        rest = read_some(fd, float("inf"))
    finally:
        os.close(fd)
    assert_each_once([entry.name for entry in first + rest], builds, builds + ["latest", "events", "summary"])


# --------------------------------------------------------------------------
# Item 8: st_nlink, `.` and `..`

@pytest.fixture
def mount_options():
    return {"pipelines": ":".join(TEST_PIPELINES)}


def subdirectories(path):
    return [entry for entry in os.scandir(path) if entry.is_dir(follow_symlinks=False)]


@BOTH_BACKENDS
def test_directory_nlink_is_two_plus_subdirectories(mnt):
    build = mnt / PIPELINE_SUCCESS / "7"
    for directory in [build, build / "stages", build / "stages" / "构建",
                      build / "stages" / "构建" / "tasks", build / "parameters"]:
        assert (directory, os.stat(directory).st_nlink) == (
            directory, 2 + len(subdirectories(directory)))
    assert os.stat(mnt).st_nlink == 2 + len(TEST_PIPELINES) + 1    # and .pipelinefs
    os.stat(mnt / PIPELINE_SUCCESS / "6")
    assert os.stat(mnt / PIPELINE_SUCCESS).st_nlink == 2 + len(
        subdirectories(mnt / PIPELINE_SUCCESS))


@BOTH_BACKENDS
def test_perl_file_find_finds_what_os_walk_finds(mnt):
    top = mnt / PIPELINE_ERROR / "12"
    walked = {str(top)}
    for directory, dirs, files in os.walk(top):
        walked.update(os.path.join(directory, name) for name in dirs + files)
    # with dont_use_nlink 0 (the default before Perl 5.22, still set by
    # scripts for speed) File::Find descends into nlink - 2 subdirectories
    found = subprocess.run(
        ["perl", "-MFile::Find", "-e", '$File::Find::dont_use_nlink = 0; '
         'find(sub { print "$File::Find::name\\0" }, $ARGV[0])', str(top)],
        capture_output=True, check=True).stdout.decode().split("\0")[:-1]
    assert len(walked) > 50
    assert sorted(found) == sorted(walked)


@BOTH_BACKENDS
def test_dot_and_dotdot_are_listed_with_their_inode_numbers(mnt):
    build = mnt / PIPELINE_SUCCESS / "7"
    for directory, parent in [(mnt, mnt), (mnt / PIPELINE_SUCCESS, mnt),
                              (build, mnt / PIPELINE_SUCCESS), (build / "stages", build),
                              (build / "stages" / "构建", build / "stages")]:
        inodes = {entry.name: entry.ino for entry in all_dirents(directory)}
        assert (directory, inodes["."], inodes[".."]) == (
            directory, os.stat(directory).st_ino, os.stat(parent).st_ino)
        listed = subprocess.run(["ls", "-a", str(directory)], capture_output=True,
                                text=True, check=True).stdout.split("\n")
        assert listed[:2] == [".", ".."]


# --------------------------------------------------------------------------
# Item 9: read-only whatever the options

def mount_flags(path):
    target = os.path.realpath(path)
    with open("/proc/self/mounts", encoding="utf-8") as table:
        for line in table:
            fields = line.split()
            if fields[1] == target:
                return fields[3].split(",")
    pytest.fail(f"{target} not in /proc/self/mounts")


def test_rw_option_still_mounts_read_only(sim, mount_factory, tmp_path):
    mnt = pathlib.Path(mount_factory(sim.url, tmp_path / "mnt", ["rw"]).mountpoint)
    flags = mount_flags(mnt)
    assert "ro" in flags and "rw" not in flags
    if os.geteuid() == 0:
        assert not os.access(mnt, os.W_OK)
    with pytest.raises(OSError) as error:
        os.mkdir(mnt / "new")
    assert error.value.errno == 30     # EROFS
