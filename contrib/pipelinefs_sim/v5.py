"""The v5 API (and the CodeArts project list), served from the same scenarios as v3.

  GET  /v5/{project_id}/api/pipelines/{pipeline_id}/pipeline-runs/detail
       ?pipeline_run_id=ID | ?pipeline_run_number=N | neither (the latest run)
  POST /v5/{project_id}/api/pipelines/{pipeline_id}/pipeline-runs/list
  POST /v5/{project_id}/api/pipelines/list
  POST /v5/{project_id}/api/pipelines/{pipeline_id}/pipeline-runs/{run_id}
       /jobs/{job_run_id}/steps/{step_run_id}/logs
  GET  /v4/projects?offset=N&limit=1..1000

Every v5 answer is derived from a build's v3 document at the scenario clock
(timeline applied), so every scenario serves both generations unchanged; a
few optional scenario keys add what v3 cannot say (listed in the
script's docstring, its --help).

Status mapping, v3 (status, outcome) -> v5 (run, stage, job and step alike
unless noted):
  running                 RUNNING
  completed + success     COMPLETED
  completed + error       FAILED
  completed + aborted     CANCELED
  completed + null        COMPLETED
  completed + other       the outcome upper-cased (an unknown value)
  waiting                 QUEUED for the run (queued, not started), INIT for a
                          stage, job or step (not reached yet); QUEUED is in
                          the stage set but not the documented run set, which
                          is the point: clients must expect values beyond it
  verifying               PAUSED (awaiting a manual review)
  suspending              SUSPEND
  null / not a string     null
  any other string        upper-cased (an unknown value, passed on)
A node's "v5_status" key, when given, is served as is instead.

Times: the v3 text times are read in +08:00 and served as int64 epoch
milliseconds; a missing or unreadable one is 0, and so is end_time of a node
whose v3 status is not "completed".

Ids: the run's id (pipeline_run_id) is the md5 hex of pipeline and build id,
stable across restarts; stage, job and step ids hash the run id with the v3
ids and positions.  run_number is the build id as an int (0 if not digits).

Errors (shapes of the API notes, section 5): an unknown pipeline is 404
DEVPIPE.00011401; a pipeline of another project is HTTP 200 with
DEVPIPE.00011136 (the service answers some business errors with 200; a client
must look at the body whatever the status); an unknown run is 400
DEVPIPE.00011104; a pipeline list of an unknown project is 400
DEVPIPE.30021001; a bad parameter 400 DEVPIPE.00011104.  A raw build (the
scenario's "raw"/"raw_file") that is not a JSON object is served on the
detail call as written, so a hostile body reaches a v5 client too.

Step logs: see StepLog and page().  Offsets are line indices written as
decimal strings, but opaque to a client: it must only send back what it
got.  At most MAX_LOG_LINES lines a page.  has_more says whether lines exist
past the page now: a RUNNING step's log may still grow after has_more is
false, so a follower polls while the step runs.  The log is bytes: a
"log_base64" log is served byte for byte inside the JSON string (control
characters, quote and backslash escaped; bytes >= 0x80 raw, valid UTF-8 or
not).
"""

import base64
import binascii
import datetime
import hashlib
import json
import re
from urllib.parse import parse_qs, unquote

from pipelinefs_sim import catalog

CALLS = ("v5_detail", "v5_runs", "v5_pipelines", "v5_log", "projects")

DETAIL_PATH = re.compile(r"^/v5/([^/]+)/api/pipelines/([^/]+)/pipeline-runs/detail$")
RUNS_PATH = re.compile(r"^/v5/([^/]+)/api/pipelines/([^/]+)/pipeline-runs/list$")
PIPELINES_PATH = re.compile(r"^/v5/([^/]+)/api/pipelines/list$")
LOG_PATH = re.compile(r"^/v5/([^/]+)/api/pipelines/([^/]+)/pipeline-runs/([^/]+)"
                      r"/jobs/([^/]+)/steps/([^/]+)/logs$")
PROJECTS_PATH = "/v4/projects"

MAX_LOG_LINES = 500
LIST_LIMITS = (1, 100)
PROJECT_LIMITS = (1, 1000)
DEFAULT_LIMIT = 10

ERROR_NO_PIPELINE = (404, "DEVPIPE.00011401", "pipeline not found")
ERROR_NOT_OWNER = (200, "DEVPIPE.00011136", "the project does not own the pipeline")
ERROR_NO_RUN = (400, "DEVPIPE.00011104", "pipeline run not found")
ERROR_NO_PROJECT = (400, "DEVPIPE.30021001", "project not found")
ERROR_NO_STEP = (400, "DEVPIPE.00011104", "job or step not found in the pipeline run")
BAD_PARAMETER = "DEVPIPE.00011104"

V3_TO_V5 = {"running": "RUNNING", "verifying": "PAUSED", "suspending": "SUSPEND"}
OUTCOME_TO_V5 = {"success": "COMPLETED", "error": "FAILED", "aborted": "CANCELED",
                 None: "COMPLETED"}
NOT_STARTED = ("INIT", "QUEUED")
LOG_KEYS = ("log", "log_base64", "log_lines", "log_lines_per_second", "log_since")


class Refusal(Exception):
    """An error answer: (HTTP status, error_code, error_msg)."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.answer = (status, {"error_code": code, "error_msg": message})


def _bad(message):
    return Refusal(400, BAD_PARAMETER, f"invalid parameter: {message}")


def encode(value):
    """UTF-8 JSON like the script's json_bytes (Chinese left as is)."""
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def _md5(*parts):
    return hashlib.md5(":".join(str(part) for part in parts).encode("utf-8")).hexdigest()


def run_id_of(pipeline_id, build_id):
    """The stable 32-hex pipeline_run_id of a build."""
    return _md5("pipeline-run", pipeline_id, build_id)


def run_number_of(build_id):
    return int(build_id) if str(build_id).isdigit() else 0


# --------------------------------------------------------------------------
# Recognising the calls


def parse(method, url, scenario):
    """(kind, pipeline_ids, build_id, project_ids) of a v5 or project call, else None.

    build_id is the scenario's build a run id or number names (the raw value
    when no build has it), None for "the latest" and for calls naming no run.
    """
    query = parse_qs(url.query, keep_blank_values=True)
    if method == "GET" and url.path == PROJECTS_PATH:
        return "projects", (), None, ()
    match = PIPELINES_PATH.match(url.path)
    if method == "POST" and match:
        return "v5_pipelines", (), None, (unquote(match.group(1)),)
    for kind, wanted, pattern in (("v5_detail", "GET", DETAIL_PATH),
                                  ("v5_runs", "POST", RUNS_PATH), ("v5_log", "POST", LOG_PATH)):
        match = pattern.match(url.path)
        if method == wanted and match:
            project_id, pipeline_id = unquote(match.group(1)), unquote(match.group(2))
            build_id = None
            if kind == "v5_detail":
                run_id = (query.get("pipeline_run_id") or [""])[0]
                build_id = (_build_of(scenario, pipeline_id, run_id) if run_id
                            else (query.get("pipeline_run_number") or [""])[0] or None)
            elif kind == "v5_log":
                build_id = _build_of(scenario, pipeline_id, unquote(match.group(3)))
            return kind, (pipeline_id,), build_id, (project_id,)
    return None


def _build_of(scenario, pipeline_id, run_id):
    """The build whose run id is run_id, else run_id itself (unknown: logged as asked)."""
    pipeline = scenario.pipelines.get(pipeline_id) if scenario is not None else None
    for build_id in (pipeline.builds if pipeline is not None else ()):
        if run_id_of(pipeline_id, build_id) == run_id:
            return build_id
    return run_id


# --------------------------------------------------------------------------
# Answers


def reply(scenario, call, url, body, now):
    """(HTTP status, body bytes) of an authenticated v5 or project call (call: the
    script's ApiCall, with what parse() found)."""
    kind, build_id = call.kind, call.build_id
    pipeline_id = call.pipeline_ids[0] if call.pipeline_ids else None
    project_id = call.project_ids[0] if call.project_ids else None
    try:
        if kind == "projects":
            return 200, encode(projects_answer(scenario, url.query))
        request = {} if kind == "v5_detail" else _body_object(body)
        if kind == "v5_pipelines":
            return 200, encode(pipelines_answer(scenario, project_id, request, now))
        pipeline = _owned_pipeline(scenario, project_id, pipeline_id)
        if kind == "v5_runs":
            return 200, encode(runs_answer(scenario, pipeline_id, pipeline, request, now))
        build_id = build_id or pipeline.latest
        build = pipeline.builds.get(build_id) if build_id is not None else None
        if build is None:
            raise Refusal(*ERROR_NO_RUN)
        if kind == "v5_detail":
            if build.raw is not None and not isinstance(build.document(now), dict):
                return 200, build.raw
            return 200, encode(run_detail(scenario, pipeline_id, pipeline, build_id,
                                          build.document(now)))
        return 200, log_answer(scenario, pipeline_id, pipeline, build_id,
                               build.document(now), url.path, request, now)
    except Refusal as refusal:
        status, value = refusal.answer
        return status, encode(value)


def _body_object(body):
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise _bad("the body is not JSON") from None
    if not isinstance(request, dict):
        raise _bad("the body must be a JSON object")
    return request


def _owned_pipeline(scenario, project_id, pipeline_id):
    pipeline = scenario.pipelines.get(pipeline_id)
    if pipeline is None:
        raise Refusal(*ERROR_NO_PIPELINE)
    if pipeline.project_id != project_id:
        raise Refusal(*ERROR_NOT_OWNER)
    return pipeline


def _integer(request, name, default, low, high=None):
    value = request.get(name, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if (isinstance(value, bool) or not isinstance(value, int) or value < low
            or (high is not None and value > high)):
        bound = f" ({low} to {high})" if high is not None else ""
        raise _bad(f"{name}{bound}")
    return value


def _page(request, items, limits=LIST_LIMITS):
    offset = _integer(request, "offset", 0, 0)
    limit = _integer(request, "limit", DEFAULT_LIMIT, *limits)
    return offset, limit, items[offset:offset + limit]


# Status and time mapping ----------------------------------------------------


def v5_status(node, run=False):
    """The v5 status of a v3 node (run, stage, task, step spec); see the module doc."""
    explicit = node.get("v5_status")
    if isinstance(explicit, str):
        return explicit
    status, outcome = node.get("status"), node.get("outcome")
    if not isinstance(status, str):
        return None
    if status == "completed":
        if outcome in OUTCOME_TO_V5:
            return OUTCOME_TO_V5[outcome]
        return outcome.upper() if isinstance(outcome, str) else "COMPLETED"
    if status == "waiting":
        return "QUEUED" if run else "INIT"
    return V3_TO_V5.get(status, status.upper())


def epoch_ms(text):
    """Epoch milliseconds of a v3 text time read in +08:00, 0 if there is none."""
    moment = catalog.parse_api_time(text)
    if moment is None:
        return 0
    return int(moment.replace(tzinfo=catalog.SERVICE_ZONE).timestamp() * 1000)


def _times(node):
    """(start_time, end_time) in ms; end_time 0 until the v3 node is completed."""
    end = epoch_ms(node.get("end_time")) if node.get("status") == "completed" else 0
    return epoch_ms(node.get("start_time")), end


def _list(value):
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value):
    return value if isinstance(value, str) else None


# The run detail ---------------------------------------------------------------


def run_detail(scenario, pipeline_id, pipeline, build_id, document):
    """The v5 run detail of a build's v3 document."""
    document = document if isinstance(document, dict) else {}
    run_id = run_id_of(pipeline_id, build_id)
    start, end = _times(document)
    executor = _text(document.get("executor"))
    return {
        "id": run_id, "pipeline_id": pipeline_id, "name": pipeline.name,
        "project_id": pipeline.project_id, "description": "",
        "run_number": run_number_of(build_id), "status": v5_status(document, run=True),
        "trigger_type": _text(document.get("trigger_type")) or "Manual",
        "executor_id": catalog._id_of(executor), "executor_name": executor or "",
        "start_time": start, "end_time": end,
        "stages": [stage(run_id, sequence, state)
                   for sequence, state in enumerate(_list(document.get("states")))],
        "sources": [], "artifacts": [],
        "build_params": _params(document.get("parameters")),
        "detail_url": document.get("detail_url"),
    }


def _params(parameters):
    return [{"name": item.get("name"), "value": item.get("value")}
            for item in _list(parameters)]


def stage(run_id, sequence, state):
    stage_id = _md5(run_id, "stage", sequence, state.get("id"))
    start, end = _times(state)
    return {
        "id": stage_id, "name": state.get("name"), "identifier": state.get("id"),
        "sequence": sequence, "status": v5_status(state), "start_time": start,
        "end_time": end, "parallel": "false",
        "pre": [step(stage_id, "pre", number, spec, state)
                for number, spec in enumerate(_list(state.get("pre")))],
        "post": [step(stage_id, "post", number, spec, state)
                 for number, spec in enumerate(_list(state.get("post")))],
        "jobs": [job(stage_id, number, task) for number, task in
                 enumerate(_list(state.get("children")))],
    }


def job(stage_id, sequence, task):
    job_id = _md5(stage_id, "job", sequence, task.get("id"))
    start, end = _times(task)
    return {
        "id": job_id, "name": task.get("name"), "identifier": task.get("id"),
        "sequence": sequence, "status": v5_status(task), "message": message(task),
        "async": "false", "start_time": start, "end_time": end,
        "steps": [step(job_id, "step", number, spec, task)
                  for number, spec in enumerate(step_specs(task))],
    }


def message(task):
    """error_msg, or its JSON form when the scenario says "message_json"."""
    form = task.get("message_json")
    if isinstance(form, dict):
        return json.dumps(form, ensure_ascii=False)
    if form:
        return json.dumps({"errorMessage": task.get("error_msg"),
                           "errorCode": task.get("error_code")}, ensure_ascii=False)
    return task.get("error_msg")


def step_specs(task):
    """The task's "steps", else one step that is the task itself (with its log keys)."""
    if isinstance(task.get("steps"), list):
        return _list(task["steps"])
    return [{key: task[key] for key in ("name", "v5_status") + LOG_KEYS if key in task}]


def step_node(spec, parent):
    """A step spec with the parent's status, outcome and times where it gives none."""
    node = {key: parent.get(key)
            for key in ("status", "outcome", "start_time", "end_time", "error_msg")}
    node.update(spec)
    return node


def step(parent_id, kind, sequence, spec, parent):
    node = step_node(spec, parent)
    start, end = _times(node)
    return {
        "id": _md5(parent_id, kind, sequence), "name": node.get("name"),
        "task": node.get("task") or ("official_shell_plugin" if kind == "step"
                                     else "official_devcloud_gate"),
        "business_type": node.get("business_type") or ("Normal" if kind == "step" else "Gate"),
        "sequence": sequence, "status": v5_status(node), "message": node.get("message"),
        "start_time": start, "end_time": end,
    }


# Lists ---------------------------------------------------------------------------


def run_summary(pipeline_id, build_id, document):
    """A runs list item (and a pipeline's latest_run)."""
    document = document if isinstance(document, dict) else {}
    run_id = run_id_of(pipeline_id, build_id)
    start, end = _times(document)
    executor = _text(document.get("executor"))
    stages = [{"id": _md5(run_id, "stage", sequence, state.get("id")),
               "name": state.get("name"), "sequence": sequence, "status": v5_status(state),
               "start_time": str(_times(state)[0]), "end_time": str(_times(state)[1])}
              for sequence, state in enumerate(_list(document.get("states")))]
    return {"pipeline_run_id": run_id, "pipeline_id": pipeline_id,
            "run_number": run_number_of(build_id), "status": v5_status(document, run=True),
            "trigger_type": _text(document.get("trigger_type")) or "Manual",
            "executor_id": catalog._id_of(executor), "executor_name": executor or "",
            "start_time": start, "end_time": end, "stage_status_list": stages,
            "build_params": _params(document.get("parameters")),
            "detail_url": document.get("detail_url")}


def runs_answer(scenario, pipeline_id, pipeline, request, now):
    """Runs newest first (by run number, then scenario order reversed); status[] filters."""
    wanted = request.get("status") or []
    if not isinstance(wanted, list):
        raise _bad("status (a list)")
    items = [run_summary(pipeline_id, build_id, build.document(now))
             for build_id, build in pipeline.builds.items()]
    items = [item for item in reversed(items) if not wanted or item["status"] in wanted]
    items.sort(key=lambda item: item["run_number"], reverse=True)   # stable
    offset, limit, page_items = _page(request, items)
    return {"offset": offset, "limit": limit, "total": len(items), "pipeline_runs": page_items}


def pipelines_answer(scenario, project_id, request, now):
    """The project's pipelines, newest create_time first; "name" filters by substring."""
    if project_id not in catalog.known_projects(scenario.pipelines, scenario.projects):
        raise Refusal(*ERROR_NO_PROJECT)
    name = request.get("name") or ""
    if not isinstance(name, str):
        raise _bad("name")
    chosen = [(pipeline_id, pipeline) for pipeline_id, pipeline in scenario.pipelines.items()
              if pipeline.project_id == project_id and name.lower() in pipeline.name.lower()]
    chosen.sort(key=lambda pair: pair[1].create_time, reverse=True)
    items = [pipeline_item(scenario, pipeline_id, pipeline, now)
             for pipeline_id, pipeline in chosen]
    offset, limit, page_items = _page(request, items)
    return {"offset": offset, "limit": limit, "total": len(items), "pipelines": page_items}


def pipeline_item(scenario, pipeline_id, pipeline, now):
    latest = pipeline.builds.get(pipeline.latest) if pipeline.latest is not None else None
    return {"pipeline_id": pipeline_id, "name": pipeline.name,
            "project_id": pipeline.project_id,
            "project_name": catalog.project_name(scenario.projects, pipeline.project_id),
            "create_time": epoch_ms(pipeline.create_time), "is_collect": False,
            "creator_name": pipeline.creator_name or "",
            "latest_run": None if latest is None else
            run_summary(pipeline_id, pipeline.latest, latest.document(now))}


def projects_answer(scenario, query):
    """GET /v4/projects: the scenario's projects, then those only pipelines name."""
    values = {key: value[0] for key, value in parse_qs(query).items()}
    ids = list(dict.fromkeys(list(scenario.projects) + [pipeline.project_id for pipeline
                                                        in scenario.pipelines.values()]))
    items = [{"project_id": project_id,
              "project_name": catalog.project_name(scenario.projects, project_id),
              "project_num_id": int(_md5("project", project_id)[:6], 16),
              "created_time": epoch_ms(catalog.derived_create_time(24 * 60 * number))}
             for number, project_id in enumerate(ids)]
    offset, limit, page_items = _page(values, items, PROJECT_LIMITS)
    return {"projects": page_items, "total": len(items)}


# Step logs --------------------------------------------------------------------------


def generated_line(name, start_ms, number, count):
    """Line number (1-based) of count generated lines of step name starting at start_ms."""
    moment = datetime.datetime.fromtimestamp((start_ms + 10 * number) / 1000, catalog.SERVICE_ZONE)
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{(start_ms + 10 * number) % 1000:03d}"
    return f"[{stamp}] [INFO] {name}: log line {number} of {count}\n".encode("utf-8")


def _split_lines(data):
    """bytes -> lines, each with its "\\n" (the last one maybe without)."""
    return re.findall(rb"[^\n]*\n|[^\n]+$", data)


class StepLog:
    """The lines of a step's log that exist at the scenario time now."""

    def __init__(self, spec, node, status, now):
        self.name = str(node.get("name") or "step")
        self.start_ms = epoch_ms(node.get("start_time"))
        self.lines = None           # a list of bytes, or None for generated lines
        if isinstance(spec.get("log"), str):
            self.lines = _split_lines(spec["log"].encode("utf-8"))
        elif isinstance(spec.get("log_base64"), str):
            try:
                self.lines = _split_lines(base64.b64decode(spec["log_base64"]))
            except (binascii.Error, ValueError):
                self.lines = [b"(log_base64 is not base64)\n"]
        elif isinstance(spec.get("log_lines"), int):
            self.total = max(0, spec["log_lines"])
        else:
            self.lines = self._default(node, status)
        if self.lines is not None:
            self.total = len(self.lines)
        self.available = self._available(spec, status, now)

    def _default(self, node, status):
        stamp = lambda text: _text(text) or "1970-01-01 08:00:00"   # noqa: E731
        lines = [f"[{stamp(node.get('start_time'))}] [INFO] {self.name}: started\n"]
        if status in ("FAILED", "CANCELED"):
            lines.append(f"[{stamp(node.get('end_time'))}] [ERROR] {self.name}: "
                         f"{node.get('message') or node.get('error_msg') or status}\n")
        if node.get("status") == "completed":
            lines.append(f"[{stamp(node.get('end_time'))}] [INFO] {self.name}: {status}\n")
        return [line.encode("utf-8") for line in lines]

    def _available(self, spec, status, now):
        if status in NOT_STARTED:
            return 0
        rate = spec.get("log_lines_per_second")
        if status == "RUNNING" and isinstance(rate, (int, float)):
            since = spec.get("log_since", 0)
            since = since if isinstance(since, (int, float)) else 0
            return min(self.total, max(0, int(rate * (now - since))))
        return self.total

    def line(self, index):
        """Line index (0-based) as bytes."""
        if self.lines is not None:
            return self.lines[index]
        return generated_line(self.name, self.start_ms, index + 1, self.total)


def find_step(run, job_run_id, step_run_id):
    """(stage index, job index or None for a gate, step kind, step index) or raise."""
    for stage_number, stage_value in enumerate(run["stages"]):
        for kind in ("pre", "post"):
            for number, gate in enumerate(stage_value[kind]):
                if gate["id"] == step_run_id and job_run_id in (stage_value["id"], gate["id"]):
                    return stage_number, None, kind, number
        for job_number, job_value in enumerate(stage_value["jobs"]):
            if job_value["id"] != job_run_id:
                continue
            for number, step_value in enumerate(job_value["steps"]):
                if step_value["id"] == step_run_id:
                    return stage_number, job_number, "step", number
    raise Refusal(*ERROR_NO_STEP)


def step_log(scenario, pipeline_id, pipeline, build_id, document, job_run_id, step_run_id,
             now):
    run = run_detail(scenario, pipeline_id, pipeline, build_id, document)
    stage_number, job_number, kind, number = find_step(run, job_run_id, step_run_id)
    state = _list(document.get("states"))[stage_number]
    if job_number is None:
        parent, spec = state, _list(state.get(kind))[number]
        served = run["stages"][stage_number][kind][number]
    else:
        parent = _list(state.get("children"))[job_number]
        spec = step_specs(parent)[number]
        served = run["stages"][stage_number]["jobs"][job_number]["steps"][number]
    return StepLog(spec, step_node(spec, parent), served["status"], now)


def _offset(request, name):
    value = request.get(name, "0")
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _bad(f"{name} (send back an offset the service gave)")


def page(log, request):
    """(has_more, first, last, lines) of a log request; see the module doc.

    asc: lines from start_offset on (at most limit, not past end_offset
    unless it is 0); has_more while lines exist after the page.  desc: the
    limit lines before end_offset (0: the end), newest first; has_more while
    lines exist before the page (down to start_offset).
    """
    if "limit" not in request:
        raise _bad("limit is required")
    limit = min(_integer(request, "limit", None, 1), MAX_LOG_LINES)
    sort = request.get("sort")
    if sort not in ("asc", "desc"):
        raise _bad("sort (\"asc\" or \"desc\") is required")
    start, end = _offset(request, "start_offset"), _offset(request, "end_offset")
    bound = min(end, log.available) if end else log.available
    if sort == "asc":
        first = min(start, bound)
        last = min(first + limit, bound)
        return last < bound, first, last, [log.line(index) for index in range(first, last)]
    last = bound
    first = max(min(start, last), last - limit)
    lines = [log.line(index) for index in range(last - 1, first - 1, -1)]
    return first > min(start, last), first, last, lines


def json_string(data):
    """bytes as a JSON string body, byte for byte: only what JSON must escape is escaped."""
    out = bytearray(b'"')
    for byte in data:
        if byte == 0x22:
            out += b'\\"'
        elif byte == 0x5c:
            out += b"\\\\"
        elif byte == 0x0a:
            out += b"\\n"
        elif byte < 0x20:
            out += b"\\u%04x" % byte
        else:
            out.append(byte)
    out += b'"'
    return bytes(out)


def log_answer(scenario, pipeline_id, pipeline, build_id, document, path, request, now):
    match = LOG_PATH.match(path)
    log = step_log(scenario, pipeline_id, pipeline, build_id,
                   document if isinstance(document, dict) else {},
                   unquote(match.group(4)), unquote(match.group(5)), now)
    has_more, first, last, lines = page(log, request)
    return (b'{"has_more": ' + (b"true" if has_more else b"false")
            + b', "start_offset": "%d", "end_offset": "%d", "log": ' % (first, last)
            + json_string(b"".join(lines)) + b"}")


# --------------------------------------------------------------------------
# The "wrong_types" fault


def mistyped(kind, document):
    """A 200 body of the call's overall shape with fields of the wrong JSON types."""
    if kind == "v5_log":
        return {"has_more": "yes", "start_offset": 0, "end_offset": [], "log": 7}
    if kind == "projects":
        return {"projects": [{"project_id": 5, "project_name": None}, "x", 7], "total": "2"}
    if kind in ("v5_runs", "v5_pipelines"):
        items = "pipeline_runs" if kind == "v5_runs" else "pipelines"
        return {"offset": "0", "limit": None, "total": "many",
                items: [{"pipeline_run_id": 5, "pipeline_id": [], "run_number": "3",
                         "name": {}, "status": 1, "start_time": "soon",
                         "latest_run": "x"}, "x", 7, None]}
    document = dict(document) if isinstance(document, dict) else {}
    document.update({"id": 7, "run_number": "3", "status": 42, "start_time": "2026-01-01",
                     "end_time": True, "name": ["x"], "executor_name": {},
                     "stages": [{"id": 1, "name": 2, "status": [], "jobs": "x",
                                 "pre": {}, "sequence": "0"},
                                {"jobs": [{"message": {"errorCode": 1}, "steps": [7, None],
                                           "status": None, "async": True}]}, "x", None]})
    return document
