"""Shared pytest fixtures: the API simulator and pipelinefs mounts.

Modelled on libfuse's and sshfs's test/util.py: a mount is only "up" once the
kernel shows it, a daemon that dies during start-up fails the test with its
log, and unmounting must end in a clean exit 0, because users see a non-zero
exit (or a daemon that lingers) as a crash.

Environment:
  PIPELINEFS_SIM               simulator script (default: contrib/pipelinefs-sim)
  PIPELINEFS_BIN               daemon binary    (default: build/src/pipelinefs)
  PIPELINEFS_TEST_TIME_FACTOR  multiplies every upper time bound (default 1), for
                               slow or busy machines and valgrind runs
  PIPELINEFS_WRAPPER           command prefix put before the daemon, split like a
                               shell would, e.g. "valgrind --error-exitcode=1"

Backends (issue 9): a mount reads builds with the v3 API (`-o api=v3`) or
the v5 API (`-o api=v5,project_id=P`); the `backend` fixture says which
("v3" unless parametrised).  A module whose tests exercise what the API
serves opts in to both with `pytestmark = BOTH_BACKENDS`: each test that
mounts runs as test_x[v3] and test_x[v5], and one that only v3 can run is
marked `@v3_only("why")`.  Request counts name calls through call_name().

Time bounds: a test states its upper bounds in nominal seconds and passes
them through scaled().  The timeouts of the helpers here (wait_until,
wait_for_mount, wait_exit, ...) are nominal too and scaled inside, so callers
pass plain numbers to them.  Lower bounds ("asked again no sooner than 2 s")
are never scaled: a slow machine only makes things later.
"""

import datetime
import hashlib
import itertools
import json
import os
import pathlib
import re
import select
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
SIM = os.environ.get("PIPELINEFS_SIM", str(REPO / "contrib" / "pipelinefs-sim"))
BIN = os.environ.get("PIPELINEFS_BIN", str(REPO / "build" / "src" / "pipelinefs"))

TIME_FACTOR = float(os.environ.get("PIPELINEFS_TEST_TIME_FACTOR", "1"))
WRAPPER = shlex.split(os.environ.get("PIPELINEFS_WRAPPER", ""))


def scaled(seconds):
    """An upper time bound in nominal seconds, stretched by PIPELINEFS_TEST_TIME_FACTOR."""
    return seconds * TIME_FACTOR


TEST_TOKEN = "test-token"
STARTUP_TIMEOUT = 10.0          # nominal, like every bound below: see scaled()
EXIT_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0              # simulator: SIGTERM, then SIGKILL after this
CONTROL_TIMEOUT = 10.0          # one /_sim/ control call
UNMOUNT_PATIENCE = 2.0          # fusermount3 -u retried while busy
THREAD_JOIN_TIMEOUT = 30.0      # run_in_threads: each worker
POLL_INTERVAL = 0.05
LISTENING_LINE = re.compile(r"pipelinefs-sim: listening on (https?://127\.0\.0\.1:(\d+))")

# Sentinel for "do not filter on this" (None is a meaningful build_id filter).
ANY = object()

# Every process and file a test creates gets its own number, so several
# simulators and mounts can share one tmp_path.
_serial = itertools.count(1)


# What the daemon adds to the API's tree (issue 7): directories list them,
# so tests about the API's entries compare without them.
MADE_NAMES = frozenset({"events", "summary", "failed", "by-name", "projects"})


def entries(path):
    """os.listdir(path) as ls shows it, without the files pipelinefs makes:
    no dot-names (.pipelinefs), no events, summary, failed, by-name or
    projects."""
    return [name for name in os.listdir(path)
            if not name.startswith(".") and name not in MADE_NAMES]


def wait_until(predicate, timeout=10.0, interval=POLL_INTERVAL, message="condition"):
    """Poll predicate until it returns something truthy; fail after scaled(timeout).

    Tests of caches and `watch`-like behaviour must wait for change rather than
    sleep a fixed time, or they are slow when they pass and flaky when loaded.
    timeout is nominal: it is scaled here, so do not pass scaled() values.
    """
    limit = scaled(timeout)
    deadline = time.monotonic() + limit
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {limit:g} s waiting for {message}")
        time.sleep(interval)


def wait_past(moment, seconds, message="time to pass"):
    """Wait until time.time() is `seconds` past `moment` (e.g. a request log "time").

    For ttl and backoff expiry: `seconds` is a lower bound and is not scaled;
    the wait fails only if the clock is stuck.
    """
    wait_until(lambda: time.time() > moment + seconds, timeout=seconds + 5, message=message)


# --------------------------------------------------------------------------
# The default test scenario

PIPELINE_SUCCESS = "5d0c1f2e3a4b4c6d8e9f0a1b2c3d4e5f"
PIPELINE_ERROR = "9f8e7d6c5b4a49382716a5b4c3d2e1f0"
PIPELINE_RUNNING = "3c5e7a9b1d2f44608a2c4e6f8b0d1e3a"
PIPELINE_NULLS = "00a1b2c3d4e5f60718293a4b5c6d7e8f"
TEST_PIPELINES = (PIPELINE_SUCCESS, PIPELINE_ERROR, PIPELINE_RUNNING, PIPELINE_NULLS)

FAILED_TASK_ERROR_CODE = "DEVPIPE.00011500"
FAILED_TASK_ERROR_MSG = "npm test exited with code 1: 3 failing"


def _node(kind, node_id, name, start=None, end=None, elapsed="0", status="completed",
          outcome="success", error_code=None, error_msg=None, children=()):
    """A stage or task with every field the API documents."""
    return {"id": node_id, "name": name, "type": kind, "start_time": start, "end_time": end,
            "elapsed_time": elapsed, "status": status, "outcome": outcome,
            "error_code": error_code, "error_msg": error_msg, "children": list(children),
            "detail_url": f"https://example.com/{node_id}"}


def _run(pipeline_id, name, build_id, states, status="completed", outcome="success",
         start="2026-11-28 09:00:00", end="2026-11-28 09:05:00", elapsed="300000",
         executor="zhangsan", parameters=()):
    """A whole status response object."""
    return {"pipeline_id": pipeline_id, "pipeline_name": name, "executor": executor,
            "build_id": build_id, "start_time": start, "end_time": end,
            "elapsed_time": elapsed, "status": status, "outcome": outcome,
            "detail_url": f"https://example.com/{pipeline_id}/{build_id}",
            "parameters": list(parameters), "states": list(states)}


def _success_pipeline():
    """Two completed, successful builds (6 and 7, latest 7) with parameters."""
    def build(build_id, start, end):
        states = [
            _node("stage", "state_1", "构建", start, end, "120000", children=[
                _node("task", "Task_1", "编译", start, end, "80000"),
                _node("task", "Task_2", "打包镜像", start, end, "40000")]),
            _node("stage", "state_2", "部署", start, end, "60000", children=[
                _node("task", "Task_3", "部署到测试环境", start, end, "60000")]),
        ]
        return {"body": _run(PIPELINE_SUCCESS, "后端服务-backend", build_id, states,
                             start=start, end=end, parameters=[
                                 {"name": "codeBranch", "value": "master"},
                                 {"name": "发布版本", "value": "1.4.2"}])}
    return {"latest": "7", "builds": {
        "6": build("6", "2026-11-27 17:00:00", "2026-11-27 17:03:00"),
        "7": build("7", "2026-11-28 09:00:00", "2026-11-28 09:03:00")}}


def _error_pipeline():
    """One completed build (12) whose unit-tests task failed."""
    start, end = "2026-11-28 09:12:03", "2026-11-28 09:17:15"
    states = [
        _node("stage", "state_1", "构建", start, end, "190000", children=[
            _node("task", "Task_1", "npm ci", start, end, "190000")]),
        _node("stage", "state_2", "测试", start, end, "122000", outcome="error",
              error_code=FAILED_TASK_ERROR_CODE, error_msg="任务 unit-tests 执行失败",
              children=[
                  _node("task", "Task_2", "lint", start, end, "21000"),
                  _node("task", "Task_3", "unit-tests", start, end, "101000", outcome="error",
                        error_code=FAILED_TASK_ERROR_CODE, error_msg=FAILED_TASK_ERROR_MSG)]),
    ]
    return {"builds": {"12": {"body": _run(PIPELINE_ERROR, "frontend-ci", "12", states,
                                           outcome="error", start=start, end=end,
                                           elapsed="312000", executor="lisi")}}}


def _running_pipeline():
    """Build 3: running at t=0, awaiting review (verifying) at 30 s, success at 60 s."""
    start = "2026-11-28 10:00:00"
    states = [
        _node("stage", "state_1", "构建", start, None, "0", "running", None, children=[
            _node("task", "Task_1", "编译", start, None, "0", "running", None)]),
        _node("stage", "state_2", "人工审核", None, None, "0", "waiting", None, children=[
            _node("task", "Task_2", "人工审核", None, None, "0", "waiting", None)]),
    ]
    body = _run(PIPELINE_RUNNING, "集成流水线", "3", states, status="running", outcome=None,
                start=start, end=None, elapsed="0")
    timeline = [
        {"at": 30, "set": {
            "states.0.status": "completed", "states.0.outcome": "success",
            "states.0.end_time": "2026-11-28 10:00:30",
            "states.0.children.0.status": "completed", "states.0.children.0.outcome": "success",
            "states.1.status": "verifying", "states.1.children.0.status": "verifying"}},
        {"at": 60, "set": {
            "states.1.status": "completed", "states.1.outcome": "success",
            "states.1.children.0.status": "completed", "states.1.children.0.outcome": "success",
            "status": "completed", "outcome": "success",
            "end_time": "2026-11-28 10:01:00", "elapsed_time": "60000"}},
    ]
    return {"builds": {"3": {"body": body, "timeline": timeline}}}


def _nulls_pipeline():
    """Build 1: nulls almost everywhere, like the API document's own example."""
    task = {"id": "Task_1", "name": None, "type": "task", "status": None, "outcome": None,
            "start_time": None, 'end_time"': None, "elapsed_time": None, "error_code": None,
            "error_msg": None, "children": None, "detail_url": None}
    stage = {"id": "state_1", "name": "构建", "type": "stage", "status": None, "outcome": None,
             "children": [task], "start_time": None, "end_time": None, "elapsed_time": None}
    body = {"executor": None, "status": None, "outcome": None, "pipeline_id": PIPELINE_NULLS,
            "pipeline_name": "空值流水线", "build_id": None, "start_time": None,
            "end_time": None, "elapsed_time": None, "detail_url": None, "parameters": None,
            "states": [stage], "unexpected_extra_field": {"nested": [1, 2, 3]}}
    return {"builds": {"1": {"body": body}}}


def default_test_scenario():
    """A fresh copy of the small, rich scenario most tests run against.

    PIPELINE_SUCCESS  后端服务-backend: builds 6 and 7 (latest), completed/success,
                      parameters codeBranch=master and 发布版本=1.4.2.
    PIPELINE_ERROR    frontend-ci: build 12 completed/error; stage 测试, task
                      unit-tests with FAILED_TASK_ERROR_CODE / FAILED_TASK_ERROR_MSG.
    PIPELINE_RUNNING  集成流水线: build 3 running; at 30 s stage 人工审核 verifying;
                      at 60 s completed/success (use sim.advance()).
    PIPELINE_NULLS    空值流水线: build 1 with nulls, a "end_time\"" key, a null
                      task name and children, and an unknown extra field.
    """
    return {"token": TEST_TOKEN, "pipelines": {
        PIPELINE_SUCCESS: _success_pipeline(),
        PIPELINE_ERROR: _error_pipeline(),
        PIPELINE_RUNNING: _running_pipeline(),
        PIPELINE_NULLS: _nulls_pipeline(),
    }}


# --------------------------------------------------------------------------
# Issue 8: scenarios of whole accounts (the list call, run history)

# The simulator's project for pipelines whose scenario names none
# (contrib/pipelinefs_sim/catalog.py); it is listed as "project-0d1e2f".
DEFAULT_PROJECT_ID = "0d1e2f3a4b5c46d7e8f9a0b1c2d3e4f5"


def numbered_id(kind, number):
    """A stable, valid 32-hex id: the n-th pipeline or project of a builder."""
    return hashlib.md5(f"{kind}-{number}".encode("utf-8")).hexdigest()


def _one_stage_run(pipeline_id, name, build_id, start, end, outcome="success"):
    """A small completed build: one stage, one task."""
    states = [_node("stage", "state_1", "构建", start, end, "300000", outcome=outcome, children=[
        _node("task", "Task_1", "编译", start, end, "300000", outcome=outcome)])]
    return _run(pipeline_id, name, build_id, states, outcome=outcome, start=start, end=end,
                elapsed="300000")


def _named(names, number, default):
    if names is None:
        return default
    return names(number) if callable(names) else names[number]


def many_pipelines_scenario(count, projects=None, names=None, token=TEST_TOKEN):
    """A scenario of `count` pipelines, each with one completed build "1".

    Pipeline n (from 0) has id numbered_id("pipeline", n) and name names[n]
    (names: a list, a function of n, or None for "pipeline-0000", ...): any
    string, hostile or duplicate ones included.  projects: None (all in
    DEFAULT_PROJECT_ID), a list of project ids, or {project_id: name} (names
    served by the list call; ids not in it are called "project-<6 hex>");
    pipelines are dealt to the projects in turn.  The list call answers
    newest first, which is scenario order: pipeline 0 comes first.
    """
    project_ids = list(projects) if projects else [DEFAULT_PROJECT_ID]
    scenario = {"token": token, "pipelines": {}}
    if isinstance(projects, dict):
        scenario["projects"] = dict(projects)
    for number in range(count):
        pipeline_id = numbered_id("pipeline", number)
        name = _named(names, number, f"pipeline-{number:04d}")
        body = _one_stage_run(pipeline_id, name, "1", "2026-11-28 09:00:00",
                              "2026-11-28 09:05:00")
        scenario["pipelines"][pipeline_id] = {
            "name": name, "project_id": project_ids[number % len(project_ids)],
            "builds": {"1": {"body": body}}}
    return scenario


def history_scenario(days_ago=(0, 1, 2, 3, 4, 5, 6), pipelines=1, project_id=DEFAULT_PROJECT_ID,
                     names=None, now=None, token=TEST_TOKEN):
    """Pipelines with one completed build on each day of days_ago, counted back from
    today in the service's zone (+08:00) at the real time now (or `now`, Unix seconds).

    Pipeline n has id numbered_id("history", n) and name names[n] (or
    "history-0", ...), all in project_id.  Builds are numbered by age, the
    oldest "1", the newest the latest; a build of d days ago starts at 12:00
    local plus n minutes (today: at least 10 minutes before now, not before
    00:00:01, later for a later n) and lasts 5 minutes.  Days far apart (e.g. (0, 3, 40)) make
    a history longer than one build-result window.  Build start times:
    history_starts(scenario).
    """
    now = time.time() if now is None else now
    today = datetime.datetime.fromtimestamp(now, datetime.timezone(
        datetime.timedelta(seconds=SERVICE_ZONE))).date()
    midnight = api_epoch(today.strftime("%Y-%m-%d") + " 00:00:00")
    scenario = {"token": token, "pipelines": {}}
    for number in range(pipelines):
        pipeline_id = numbered_id("history", number)
        name = _named(names, number, f"history-{number}")
        builds = {}
        for build_number, days in enumerate(sorted(set(days_ago), reverse=True), 1):
            start = midnight - days * 86400 + 12 * 3600 + number * 60
            if days == 0:
                start = max(midnight + 1 + number, min(start, now - 600 - (pipelines - number) * 60))
            build_id = str(build_number)
            builds[build_id] = {"body": _one_stage_run(pipeline_id, name, build_id,
                                                       api_time(start), api_time(start + 300))}
        scenario["pipelines"][pipeline_id] = {"name": name, "project_id": project_id,
                                              "builds": builds}
    return scenario


def history_starts(scenario):
    """{(pipeline_id, build_id): start_time text} of a scenario's builds with a body."""
    return {(pipeline_id, build_id): build["body"]["start_time"]
            for pipeline_id, pipeline in scenario["pipelines"].items()
            for build_id, build in pipeline["builds"].items() if "body" in build}


# --------------------------------------------------------------------------
# Simulator


class Simulator:
    """A running contrib/pipelinefs-sim and a client for its /_sim control API.

    The client remembers what a restart() must carry over: the scenario
    (including set_scenario), set_token, latencies, auth() settings, the
    scenario clock and the request log.
    """

    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.serial = next(_serial)
        self.proc = None
        self.url = None
        self.port = None
        self.log_path = self.workdir / f"sim-{self.serial}.log"
        self._command = None
        self._advanced = 0.0           # seconds added with advance()
        self._carried = {}             # key -> (method, path, payload) to repeat on restart
        self._earlier_requests = []    # request log of earlier runs (restart())
        self._ssl_context = None       # for control() when serving TLS
        self.scenario = None           # as served (a dict), for scenario_projects()

    def start(self, scenario, token=TEST_TOKEN, token_file=None, latency=None, tls=None):
        """Launch on a free port and wait for its "listening" line.

        scenario is a dict (written to a file first) or a path.  A token_file
        takes precedence over token, because the simulator prefers --token.
        tls=(cert, key) serves HTTPS (url is then https://...); control calls
        do not check that certificate (the tests of TLS are the daemon's).
        """
        self.scenario = _scenario_dict(scenario)
        command = [sys.executable, SIM, "--quiet", "--manual-clock",
                   "--scenario", str(self._scenario_path(scenario))]
        if token_file is not None:
            command += ["--token-file", str(token_file)]
        elif token is not None:
            command += ["--token", token]
        if latency is not None:
            command += ["--latency", str(latency)]
        if tls is not None:
            command += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
            self._ssl_context = ssl._create_unverified_context()
        self._command = command
        self._launch(0)
        return self

    def _launch(self, port):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([*self._command, "--port", str(port)],
                                         stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=log, bufsize=0)
        self.url, self.port = self._await_listening_line()
        _simulators[self.url] = self

    def restart(self):
        """Stop (if running) and start again on the same port, as the same service.

        Carried over: the scenario (as last set), the token, latencies, the
        auth() settings (not its key locks nor the IAM tokens issued), the
        scenario clock (manual in tests: what advance() added) and the request log (requests() returns the earlier
        runs' entries first; "connection" numbers start again at 1 in each
        run).  Not carried over: faults, and requests in flight, which see
        their connection closed.  For dead-server cases: stop(), read, then
        restart().
        """
        self.stop()
        self._launch(self.port)
        clock = self._advanced
        self.control("POST", "/_sim/advance", {"seconds": clock})
        for method, path, payload in self._carried.values():
            self.control(method, path, payload)
        return self

    def _scenario_path(self, scenario):
        if isinstance(scenario, dict):
            path = self.workdir / f"scenario-{self.serial}.json"
            path.write_text(json.dumps(scenario, ensure_ascii=False, indent=2), encoding="utf-8")
            return path
        return pathlib.Path(scenario)

    def _await_listening_line(self):
        """Read stdout until the first full line; fail with the log if it never comes."""
        deadline = time.monotonic() + scaled(STARTUP_TIMEOUT)
        output = b""
        while b"\n" not in output:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail_start("no listening line within %g s" % scaled(STARTUP_TIMEOUT))
            readable, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if readable:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    self._fail_start("exited with status %s" % self.proc.wait())
                output += chunk
        line = output.split(b"\n", 1)[0].decode("utf-8", "replace")
        match = LISTENING_LINE.fullmatch(line)
        if not match:
            self._fail_start(f"unexpected first line {line!r}")
        return match.group(1), int(match.group(2))

    def _fail_start(self, reason):
        self.stop()
        pytest.fail(f"pipelinefs-sim did not start: {reason}\n--- log ---\n{self.log()}")

    def log(self):
        """The simulator's stderr so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; returns the exit status.

        The request log so far is kept for requests() (see restart()).
        """
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._keep_request_log()
            self.proc.terminate()
            try:
                self.proc.wait(scaled(STOP_TIMEOUT))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode

    def _keep_request_log(self):
        """Save the running simulator's log before it goes; best effort."""
        try:
            self._earlier_requests += self._current_requests()
        except (OSError, AssertionError, ValueError):
            pass

    # Control API -----------------------------------------------------------

    def control(self, method, path, payload=None):
        """Call /_sim/...; any non-2xx answer fails the test with the simulator's reason."""
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=scaled(CONTROL_TIMEOUT),
                                        context=self._ssl_context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path} -> {error.code}: "
                                 f"{error.read().decode('utf-8', 'replace')}") from None

    def health(self):
        return self.control("GET", "/_sim/health")

    def requests(self):
        """API requests seen, oldest first, over every run (see the simulator's
        docstring, "Request log", for an entry's fields)."""
        return self._earlier_requests + self._current_requests()

    def _current_requests(self):
        return self.control("GET", "/_sim/requests")

    def clear_requests(self):
        self._earlier_requests = []
        self.control("DELETE", "/_sim/requests")

    def api_requests(self, pipeline_id=None, build_id=ANY, call=ANY):
        """requests() filtered: pipeline_id None = any; build_id None = only calls without
        one; call: the log's name of the call (see call_name())."""
        return select_requests(self.requests(), pipeline_id, build_id, call)

    @staticmethod
    def mark():
        """A point in time for requests_since(): requests arriving after it count."""
        return time.time()

    def requests_since(self, mark, pipeline_id=None, build_id=ANY, call=ANY):
        """api_requests() that arrived at or after mark (from mark())."""
        return select_requests([entry for entry in self.requests() if entry["time"] >= mark],
                               pipeline_id, build_id, call)

    def fault(self, **spec):
        """Inject a fault (kind=..., pipeline_id=, build_id=, count=, status=, body=, headers=)."""
        return self.control("POST", "/_sim/faults", spec)["id"]

    def clear_faults(self):
        """Remove all faults; requests held by a "hang" fault are then closed."""
        self.control("DELETE", "/_sim/faults")

    def latency(self, pipeline_id, seconds):
        self._carry("POST", f"latency {pipeline_id}", "/_sim/latency",
                    {"pipeline_id": pipeline_id, "seconds": seconds})

    def advance(self, seconds):
        """Move the scenario clock forward; returns the new time."""
        now = self.control("POST", "/_sim/advance", {"seconds": seconds})["now"]
        self._advanced += seconds
        return now

    def set_token(self, token):
        self._carry("PUT", "token", "/_sim/token", {"token": token})

    def set_scenario(self, scenario):
        self.scenario = _scenario_dict(scenario)
        self._carry("POST", "scenario", "/_sim/scenario", scenario)

    def auth(self, **settings):
        """POST /_sim/auth: credentials=[{"ak", "sk", "security_token"?}],
        iam_users=[{"domain", "name", "password"}], lock_seconds, iam_token_seconds,
        clock_offset, max_skew (seconds), reset_locks=True, revoke_iam_tokens=True.
        Settings add up over calls and restart() repeats them (not the two
        one-off actions; a restart forgets locks and tokens anyway).  Returns GET /_sim/auth:
        the settings, "locked" (AKs), "failures" {AK: count}, "iam_tokens_valid"."""
        result = self.control("POST", "/_sim/auth", settings)
        earlier = self._carried.pop("auth", (None, None, {}))[2]
        kept = {key: value for key, value in settings.items()
                if key not in ("reset_locks", "revoke_iam_tokens")}
        self._carried["auth"] = ("POST", "/_sim/auth", {**earlier, **kept})
        return result

    def auth_state(self):
        """GET /_sim/auth (see auth())."""
        return self.control("GET", "/_sim/auth")

    def _carry(self, method, key, path, payload):
        """A control call whose effect restart() must repeat (the last one per key wins)."""
        self.control(method, path, payload)
        self._carried.pop(key, None)
        self._carried[key] = (method, path, payload)


def select_requests(entries, pipeline_id=None, build_id=ANY, call=ANY):
    """Request log entries: pipeline_id None = any; build_id None = only calls without one;
    call ANY = any, else the log's "call" name (a name, or a tuple of names)."""
    calls = (call,) if isinstance(call, str) else call
    return [entry for entry in entries
            if (pipeline_id is None or entry["pipeline_id"] == pipeline_id)
            and (build_id is ANY or entry["build_id"] == build_id)
            and (call is ANY or entry["call"] in calls)]


def _scenario_dict(scenario):
    """A scenario as a dict: itself, or the JSON file it names (None if unreadable)."""
    if isinstance(scenario, dict):
        return scenario
    try:
        return json.loads(pathlib.Path(scenario).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# Simulators by URL: a mount of one learns its scenario's projects (api=v5).
_simulators = {}


@pytest.fixture
def sim_factory(tmp_path):
    """sim_factory(scenario=None, token=..., token_file=None, latency=None) -> started Simulator.

    scenario None means default_test_scenario().  All are stopped at teardown.
    """
    simulators = []

    def start(scenario=None, **kwargs):
        simulator = Simulator(tmp_path)
        simulators.append(simulator)
        return simulator.start(default_test_scenario() if scenario is None else scenario,
                               **kwargs)

    yield start
    for simulator in simulators:
        simulator.stop()


@pytest.fixture
def scenario():
    """The scenario `sim` serves; override this fixture in a test module to change it."""
    return default_test_scenario()


@pytest.fixture
def sim(sim_factory, scenario):
    """A Simulator serving `scenario`, accepting TEST_TOKEN."""
    return sim_factory(scenario)


# --------------------------------------------------------------------------
# Backends (issue 9): the API a mount reads builds with

BACKENDS = ("v3", "v5")

# The simulator's name of each kind of call in each API: its request log's
# "call" and a fault's "call".  None: that API has no such call (v5 has no
# batch call: a pipeline's latest build is one detail call each; v3 has no
# step logs).
CALL_NAMES = {
    "build": {"v3": "status", "v5": "v5_detail"},       # a build by id, or the latest
    "batch": {"v3": "batch", "v5": None},               # the latest of several pipelines
    "list": {"v3": "list", "v5": "v5_pipelines"},       # the account's pipelines
    "history": {"v3": "history", "v5": "v5_runs"},      # builds of the last days
    "log": {"v3": None, "v5": "v5_log"},                # a page of a step's log
}


def call_name(backend, call):
    """The simulator's name of a generic call ("build", "batch", "list", "history",
    "log") in backend's API; fails the test if that API has no such call."""
    name = CALL_NAMES[call][backend]
    if name is None:
        pytest.fail(f"the {backend} API has no {call} call")
    return name


# A module whose tests exercise what the API serves runs them on both:
#   pytestmark = BOTH_BACKENDS
# and a test there that only v3 can run says why:
#   @v3_only("the batch call is v3's")
BOTH_BACKENDS = pytest.mark.backends(*BACKENDS)


def v3_only(reason):
    """Mark a test of a BOTH_BACKENDS module as run on v3 alone, for reason."""
    assert reason, "say why the test is v3 only"
    return pytest.mark.only_backend("v3", reason=reason)


def pytest_configure(config):
    config.addinivalue_line("markers", "backends(*names): run each test mounting pipelinefs "
                            "once per backend (the `backend` fixture)")
    config.addinivalue_line("markers", "only_backend(name, reason): run on that backend only")


def pytest_generate_tests(metafunc):
    """Parametrise `backend` (ids [v3], [v5]) in modules marked backends(...)."""
    if "backend" not in metafunc.fixturenames:
        return
    wanted = metafunc.definition.get_closest_marker("backends")
    only = metafunc.definition.get_closest_marker("only_backend")
    if only is not None:
        names = only.args
    elif wanted is not None:
        names = wanted.args
    else:
        return
    metafunc.parametrize("backend", names, ids=names)


@pytest.fixture
def backend():
    """The API mounts read builds with: "v3", or "v5" where parametrised (BOTH_BACKENDS)."""
    return "v3"


def scenario_projects(scenario):
    """The CodeArts projects of a scenario's pipelines, in scenario order (the
    simulator's default project for those naming none)."""
    pipelines = (scenario or {}).get("pipelines") or {}
    projects = [pipeline.get("project_id") or DEFAULT_PROJECT_ID
                for pipeline in pipelines.values() if isinstance(pipeline, dict)]
    return list(dict.fromkeys(projects)) or [DEFAULT_PROJECT_ID]


def _names_option(options, *names):
    if isinstance(options, dict):
        return any(name in options for name in names)
    return any(str(option).split("=", 1)[0] in names for option in options or [])


def backend_options(backend, sim_url, options):
    """The mount options that choose backend, unless options choose an API already:
    api=v3; or api=v5 with the project of the scenario's pipelines (project_id=)
    or, when they are in several, projects=ID:ID (not when options name either)."""
    if _names_option(options, "api"):
        return {}
    if backend == "v3":
        return {"api": "v3"}
    if _names_option(options, "project_id", "projects"):
        return {"api": backend}
    simulator = _simulators.get(sim_url)
    projects = scenario_projects(simulator.scenario if simulator is not None else None)
    if len(projects) == 1:
        return {"api": backend, "project_id": projects[0]}
    return {"api": backend, "projects": ":".join(projects)}


def with_backend(backend, sim_url, options):
    """options (a dict, a list or None) plus backend_options(); options win."""
    extra = backend_options(backend, sim_url, options)
    if isinstance(options, dict) or options is None:
        return {**extra, **(options or {})}
    return [f"{name}={value}" for name, value in extra.items()] + list(options)


def v5_path(project_id, pipeline_id=None, tail=""):
    """/v5/{project}/api/pipelines[/{pipeline}]{tail}."""
    middle = "" if pipeline_id is None else f"/{pipeline_id}"
    return f"/v5/{project_id}/api/pipelines{middle}{tail}"


def served_body(sim, pipeline_id, build_id=None, backend="v3"):
    """The exact bytes the simulator answers a build call of backend with (build_id
    None: the latest) -- what status.json must hold."""
    if backend == "v3":
        path = f"/v3/pipelines/{pipeline_id}/status"
        query = "" if build_id is None else f"?build_id={build_id}"
    else:
        pipeline = ((sim.scenario or {}).get("pipelines") or {}).get(pipeline_id) or {}
        path = v5_path(pipeline.get("project_id") or DEFAULT_PROJECT_ID, pipeline_id,
                       "/pipeline-runs/detail")
        query = "" if build_id is None else f"?pipeline_run_number={build_id}"
    request = urllib.request.Request(sim.url + path + query,
                                     headers={"X-Auth-Token": TEST_TOKEN})
    try:
        with urllib.request.urlopen(request, timeout=scaled(CONTROL_TIMEOUT)) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        return error.read()


def served_json(sim, pipeline_id, build_id=None, backend="v3"):
    """served_body() parsed."""
    return json.loads(served_body(sim, pipeline_id, build_id, backend))


# --------------------------------------------------------------------------
# Mounts


def fuse_unavailable_reason():
    """Why FUSE mounts cannot work here, or None if they can."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as error:
        return f"cannot open /dev/fuse: {error.strerror}"
    return None


def require_fuse():
    """Skip when FUSE is missing; fail (not skip) when only the daemon binary is missing."""
    reason = fuse_unavailable_reason()
    if reason:
        pytest.skip(f"FUSE not available: {reason}")
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"pipelinefs binary not found at {BIN}: build it "
                    f"(meson setup build && meson compile -C build) or set PIPELINEFS_BIN")


def in_mount_table(path):
    """True if path is a mount point per /proc/self/mounts.

    Unlike os.path.ismount this does not stat the mount, so it neither hangs
    on a stuck daemon nor misses a dead one ("Transport endpoint is not
    connected").
    """
    target = os.path.realpath(path)
    with open("/proc/self/mounts", encoding="utf-8") as table:
        for line in table:
            fields = line.split()
            mounted_on = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
            if mounted_on == target:
                return True
    return False


def format_mount_options(options):
    """{"a": 1, "ro": True, "x": None} or ["a=1", "ro"] -> "a=1,ro"."""
    if isinstance(options, dict):
        parts = [name if value is True else f"{name}={value}"
                 for name, value in options.items() if value is not None and value is not False]
    else:
        parts = [str(option) for option in options]
    return ",".join(parts)


class Mount:
    """A pipelinefs daemon run in the foreground (-f) on a mountpoint."""

    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.serial = next(_serial)
        self.proc = None
        self.mountpoint = None
        self.token_file = None
        self.log_path = self.workdir / f"pipelinefs-{self.serial}.log"

    def start(self, sim_url, mountpoint, options=None, token=TEST_TOKEN, token_file=None,
              env=None, extra_args=None, wait=True):
        """Run BIN -f -o endpoint=URL,token_file=FILE,<options> [extra_args] MOUNTPOINT.

        Unless token_file is given, token (if not None) is written to a 0600
        file in the workdir and passed as token_file.  options may be a dict or
        a list and is appended after endpoint/token_file (a dict may override
        them).  history=0 comes first unless options name it: the tests of
        the earlier issues count requests of listings that had no history
        (tests of history set it).  With wait=False, returns right after launching, for tests that
        expect the daemon to refuse to start (see wait_exit()).
        """
        self.mountpoint = pathlib.Path(mountpoint)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        if token_file is None and token is not None:
            token_file = self._write_token(token)
        self.token_file = token_file
        all_options = {"endpoint": sim_url}
        if "history" not in str(options):
            all_options["history"] = "0"
        if token_file is not None:
            all_options["token_file"] = str(token_file)
        if isinstance(options, dict):
            all_options.update(options)
            option_string = format_mount_options(all_options)
        else:
            option_string = ",".join(filter(None, [format_mount_options(all_options),
                                                   format_mount_options(options or [])]))
        option_args = ["-o", option_string] if option_string else []
        command = [*WRAPPER, BIN, "-f", *option_args, *(extra_args or []),
                   str(self.mountpoint)]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         env={**os.environ, **(env or {})})
        if wait:
            self.wait_for_mount()
        return self

    def _write_token(self, token):
        """Write a 0600 token file: tmp_path/"token" for a test's first mount, else token-N.

        Tests rotate the token by rewriting mount.token_file.
        """
        path = self.workdir / "token"
        if path.exists():
            path = self.workdir / f"token-{self.serial}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(token + "\n")
        return path

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        """The daemon's stdout and stderr so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def wait_for_mount(self, timeout=STARTUP_TIMEOUT):
        """Poll os.path.ismount until the mount is up; fail with the log if the daemon exits.

        timeout is nominal (scaled here).
        """
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        while not os.path.ismount(self.mountpoint):
            if self.proc.poll() is not None:
                self._fail(f"pipelinefs exited with status {self.proc.returncode} before mounting")
            if time.monotonic() >= deadline:
                self._fail(f"{self.mountpoint} not mounted after {timeout} s")
            time.sleep(POLL_INTERVAL)

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        """Wait for the daemon to exit on its own; returns its status (fails after
        scaled(timeout))."""
        timeout = scaled(timeout)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._fail(f"pipelinefs still running after {timeout} s")

    @property
    def active(self):
        """Still running, or still in the mount table (possibly dead)?"""
        return self.proc is not None and (self.proc.poll() is None
                                          or in_mount_table(self.mountpoint))

    def umount(self):
        """fusermount3 -u (retrying while busy), then demand a clean exit 0 and no mount."""
        self._fusermount_unmount()
        self._expect_clean_exit("after fusermount3 -u")

    def terminate(self, sig=signal.SIGTERM):
        """Send sig; the daemon must unmount itself and exit 0."""
        self.proc.send_signal(sig)
        self._expect_clean_exit(f"after {signal.Signals(sig).name}")

    def _fusermount_unmount(self, patience=UNMOUNT_PATIENCE):
        """fusermount3 -u, retried while the mount is busy for scaled(patience) seconds."""
        deadline = time.monotonic() + scaled(patience)
        while True:
            result = subprocess.run(["fusermount3", "-u", str(self.mountpoint)],
                                    capture_output=True, text=True)
            if result.returncode == 0:
                return
            if "busy" not in result.stderr.lower():
                self._fail(f"fusermount3 -u failed: {result.stderr.strip()}")
            if time.monotonic() >= deadline:
                self._fail(f"fusermount3 -u: still busy after {scaled(patience):g} s")
            time.sleep(0.1)

    def _expect_clean_exit(self, when):
        try:
            status = self.proc.wait(scaled(EXIT_TIMEOUT))
        except subprocess.TimeoutExpired:
            self._fail(f"pipelinefs did not exit within {scaled(EXIT_TIMEOUT):g} s {when}")
        if status != 0:
            self._fail(f"pipelinefs exited with status {status} {when}")
        if in_mount_table(self.mountpoint):
            self._fail(f"{self.mountpoint} still mounted {when}")

    def _fail(self, message):
        """Clean up first, so a failing test never leaves a mount behind, then fail."""
        self.force_cleanup()
        pytest.fail(f"{message}\n--- pipelinefs log ({self.log_path}) ---\n{self.log()}")

    def force_cleanup(self):
        """Kill the daemon and lazily unmount; for failure paths only."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.mountpoint is not None and in_mount_table(self.mountpoint):
            subprocess.run(["fusermount3", "-u", "-z", str(self.mountpoint)],
                           capture_output=True)


@pytest.fixture
def mount_factory(tmp_path, backend):
    """mount_factory(sim_url, mountpoint, options=None, backend=None, **kwargs) -> started Mount.

    The mount reads builds with backend (default: the `backend` fixture's)
    unless options name api= (see backend_options()).  kwargs as
    Mount.start (token, token_file, env, extra_args, wait).  Skips the test
    when FUSE is unavailable.  Mounts still active at teardown are
    unmounted, and each must exit 0.
    """
    require_fuse()
    mounts = []

    def start(sim_url, mountpoint, options=None, backend=backend, **kwargs):
        mount = Mount(tmp_path)
        mounts.append(mount)
        return mount.start(sim_url, mountpoint, with_backend(backend, sim_url, options),
                           **kwargs)

    yield start
    problems = []
    for mount in mounts:
        try:
            if mount.active:
                mount.umount()
        except (AssertionError, pytest.fail.Exception) as error:
            problems.append(str(error))
        finally:
            mount.force_cleanup()
    if problems:
        pytest.fail("\n\n".join(problems))


# Mount options that list every pipeline of the default scenario at the root.
ALL_LISTED = {"pipelines": ":".join(TEST_PIPELINES)}


@pytest.fixture
def mount_options():
    """Mount options for `mount`/`mnt`; override in a test module to change them."""
    return {}


@pytest.fixture
def mount(sim, mount_factory, mount_options, tmp_path):
    """A Mount of pipelinefs against `sim` on tmp_path/"mnt"."""
    return mount_factory(sim.url, tmp_path / "mnt", mount_options)


@pytest.fixture
def mount_with(sim, mount_factory, tmp_path):
    """mount_with(**options) -> Mount of `sim` on tmp_path/"mnt": every pipeline of
    the default scenario listed (ALL_LISTED), then these options."""
    def start(**options):
        return mount_factory(sim.url, tmp_path / "mnt", {**ALL_LISTED, **options})
    return start


@pytest.fixture
def mnt(mount):
    """The mountpoint (pathlib.Path) of `mount`; unmounted at teardown, exit 0 demanded."""
    return pathlib.Path(mount.mountpoint)


# --------------------------------------------------------------------------
# Helpers shared by the test modules


def read(path):
    """The bytes of a file, as cat would show them."""
    with open(path, "rb") as file:
        return file.read()


def errno_of(action, *args):
    """The errno action(*args) fails with (the test fails if it succeeds)."""
    with pytest.raises(OSError) as error:
        action(*args)
    return error.value.errno


def readable_again(path, content, timeout=5, message=None):
    """Wait until path reads as content; a failing read (OSError) counts as "not yet".

    For after a fault is cleared: the daemon backs off after a failure, and
    readers get the last error at once until its retry.
    """
    def readable():
        try:
            return read(path) == content
        except OSError:
            return False
    wait_until(readable, timeout=timeout, message=message or f"{path} readable again")


def log_lines(mount, *texts):
    """Lines of the daemon's log that contain every one of texts."""
    return [line for line in mount.log().splitlines() if all(text in line for text in texts)]


def run_in_threads(works):
    """Run each zero-argument callable in its own thread, all released at once.

    Returns their results in order (an exception raised counts as the result).
    """
    barrier = threading.Barrier(len(works))
    results = [None] * len(works)

    def run(index):
        barrier.wait()
        try:
            results[index] = works[index]()
        except Exception as error:     # shows up in the caller's assertion
            results[index] = error
    threads = [threading.Thread(target=run, args=(index,), daemon=True)
               for index in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(scaled(THREAD_JOIN_TIMEOUT))
    return results


# --------------------------------------------------------------------------
# Issue 7 (monitoring): API times, the mount's own state, followers and waiters

SERVICE_ZONE = 8 * 3600          # the API's times carry no zone: pipelinefs reads them in +08:00
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def api_epoch(text, offset=SERVICE_ZONE):
    """The Unix time of an API time ("2026-11-28 09:03:00") read at UTC offset (seconds)."""
    naive = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return naive.replace(tzinfo=datetime.timezone(datetime.timedelta(seconds=offset))).timestamp()


def api_time(epoch, offset=SERVICE_ZONE):
    """The API's way of writing the Unix time epoch: local time at offset, no zone."""
    zone = datetime.timezone(datetime.timedelta(seconds=offset))
    return datetime.datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M:%S")


def iso_epoch(text):
    """The Unix time of an ISO 8601 UTC time in seconds ("2026-11-30T12:34:56Z")."""
    assert ISO_TIME.fullmatch(text), f"{text!r} is not an ISO 8601 UTC time in seconds"
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def read_view(path):
    """A file of .pipelinefs/ (or a pipeline's summary) in one read(2).

    These files are snapshots renewed at most once a second (views.h), at a
    getattr, and the kernel sends one before each read(2): read() reading
    on to see EOF can get the whole of one snapshot and then the tail of a
    newer, longer one (valgrind's slowness made CI hit it).  One read(2)
    of a large buffer is served from one snapshot.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4 << 20)
    finally:
        os.close(fd)


def health(mnt):
    """MOUNT/.pipelinefs/health as {key: value} (each line "key: value")."""
    lines = read_view(pathlib.Path(mnt) / ".pipelinefs" / "health").decode("utf-8").splitlines()
    pairs = [line.split(": ", 1) for line in lines]
    assert all(len(pair) == 2 for pair in pairs), f"not key: value lines: {lines}"
    return dict(pairs)


METRIC_SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)')
METRIC_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def metric_samples(text):
    """Prometheus text -> {(name, ((label, value), ...)): float}; comments skipped.

    A minimal reader for tests that need a value; tests/prometheus_text.py is
    the strict parser that checks the format itself.
    """
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = METRIC_SAMPLE.fullmatch(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        pairs = tuple(sorted(METRIC_LABEL.findall(labels or "")))
        samples[(name, pairs)] = float(value)
    return samples


def metrics(mnt):
    """The samples of MOUNT/.pipelinefs/metrics (see metric_samples)."""
    return metric_samples(read_view(pathlib.Path(mnt) / ".pipelinefs" / "metrics")
                          .decode("utf-8"))


def metric(mnt, name, **labels):
    """One sample of MOUNT/.pipelinefs/metrics, or None if it is not there."""
    return metrics(mnt).get((name, tuple(sorted(labels.items()))))


def waiters(mnt):
    """The daemon's pipelinefs_waiters gauge: readers blocked on a `wait` file."""
    return metric(mnt, "pipelinefs_waiters")


def answered_since(sim, moment, pipeline_id, build_id=ANY):
    """Wait until a request for the build arrived after moment and its answer ended.

    The daemon has then been told whatever the service says now; a read after
    it that finds its copy stale waits for that answer (up to a second).
    """
    def answered():
        return [entry for entry in sim.requests_since(moment, pipeline_id, build_id)
                if entry["ended"]]
    return wait_until(answered, timeout=10,
                      message=f"an answer about {pipeline_id} build {build_id}")


class Processes:
    """Subprocesses of a test (readers that may block on the mount), killed at teardown."""

    def __init__(self):
        self.started = []

    def start(self, command, **kwargs):
        """Popen(command) with stdin closed and stdout, stderr piped (unless given)."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        process = subprocess.Popen([str(part) for part in command], **kwargs)
        self.started.append(process)
        return process

    def end_all(self):
        for process in self.started:
            if process.poll() is None:
                process.kill()
        for process in self.started:
            try:
                process.wait(scaled(10))
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture
def processes(mount_factory):
    """A Processes; they end before the mounts are unmounted (fusermount3 -u is
    refused while they hold files open)."""
    started = Processes()
    yield started
    started.end_all()


class Follower:
    """`tail -f` of a file through the mount, its lines collected on a thread.

    tail polls a FUSE file (it is a "remote" file system to tail, so no
    inotify) every interval seconds and prints what was appended: that is
    what a user following a build sees.
    """

    def __init__(self, processes, path, interval=0.1):
        self.path = path
        self.process = processes.start(["tail", "-s", str(interval), "-n", "+1", "-f", path])
        self._lines = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self):
        for line in self.process.stdout:
            with self._lock:
                self._lines.append(line.decode("utf-8", "surrogateescape"))

    def lines(self):
        """The complete lines so far, without their "\\n"."""
        with self._lock:
            return [line[:-1] for line in self._lines if line.endswith("\n")]

    def wait_for(self, predicate, timeout=5, message="lines"):
        """Wait until predicate(lines()) is truthy (nominal timeout, scaled); returns it."""
        def check():
            if self.process.poll() is not None:
                pytest.fail(f"tail -f {self.path} exited with status {self.process.returncode}: "
                            f"{self.process.stderr.read().decode('utf-8', 'replace')}")
            return predicate(self.lines())
        return wait_until(check, timeout=timeout, message=f"{message} in tail -f {self.path}")


@pytest.fixture
def follow(processes):
    """follow(path) -> Follower running `tail -f path`; ended at teardown."""
    return lambda path, **kwargs: Follower(processes, path, **kwargs)


# --------------------------------------------------------------------------
# Issue 9 (v5): scenario keys the simulator's v5 calls read (see
# contrib/pipelinefs-sim --help); v3 serves them as unknown extra fields.


def v5_task(scenario, pipeline_id, build_id, stage, task, **keys):
    """Add v5 keys to one task of a scenario's build body, e.g. steps=[{"name": "compile",
    "log_lines": 20000}], message_json=True, log="...", v5_status="ASYNC_RUNNING";
    returns the scenario."""
    body = scenario["pipelines"][pipeline_id]["builds"][build_id]["body"]
    body["states"][stage]["children"][task].update(keys)
    return scenario


def v5_run_id(pipeline_id, build_id):
    """The simulator's pipeline_run_id of a build: md5 hex of "pipeline-run:<p>:<b>"."""
    return hashlib.md5(f"pipeline-run:{pipeline_id}:{build_id}".encode("utf-8")).hexdigest()
