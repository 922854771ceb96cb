"""The account's catalogue: the v3 pipeline list and the projects' run history.

  POST /v3/pipelines/list          {offset, limit, total, result[]}
  GET  /v3/pipelines/build-result  {offset, limit, total, build_results[]}

Shapes as the API notes (sections 2 and 5) give them: every item field of the
list is a string; both calls page by item index; the list's limit is 10..50,
build-result's 1..100 and its date range at most 31 days, both ends
inclusive.  A bad parameter is 400 {"error_code": "DEVPIPE.00011104", ...}.

Functions here take the scenario's pipelines (objects with .name,
.project_id, .create_time, .creator_name, .builds, .latest) and return
(status, JSON value); they hold no state.
"""

import datetime
import hashlib
import json
import re
from urllib.parse import parse_qs

API_TIME = "%Y-%m-%d %H:%M:%S"        # the service's local time (+08:00), no zone
API_TIME_PATTERN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
SERVICE_ZONE = datetime.timezone(datetime.timedelta(hours=8))
DATE_FORMAT = "%Y-%m-%d"
DATE_PATTERN = re.compile(r"\d{4}-\d\d-\d\d")

DEFAULT_PROJECT_ID = "0d1e2f3a4b5c46d7e8f9a0b1c2d3e4f5"
# Derived create times: the first pipeline of a scenario is the newest, one
# minute apart, so the list (newest first) comes in scenario order.
DERIVED_CREATE_BASE = datetime.datetime(2026, 1, 1, 12, 0, 0)

LIST_LIMITS = (10, 50)
LIST_DEFAULT_LIMIT = 10
MAX_PROJECT_IDS = 10
HISTORY_LIMITS = (1, 100)
HISTORY_MAX_DAYS = 31

ERROR_BAD_PARAMETER = "DEVPIPE.00011104"
ERROR_NO_PROJECT = ("DEVPIPE.00011412", "project not found or no access")


def project_name(projects, project_id):
    """The scenario's name for a project, else "project-<first 6 hex>"."""
    return projects.get(project_id) or f"project-{project_id[:6]}"


def derived_create_time(index):
    return (DERIVED_CREATE_BASE - datetime.timedelta(minutes=index)).strftime(API_TIME)


def _bad(message):
    return 400, {"error_code": ERROR_BAD_PARAMETER, "error_msg": f"invalid parameter: {message}"}


def _text(value):
    """Every item field is a string: None becomes "", anything else its text."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _id_of(name):
    return hashlib.md5(f"user:{name}".encode("utf-8")).hexdigest() if name else ""


def _integer(value, name, low, high=None):
    """value as an int in [low, high] (numbers and digit strings), else raise ValueError."""
    if isinstance(value, bool):
        raise ValueError(name)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or value < low or (high is not None and value > high):
        raise ValueError(name)
    return value


# --------------------------------------------------------------------------
# POST /v3/pipelines/list


def parse_list_body(body):
    """The list call's parameters, or raise ValueError naming the bad one."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(request, dict):
        raise ValueError("the body must be a JSON object")
    offset = _integer(request.get("offset", 0), "offset", 0)
    limit = _integer(request.get("limit", LIST_DEFAULT_LIMIT), "limit (10 to 50)", *LIST_LIMITS)
    name = request.get("pipeline_name") or ""
    if not isinstance(name, str):
        raise ValueError("pipeline_name")
    project_ids = request.get("project_ids") or ""
    if not isinstance(project_ids, str):
        raise ValueError("project_ids (a string \"a,b\")")
    projects = [part.strip() for part in project_ids.split(",") if part.strip()]
    if len(projects) > MAX_PROJECT_IDS:
        raise ValueError(f"project_ids (at most {MAX_PROJECT_IDS})")
    return offset, limit, name, projects


def list_reply(pipelines, projects, body, now):
    """(status, answer) of the list call over pipelines ({id: Pipeline}), newest first."""
    try:
        offset, limit, name, project_ids = parse_list_body(body)
    except ValueError as error:
        return _bad(str(error))
    chosen = [(pipeline_id, pipeline) for pipeline_id, pipeline in pipelines.items()
              if name.lower() in pipeline.name.lower()
              and (not project_ids or pipeline.project_id in project_ids)]
    chosen.sort(key=lambda pair: pair[1].create_time, reverse=True)    # stable: ties in order
    items = [list_item(pipeline_id, pipeline, projects, now)
             for pipeline_id, pipeline in chosen[offset:offset + limit]]
    return 200, {"offset": offset, "limit": limit, "total": len(chosen), "result": items}


def list_item(pipeline_id, pipeline, projects, now):
    """One item of the list call: every field a string, from the latest build."""
    latest = pipeline.builds.get(pipeline.latest) if pipeline.latest else None
    document = latest.document(now) if latest is not None else None
    document = document if isinstance(document, dict) else {}
    executor = document.get("executor")
    return {key: _text(value) for key, value in {
        "project_id": pipeline.project_id,
        "project_name": project_name(projects, pipeline.project_id),
        "pipeline_id": pipeline_id, "pipeline_name": pipeline.name,
        "creator_id": _id_of(pipeline.creator_name), "creator_name": pipeline.creator_name,
        "executor_id": _id_of(executor if isinstance(executor, str) else None),
        "executor_name": executor, "start_time": document.get("start_time"),
        "create_time": pipeline.create_time, "watched": "false"}.items()}


# --------------------------------------------------------------------------
# GET /v3/pipelines/build-result


def parse_history_query(query):
    """(project_id, first day, last day, offset, limit), or raise ValueError."""
    values = parse_qs(query, keep_blank_values=True)

    def required(name):
        value = (values.get(name) or [""])[0]
        if not value:
            raise ValueError(f"{name} is required")
        return value

    def date(name):
        value = required(name)
        try:
            if not DATE_PATTERN.fullmatch(value):
                raise ValueError(value)
            return datetime.datetime.strptime(value, DATE_FORMAT).date()
        except ValueError:
            raise ValueError(f"{name} must be YYYY-MM-DD") from None

    project_id = required("project_id")
    first, last = date("start_date"), date("end_date")
    if last < first or (last - first).days > HISTORY_MAX_DAYS:
        raise ValueError("the date range is at most one month (end_date not before start_date)")
    offset = _integer(required("offset"), "offset", 0)
    limit = _integer(required("limit"), "limit (1 to 100)", *HISTORY_LIMITS)
    return project_id, first, last, offset, limit


def known_projects(pipelines, projects):
    return set(projects) | {pipeline.project_id for pipeline in pipelines.values()}


def history_reply(pipelines, projects, query, now):
    """(status, answer) of build-result: builds of the project's pipelines that started
    on a day in [start_date, end_date] (their start_time's own date), newest first.
    Builds without a start_time (not started yet) are not in any history."""
    try:
        project_id, first, last, offset, limit = parse_history_query(query)
    except ValueError as error:
        return _bad(str(error))
    if project_id not in known_projects(pipelines, projects):
        code, message = ERROR_NO_PROJECT
        return 400, {"error_code": code, "error_msg": message}
    items = []
    for pipeline_id, pipeline in pipelines.items():
        if pipeline.project_id != project_id:
            continue
        for build_id, build in pipeline.builds.items():
            item = history_item(pipeline_id, pipeline, build_id, build.document(now))
            if item is not None and first <= _start(item).date() <= last:
                items.append(item)
    items.sort(key=lambda item: (_start(item), _number(item["build_id"])), reverse=True)
    return 200, {"offset": offset, "limit": limit, "total": len(items),
                 "build_results": items[offset:offset + limit]}


def history_item(pipeline_id, pipeline, build_id, document):
    """One build_results item from a build's current document, or None if it never started."""
    if not isinstance(document, dict) or parse_api_time(document.get("start_time")) is None:
        return None
    start = parse_api_time(document["start_time"])
    end = parse_api_time(document.get("end_time"))
    elapsed = document.get("elapsed_time")
    if not (isinstance(elapsed, str) and elapsed.isdigit()):
        elapsed = str(int((end - start).total_seconds() * 1000)) if end else "0"
    return {"build_id": str(build_id), "pipeline_id": pipeline_id,
            "pipeline_name": pipeline.name, "status": document.get("status"),
            "outcome": document.get("outcome"), "start_time": document["start_time"],
            "end_time": document.get("end_time"), "elapse_time": elapsed}


def parse_api_time(value):
    """A naive datetime from "YYYY-MM-DD HH:MM:SS", or None."""
    if not isinstance(value, str) or not API_TIME_PATTERN.fullmatch(value):
        return None
    try:
        return datetime.datetime.strptime(value, API_TIME)
    except ValueError:
        return None


def _start(item):
    return parse_api_time(item["start_time"])


def _number(build_id):
    return int(build_id) if build_id.isdigit() else -1


# --------------------------------------------------------------------------
# "dates_relative": true


def shift_dates(data, today=None):
    """Move every API time of the scenario's pipelines by whole days so that the newest
    build start_time falls on today (in +08:00), or yesterday when that would put a
    build's end after now; returns the number of days moved.

    Every string of the form "YYYY-MM-DD HH:MM:SS" in the pipelines (bodies,
    timeline values, create_time) moves, so a build stays consistent with its
    stages; raw builds are served as written.  Changes data in place.
    """
    now = datetime.datetime.now(SERVICE_ZONE).replace(tzinfo=None)
    today = today or now.date()
    bodies = [build["body"] for pipeline in data["pipelines"].values()
              if isinstance(pipeline, dict)
              for build in (pipeline.get("builds") or {}).values()
              if isinstance(build, dict) and isinstance(build.get("body"), dict)]
    starts = [start for start in (parse_api_time(body.get("start_time")) for body in bodies)
              if start is not None]
    if not starts:
        return 0
    ends = [end for end in (parse_api_time(body.get("end_time")) for body in bodies)
            if end is not None]
    days = (today - max(starts).date()).days
    # not into the future: a day less when the newest would end after now
    if max(starts + ends) + datetime.timedelta(days=days) > now:
        days -= 1
    data["pipelines"] = _shifted(data["pipelines"], datetime.timedelta(days=days))
    return days


def _shifted(value, delta):
    if isinstance(value, dict):
        return {key: _shifted(member, delta) for key, member in value.items()}
    if isinstance(value, list):
        return [_shifted(member, delta) for member in value]
    moment = parse_api_time(value)
    return (moment + delta).strftime(API_TIME) if moment is not None else value
