"""contrib/systemd/: the units pass `systemd-analyze verify` without a single
warning, and their command lines do what their comments promise, run by hand
as systemd would run them (no systemd needs to be running):

- pipelinefs.service (Type=forking): ExecStart returns once the mount is up;
  SIGTERM unmounts; after a crash ExecStopPost clears the dead mount, so
  Restart=on-failure can mount again.
- pipelines.mount: its What=, Where= and Options= mount through mount.fuse3,
  as mount(8) runs it (which drops _netdev and x-* itself; mount.fuse3 drops
  _netdev too).
- pipelinefs-metrics.service: writes pipelinefs_up 0 when the mount cannot
  be read, through a temporary file.

systemd-analyze comes with Debian's systemd package, which
contrib/ensure-deps.sh installs: in CI (CI set) its absence fails the test,
elsewhere it skips.

Backends: v3 only: units and the man page, no API involved.
"""

import os
import pathlib
import re
import shlex
import shutil
import signal
import subprocess

import pytest

from conftest import (BIN, PIPELINE_SUCCESS, REPO, TEST_TOKEN, in_mount_table, read,
                      require_fuse, scaled, wait_until)

UNIT_DIR = REPO / "contrib" / "systemd"
UNITS = ("pipelinefs.service", "pipelines.mount", "pipelines.automount",
         "pipelinefs-metrics.service", "pipelinefs-metrics.timer")
INSTALLED_BIN = "/usr/local/bin/pipelinefs"
# what the shipped units name, replaced by the test's own
ENDPOINT = "https://cloudpipeline-ext.cn-north-4.myhuaweicloud.com"
MOUNTPOINT = "/pipelines"
TOKEN_FILE = "/etc/pipelinefs/token"
PIPELINE = "8025ba36a87a4dd5af496708c2961817"
PROM_DIR = "/var/lib/prometheus/node-exporter"
VERIFY_TIMEOUT = 60


def systemd_analyze():
    """The systemd-analyze binary; skips without it, unless in CI."""
    path = shutil.which("systemd-analyze")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze missing in CI: contrib/ensure-deps.sh installs systemd")
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    return path


def verify(directory, names):
    """Run systemd-analyze verify on the units; its complaints, or "" if none.

    A warning ("Unknown key ..., ignoring") leaves the exit status 0, so any
    output counts. --man=no: the man page is not installed here, and
    test_documentation_names_our_man_page checks the reference instead.
    """
    result = subprocess.run([systemd_analyze(), "verify", "--man=no", *names],
                            cwd=directory, capture_output=True, text=True,
                            timeout=scaled(VERIFY_TIMEOUT))
    complaints = (result.stdout + result.stderr).strip()
    if result.returncode != 0 and not complaints:
        complaints = f"exit status {result.returncode}"
    return complaints


def install_units(directory, edit=None):
    """Copy the units to directory, ExecStart pointed at BIN; edit(name, text) may change them."""
    directory.mkdir(exist_ok=True)
    for name in UNITS:
        text = (UNIT_DIR / name).read_text(encoding="utf-8")
        if name == "pipelinefs.service":
            assert INSTALLED_BIN in text, f"{name} no longer runs {INSTALLED_BIN}: update the test"
            text = text.replace(INSTALLED_BIN, BIN)
        if edit:
            text = edit(name, text)
        (directory / name).write_text(text, encoding="utf-8")
    return [f"./{name}" for name in UNITS]


def unit_settings(name):
    """{(section, key): [values]} of a shipped unit, comments left out."""
    settings, section = {}, None
    for line in (UNIT_DIR / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault((section, key.strip()), []).append(value.strip())
    return settings


def test_units_pass_systemd_analyze_verify_without_a_warning(tmp_path):
    names = install_units(tmp_path / "units")
    assert verify(tmp_path / "units", names) == ""


@pytest.mark.parametrize("name, broken, complaint", [
    ("pipelinefs.service", ("Restart=on-failure", "Restart=on-fail"), "on-fail"),
    ("pipelinefs.service", ("Type=forking", "Type=forking\nKillSignall=SIGTERM"), "KillSignall"),
    ("pipelinefs.service", ("/bin/mkdir", "/bin/no-such-mkdir"), "no-such-mkdir"),
    ("pipelines.mount", ("Where=/pipelines", "Where=/elsewhere"), "Where="),
    ("pipelines.automount", ("Where=/pipelines", "Where=/elsewhere"), "Where="),
])
def test_verify_reports_a_broken_unit(tmp_path, name, broken, complaint):
    """The check above can fail: each of these slips is reported, warnings included."""
    old, new = broken

    def edit(unit, text):
        if unit != name:
            return text
        assert old in text
        return text.replace(old, new)

    names = install_units(tmp_path / "units", edit)
    assert complaint in verify(tmp_path / "units", names)


def test_documentation_names_our_man_page():
    for name in UNITS:
        for value in unit_settings(name)[("Unit", "Documentation")]:
            for page, section in re.findall(r"man:([\w.-]+)\((\d)\)", value):
                assert (REPO / "man" / f"{page}.{section}").is_file(), value


def test_the_token_comes_from_a_file_never_from_a_unit():
    for name in UNITS:
        text = (UNIT_DIR / name).read_text(encoding="utf-8")
        assert "PIPELINEFS_TOKEN" not in text
        assert not any(key in ("Environment", "EnvironmentFile") for _, key in unit_settings(name))
    assert f"token_file={TOKEN_FILE}" in unit_settings("pipelinefs.service")[("Service", "ExecStart")][0]
    assert f"token_file={TOKEN_FILE}" in unit_settings("pipelines.mount")[("Mount", "Options")][0]


def test_mount_at_boot_after_the_network_restart_on_failure():
    service = unit_settings("pipelinefs.service")
    assert service[("Service", "Restart")] == ["on-failure"]
    assert "network-online.target" in service[("Unit", "Wants")][0]
    assert "network-online.target" in service[("Unit", "After")][0]
    assert service[("Install", "WantedBy")] == ["remote-fs.target"]
    # each of these gives the service its own mount namespace: nobody would see the mount
    private = {"PrivateMounts", "PrivateTmp", "PrivateDevices", "ProtectSystem", "ProtectHome",
               "ReadOnlyPaths", "InaccessiblePaths", "TemporaryFileSystem", "RootDirectory"}
    assert not private & {key for section, key in service if section == "Service"}
    mount = unit_settings("pipelines.mount")
    assert "_netdev" in mount[("Mount", "Options")][0].split(",")
    assert mount[("Mount", "Where")] == unit_settings("pipelines.automount")[("Automount", "Where")]


def localise(text, sim, tmp_path):
    """A unit's command line or option string, aimed at the simulator and tmp_path."""
    token = tmp_path / "token"
    fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(TEST_TOKEN + "\n")
    text = (text.replace(INSTALLED_BIN, BIN).replace(ENDPOINT, sim.url)
            .replace(TOKEN_FILE, str(token)).replace(PIPELINE, PIPELINE_SUCCESS)
            .replace(MOUNTPOINT, str(tmp_path / "mnt")).replace(PROM_DIR, str(tmp_path / "prom")))
    if os.geteuid() != 0:        # the service runs as root; a user needs user_allow_other
        text = text.replace(",allow_other", "")
    return text


class ServiceCommands:
    """The service's Exec lines, run the way systemd runs them."""

    def __init__(self, sim, tmp_path):
        service = unit_settings("pipelinefs.service")
        self.lines = {key: [localise(value, sim, tmp_path) for value in service[("Service", key)]]
                      for key in ("ExecStartPre", "ExecStart", "ExecStopPost")}
        self.mountpoint = tmp_path / "mnt"

    def run(self, key):
        """Run every line of key; a "-" prefix means its failure is ignored, as systemd does."""
        results = []
        for line in self.lines[key]:
            may_fail = line.startswith("-")
            result = subprocess.run(shlex.split(line.lstrip("-")), capture_output=True,
                                    text=True, timeout=scaled(20))
            assert may_fail or result.returncode == 0, f"{key}: {line}: {result.stderr}"
            results.append(result)
        return results

    def daemon_pid(self):
        """The forked daemon serving this test's mountpoint (systemd's guessed main PID)."""
        needle = f"{BIN}\0".encode()
        mountpoint = f"\0{self.mountpoint}\0".encode()
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(needle) and mountpoint in cmdline:
                return int(entry.name)
        return None

    def status(self):
        return read(self.mountpoint / PIPELINE_SUCCESS / "latest" / "status")


def gone(pid):
    """True once pid has exited (a zombie counts: nobody of ours will reap it)."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def test_service_commands_mount_stop_and_recover_from_a_crash(sim, tmp_path):
    require_fuse()
    service = ServiceCommands(sim, tmp_path)
    service.run("ExecStartPre")
    assert service.mountpoint.is_dir()
    try:
        # Type=forking: the unit is active when ExecStart returns, so the mount must be up
        service.run("ExecStart")
        assert in_mount_table(service.mountpoint)
        assert service.status() == b"completed\n"

        # a crash leaves a dead mount that a new daemon cannot mount over ...
        pid = service.daemon_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: gone(pid), message="killed daemon gone")
        with pytest.raises(OSError):
            os.listdir(service.mountpoint)
        # ... until ExecStopPost clears it; then Restart= mounts again
        service.run("ExecStopPost")
        assert not in_mount_table(service.mountpoint)
        service.run("ExecStart")
        assert service.status() == b"completed\n"

        # stop: SIGTERM unmounts; ExecStopPost then finds nothing to do, harmlessly
        pid = service.daemon_pid()
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: gone(pid) and not in_mount_table(service.mountpoint),
                   message="daemon stopped and unmounted by SIGTERM")
        service.run("ExecStopPost")
    finally:
        if in_mount_table(service.mountpoint):
            subprocess.run(["fusermount3", "-u", "-z", str(service.mountpoint)],
                           capture_output=True)


def test_mount_unit_options_mount_through_mount_fuse3(sim, tmp_path):
    require_fuse()
    helper = shutil.which("mount.fuse3") or "/sbin/mount.fuse3"
    if not os.path.exists(helper):
        pytest.skip("mount.fuse3 not installed")
    unit = unit_settings("pipelines.mount")
    what, where, options = (localise(unit[("Mount", key)][0], sim, tmp_path)
                            for key in ("What", "Where", "Options"))
    fstype = unit[("Mount", "Type")][0]
    assert fstype == "fuse.pipelinefs"
    pathlib.Path(where).mkdir()
    # mount(8) drops x-* options before running the helper; _netdev stays
    options = ",".join(option for option in options.split(",") if not option.startswith("x-"))
    env = {**os.environ, "PATH": f"{os.path.dirname(BIN)}:{os.environ['PATH']}"}
    result = subprocess.run([helper, what, where, "-t", fstype.split(".", 1)[1], "-o", options],
                            capture_output=True, text=True, env=env, timeout=scaled(20))
    try:
        assert result.returncode == 0, result.stderr
        assert [name for name in os.listdir(where) if name[0] != "."] == [PIPELINE_SUCCESS]
        assert read(pathlib.Path(where) / PIPELINE_SUCCESS / "latest" / "status") == b"completed\n"
    finally:
        subprocess.run(["fusermount3", "-u", where], capture_output=True)
    wait_until(lambda: not in_mount_table(where), message="mount unit's mount gone")


def test_metrics_copy_says_down_when_the_mount_cannot_be_read(sim, tmp_path):
    """With nothing mounted on the mountpoint, the collector gets pipelinefs_up 0, not old figures."""
    (tmp_path / "prom").mkdir()
    prom = tmp_path / "prom" / "pipelinefs.prom"
    prom.write_text("pipelinefs_up 1\n")
    (line,) = unit_settings("pipelinefs-metrics.service")[("Service", "ExecStart")]
    result = subprocess.run(shlex.split(localise(line, sim, tmp_path)), capture_output=True,
                            text=True, timeout=scaled(20))
    assert result.returncode == 0, result.stderr
    assert prom.read_text() == "pipelinefs_up 0\n"
    assert os.listdir(tmp_path / "prom") == ["pipelinefs.prom"]
