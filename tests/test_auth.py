"""Credentials through real mounts: every source (token file, PIPELINEFS_TOKEN,
the SDKs' credentials file, HUAWEICLOUD_SDK_AK/_SK, temporary keys, IAM user and
password), keys that rotate, refusals, clock skew, and no secret anywhere a user
or another process could see it.

The simulator checks AK/SK signatures with the SDKs' algorithm and logs what each
request presented ("auth", "access_key", "security_token_sent"), so a test sees
what went on the wire without reading it.

Backends: v3 only (conftest pins api=v3): credentials, signing and IAM are
the shared transport's, the same for every API's calls.
"""

import errno
import os
import pathlib
import subprocess
import time

import pytest

from conftest import (PIPELINE_ERROR, TEST_TOKEN, default_test_scenario, errno_of, health,
                      log_lines, read, wait_until)

AK = "QTWAOYTTINDUT2QVKYUC"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
AK2 = "HPUAL5NVFQMMBBVSLI2E"
SK2 = "Zc0Ifl6dLnWw8dJFqZl5pmHk1GBOKJ3oiOH7MRuB"
STS = "gQpjbi1ub3J0aC00jAH3bCaD1jy5LtF8Ao9lEtTZkRl2XQqCRD0IvV6Fs4W7nM3bPq"
IAM_DOMAIN = "acme"
IAM_USER = "builder"
IAM_PASSWORD = "Pa55-w0rd-7f3e9a1c5b2d4068"
SECRETS = (SK, SK2, STS, IAM_PASSWORD, TEST_TOKEN + "-never-logged")

BUILD = (PIPELINE_ERROR, "12", "status")
COMPLETED = b"completed\n"
ONE = {"prefetch": 0, "pipelines": PIPELINE_ERROR}


def scenario_with_auth():
    scenario = default_test_scenario()
    scenario["credentials"] = [{"ak": AK, "sk": SK},
                               {"ak": AK2, "sk": SK2, "security_token": STS}]
    scenario["iam_users"] = [{"domain": IAM_DOMAIN, "name": IAM_USER,
                              "password": IAM_PASSWORD}]
    return scenario


@pytest.fixture
def scenario():
    return scenario_with_auth()


def write_private(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.chmod(path, mode)
    return path


def ini(ak=AK, sk=SK, security_token=None):
    text = f"# written by a test\n[basic]\nak = {ak}\nsk = {sk}\nproject_id = 0123\n"
    return text + (f"security_token = {security_token}\n" if security_token else "")


def rotate(path, text):
    """Replace the file as tools do: a new file renamed over it."""
    write_private(path.with_name(path.name + ".new"), text)
    os.rename(path.with_name(path.name + ".new"), path)


@pytest.fixture
def clean_env(tmp_path):
    """An environment with no credentials of the user's: HOME is the test's own."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PIPELINEFS_TOKEN": "", "HUAWEICLOUD_SDK_AK": "",
           "HUAWEICLOUD_SDK_SK": "", "HUAWEICLOUD_SDK_SECURITY_TOKEN": "",
           "HUAWEICLOUD_SDK_CREDENTIALS_FILE": ""}
    return env


@pytest.fixture
def start(sim, mount_factory, tmp_path, clean_env):
    """start(options, env=None, **kwargs) -> Mount of sim with no token file unless given."""
    def run(options=None, env=None, **kwargs):
        kwargs.setdefault("token", None)
        return mount_factory(sim.url, tmp_path / "mnt", {**ONE, **(options or {})},
                             env={**clean_env, **(env or {})}, **kwargs)
    return run


def presented(sim):
    """What each API request presented: (auth, access_key, security_token_sent, status)."""
    return [(entry["auth"], entry["access_key"], entry["security_token_sent"], entry["status"])
            for entry in sim.requests() if entry["path"].startswith("/v3/pipelines")]


def link_or_errno(path):
    """readlink, or the errno it failed with: for wait_until while a pause ends."""
    try:
        return os.readlink(path)
    except OSError as error:
        return error.errno


def read_build(mount):
    return read(mount.mountpoint.joinpath(*BUILD))


def assert_no_secret(text, where):
    for secret in SECRETS:
        for start in range(0, len(secret) - 15):
            assert secret[start:start + 16] not in text, f"a piece of a secret in {where}"


# --------------------------------------------------------------------------
# Each source


def test_token_file(sim, start, tmp_path):
    mount = start(token=TEST_TOKEN)
    assert read_build(mount) == COMPLETED
    assert presented(sim) == [("token", None, False, 200)]
    assert log_lines(mount, "credentials: the IAM token in")


def test_pipelinefs_token(sim, start):
    mount = start(env={"PIPELINEFS_TOKEN": TEST_TOKEN})
    assert read_build(mount) == COMPLETED
    assert presented(sim) == [("token", None, False, 200)]
    assert log_lines(mount, "credentials: the IAM token in PIPELINEFS_TOKEN")


def test_credentials_file_signs_every_request(sim, start, tmp_path):
    creds = write_private(tmp_path / "credentials", ini())
    mount = start({"credentials_file": str(creds)})
    assert read_build(mount) == COMPLETED
    assert read(mount.mountpoint / PIPELINE_ERROR / "latest" / "status") == COMPLETED
    assert set(presented(sim)) == {("aksk", AK, False, 200)}
    assert log_lines(mount, "credentials: AK/SK in", str(creds))


def test_environment_keys(sim, start):
    mount = start(env={"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK})
    assert read_build(mount) == COMPLETED
    assert presented(sim) == [("aksk", AK, False, 200)]
    assert log_lines(mount, "credentials: AK/SK in HUAWEICLOUD_SDK_AK")
    # the secret key is wiped from the daemon's environment
    environ = open(f"/proc/{mount.pid}/environ", "rb").read()
    assert SK.encode() not in environ


@pytest.mark.parametrize("where", ["variable", "home"])
def test_the_sdks_default_file(sim, start, tmp_path, clean_env, where):
    if where == "home":
        path = pathlib.Path(clean_env["HOME"]) / ".huaweicloud" / "credentials"
        path.parent.mkdir()
        env = {}
    else:
        path = tmp_path / "elsewhere.ini"
        env = {"HUAWEICLOUD_SDK_CREDENTIALS_FILE": str(path)}
    write_private(path, ini())
    mount = start(env=env)
    assert read_build(mount) == COMPLETED
    assert presented(sim) == [("aksk", AK, False, 200)]


def test_temporary_keys_send_and_sign_the_security_token(sim, start, tmp_path):
    creds = write_private(tmp_path / "credentials", ini(AK2, SK2, STS))
    mount = start({"credentials_file": str(creds)})
    assert read_build(mount) == COMPLETED
    assert presented(sim) == [("aksk", AK2, True, 200)]
    assert log_lines(mount, "temporary")


def test_temporary_keys_from_the_environment(sim, start):
    mount = start(env={"HUAWEICLOUD_SDK_AK": AK2, "HUAWEICLOUD_SDK_SK": SK2,
                       "HUAWEICLOUD_SDK_SECURITY_TOKEN": STS})
    assert read_build(mount) == COMPLETED
    assert presented(sim) == [("aksk", AK2, True, 200)]


def test_a_token_file_wins_over_keys(sim, start, tmp_path):
    creds = write_private(tmp_path / "credentials", ini())
    mount = start({"credentials_file": str(creds)}, token=TEST_TOKEN)
    assert read_build(mount) == COMPLETED
    assert presented(sim) == [("token", None, False, 200)]


def iam_calls(sim):
    return [entry["status"] for entry in sim.requests() if entry["path"] == "/v3/auth/tokens"]


@pytest.fixture
def start_iam(sim, start, tmp_path):
    """start_iam(password=IAM_PASSWORD, mode=0o600, **options) -> Mount asking the sim's IAM."""
    def run(password=IAM_PASSWORD, mode=0o600, wait=True, **options):
        path = write_private(tmp_path / "password", password + "\n", mode)
        return start({"iam_user": IAM_USER, "iam_domain": IAM_DOMAIN,
                      "iam_password_file": str(path), "iam_endpoint": sim.url, **options},
                     wait=wait)
    return run


def test_iam_user_and_password(sim, start_iam):
    mount = start_iam()
    assert read_build(mount) == COMPLETED
    assert iam_calls(sim) == [201]
    assert presented(sim) == [("iam-token", None, False, 200)]
    assert log_lines(mount, "credentials: IAM tokens for user builder of account acme")
    assert_no_secret(mount.log(), "the log")


def test_iam_token_is_renewed_before_it_expires(sim, start_iam):
    sim.auth(iam_token_seconds=4)
    mount = start_iam(ttl=1)
    latest = mount.mountpoint / PIPELINE_ERROR / "latest" / "status"
    assert read(latest) == COMPLETED
    # renewed at half its life at the latest: a second token long before the first ends
    wait_until(lambda: len(iam_calls(sim)) >= 2, timeout=3, message="the token renewed")
    wait_until(lambda: len(iam_calls(sim)) >= 3, timeout=3, message="renewed again")
    assert read(latest) == COMPLETED
    assert {status for (_, _, _, status) in presented(sim)} == {200}


def test_iam_token_is_renewed_once_after_a_401(sim, start_iam):
    mount = start_iam()
    assert read_build(mount) == COMPLETED
    sim.auth(revoke_iam_tokens=True)
    latest = mount.mountpoint / PIPELINE_ERROR / "latest"
    assert errno_of(os.readlink, latest) == errno.EACCES
    # a new token ends the 401 pause
    wait_until(lambda: link_or_errno(latest) == "12", timeout=3, message="the new token used")
    assert iam_calls(sim) == [201, 201]
    assert presented(sim)[-1] == ("iam-token", None, False, 200)


def test_iam_refusing_the_password_is_eacces(sim, start_iam):
    mount = start_iam(password="not-the-password-1234567890")
    assert errno_of(read, mount.mountpoint.joinpath(*BUILD)) == errno.EACCES
    assert log_lines(mount, "IAM refused user builder of account acme")
    assert presented(sim) == []                         # nothing sent without a token
    assert_no_secret(mount.log(), "the log")


def test_iam_needs_its_host(sim, start, tmp_path):
    path = write_private(tmp_path / "password", IAM_PASSWORD + "\n")
    mount = start({"iam_user": IAM_USER, "iam_domain": IAM_DOMAIN,
                   "iam_password_file": str(path)}, wait=False)
    assert mount.wait_exit() != 0
    assert "iam_endpoint" in mount.log()


def test_a_loose_password_file_is_warned_about(sim, start_iam):
    mount = start_iam(mode=0o644)
    assert read_build(mount) == COMPLETED
    assert log_lines(mount, "password file", "readable by group or others")


# --------------------------------------------------------------------------
# Keys that change, keys that are wrong


def test_rotated_credentials_file_is_used_at_once(sim, start, tmp_path):
    creds = write_private(tmp_path / "credentials", ini())
    mount = start({"credentials_file": str(creds), "ttl": 1})
    assert read_build(mount) == COMPLETED
    sim.auth(credentials=[{"ak": AK2, "sk": SK2}])       # the old pair is revoked
    latest = mount.mountpoint / PIPELINE_ERROR / "latest"
    assert errno_of(os.readlink, latest) == errno.EACCES
    rotate(creds, ini(AK2, SK2))
    # the new keys end the 401 pause: no remount, no long wait
    wait_until(lambda: link_or_errno(latest) == "12", timeout=3, message="the new keys used")
    assert presented(sim)[-1] == ("aksk", AK2, False, 200)
    assert log_lines(mount, "changed: using the new keys")


def test_wrong_keys_are_eacces_unauthorized_and_paused(sim, start, tmp_path):
    creds = write_private(tmp_path / "credentials", ini(AK, SK2))
    mount = start({"credentials_file": str(creds)})
    mnt = mount.mountpoint
    assert errno_of(read, mnt.joinpath(*BUILD)) == errno.EACCES
    state = health(mnt)
    assert state["state"] == "unauthorized", state
    assert "APIG.0301" in state["last_error"]
    assert [entry["auth_error"] for entry in sim.requests()] == \
        ["Incorrect IAM authentication information: verify aksk signature fail"]
    # readers keep asking; the mount does not, while the keys stay the same
    # (five bad signatures would lock the key for five minutes)
    until = time.monotonic() + 3
    while time.monotonic() < until:
        assert errno_of(read, mnt / PIPELINE_ERROR / "latest" / "status") == errno.EACCES
        time.sleep(0.1)             # pacing a reader over a 3 s window, not synchronisation
    assert len(sim.requests()) == 1
    assert_no_secret(mount.log(), "the log")


def test_clock_skew_is_logged_once(sim, start, tmp_path):
    sim.auth(clock_offset=1200)                         # the service's clock is 20 min ahead
    creds = write_private(tmp_path / "credentials", ini())
    mount = start({"credentials_file": str(creds)})
    assert errno_of(read, mount.mountpoint.joinpath(*BUILD)) == errno.EACCES
    assert "the request time is out of range" in sim.requests()[0]["auth_error"]
    wait_until(lambda: log_lines(mount, "clock skew:"), timeout=3, message="clock skew logged")
    assert len(log_lines(mount, "clock skew:")) == 1


# --------------------------------------------------------------------------
# Secrets stay secret


def test_no_secret_in_argv_the_log_or_debug_output(sim, start, tmp_path):
    creds = write_private(tmp_path / "credentials", ini(AK2, SK2, STS))
    mount = start({"credentials_file": str(creds)}, extra_args=["-d"])
    assert read_build(mount) == COMPLETED
    cmdline = open(f"/proc/{mount.pid}/cmdline", "rb").read().decode("utf-8", "replace")
    ps = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(mount.pid)],
                        capture_output=True, text=True).stdout
    for text, where in ((cmdline, "argv"), (ps, "ps"), (mount.log(), "the -d log")):
        assert_no_secret(text, where)


@pytest.mark.parametrize("option", ["sk=" + SK, "password=x", "iam_password=x", "ak=" + AK])
def test_keys_and_passwords_as_options_are_refused(sim, start, option):
    name, value = option.split("=", 1)
    mount = start({name: value}, wait=False)
    assert mount.wait_exit() != 0
    assert "refused" in mount.log()
    assert_no_secret(mount.log(), "the error")


@pytest.mark.parametrize("mode, warned", [(0o600, False), (0o640, True), (0o604, True)],
                         ids=["0600", "group", "others"])
def test_a_loose_credentials_file_is_warned_about(sim, start, tmp_path, mode, warned):
    creds = write_private(tmp_path / "credentials", ini(), mode)
    mount = start({"credentials_file": str(creds)})
    assert read_build(mount) == COMPLETED
    assert bool(log_lines(mount, "readable by group or others")) == warned


@pytest.mark.parametrize("text, words", [
    ("[basic]\nak = " + AK + "\n", "has no sk"),
    ("[other]\nak = x\nsk = y\n", "has no [basic] section"),
    ("sk: " + SK + "\n", "is not an INI file"),
])
def test_an_unusable_credentials_file_is_a_one_line_error(sim, start, tmp_path, text, words):
    creds = write_private(tmp_path / "credentials", text)
    mount = start({"credentials_file": str(creds)}, wait=False)
    assert mount.wait_exit() != 0
    assert words in mount.log()
    assert_no_secret(mount.log(), "the error")
    assert sim.requests() == []


def test_no_credentials_at_all_is_a_one_line_error(sim, start):
    mount = start(wait=False)
    assert mount.wait_exit() != 0
    assert "no token or keys" in mount.log()
