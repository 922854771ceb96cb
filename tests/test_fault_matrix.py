"""Issue 6's fault matrix: every fault kind x {nothing cached, cached and stale}
x {by build id, through `latest`}.

Each case mounts pipeline A (PIPELINE_RUNNING: build 3 running and latest,
build 2 completed) with a small timeout and ttl, makes the service misbehave
for build 3 (or for A's latest call), and checks what the issue promises:

- the reader gets what spec items 5 and 6 say: ENOENT for 404 (and 400 when
  a build was named), EACCES for 401/403, else EIO with nothing cached and the
  cached copy when there is one;
- every read ends within timeout + 1 s, and the reads right after the first
  (during the backoff) too;
- the daemon stays alive, and a sibling build (A/2) and another pipeline
  (PIPELINE_SUCCESS/7) are readable meanwhile, while a hang is held.  Kinds that
  pause the whole mount (401, 429, 503 with Retry-After) and a dead
  server leave nothing but cached copies readable, so for those the siblings
  are read once before the fault and again during it;
- the service sees a bounded number of requests for the case: at most one
  per read (a read during the backoff waits for its retry when that comes
  within its timeout, so the requests are spaced by the backoff), throttling
  kinds one more for the retry a read may make within its timeout;
- once the fault is gone the copy or a fresh answer is served, and the mount
  still works.

Stale means ttl has passed since the simulator logged the caching request
(measured on its log, a lower bound), and the clock is moved on so that a
fresh answer for build 3 would say "completed", not "running".

The matrix runs as v3, and as v5 for the kinds whose handling is the
backend's (BACKEND_KINDS: the statuses that mean "no such pipeline or run",
and bodies it must parse); the others (auth, throttling, 5xx, hang, close,
a dead server) are the shared transport's and run on v3 only, which keeps
the suite's time down.  Faults name the pipeline and build, which the
simulator matches on either API's build call.
"""

import errno
import time

import pytest

from conftest import (BACKENDS, PIPELINE_ERROR, PIPELINE_RUNNING, PIPELINE_SUCCESS,
                      default_test_scenario, wait_past, wait_until)
from test_hardening import MiB, SIZE_LIMIT, Reader, attempt, completed_build, scaled

A, OTHER = PIPELINE_RUNNING, PIPELINE_SUCCESS
TIMEOUT = 2
TTL = 1
COMPLETED, RUNNING = b"completed\n", b"running\n"
COPY = "the cached copy"

FAULTS = {
    "400": {"kind": "status", "status": 400},
    "401": {"kind": "status", "status": 401},
    "403": {"kind": "status", "status": 403},
    "404": {"kind": "status", "status": 404},
    "429": {"kind": "status", "status": 429},
    "429-retry-after": {"kind": "status", "status": 429, "headers": {"Retry-After": "2"}},
    "500": {"kind": "status", "status": 500},
    "502": {"kind": "status", "status": 502},
    "503": {"kind": "status", "status": 503},
    "503-retry-after": {"kind": "status", "status": 503, "headers": {"Retry-After": "2"}},
    "hang": {"kind": "hang"},
    "close": {"kind": "close"},
    "garbage": {"kind": "garbage"},
    "truncate": {"kind": "truncate"},
    "wrong_types": {"kind": "wrong_types"},
    "html": {"kind": "html"},
    "oversize": {"kind": "oversize", "size": SIZE_LIMIT + MiB},
    "dead": None,                     # the simulator stopped: connections refused
}
PAUSING = {"401", "429", "429-retry-after", "503-retry-after", "dead"}
THROTTLING = {"429", "429-retry-after", "503-retry-after"}
REQUEST_BOUND = {kind: 4 if kind in THROTTLING else 3 for kind in FAULTS}
# seconds (scaled) a read of a sibling may take: a build of the pipeline
# whose latest call hangs waits up to the cache's patience (1 s) for that
# call, which may be bringing it, then asks for itself
SIBLING_BOUND = 1.5
BACKEND_KINDS = {"400", "404", "garbage", "truncate", "wrong_types", "html", "oversize"}
CASES = [(backend, kind) for backend in BACKENDS for kind in FAULTS
         if backend == "v3" or kind in BACKEND_KINDS]


def expected(kind, cached, via):
    """What a reader of the faulted build gets: an errno or COPY."""
    if kind == "404" or (kind == "400" and via == "id"):
        return errno.ENOENT
    if kind in ("401", "403"):
        return errno.EACCES
    return COPY if cached else errno.EIO


def acceptable(want, via):
    """The results that satisfy want.  Through `latest` only the latest call fails:
    the build itself may be refreshed by id meanwhile, so a fresh answer is as good."""
    if want != COPY:
        return {want}
    return {RUNNING} if via == "id" else {RUNNING, COMPLETED}


@pytest.fixture
def scenario():
    """The default scenario, with a completed build 2 beside A's running build 3."""
    scenario = default_test_scenario()
    builds = scenario["pipelines"][A]["builds"]
    scenario["pipelines"][A] = {"latest": "3", "builds": {"2": completed_build(A, "2"),
                                                          "3": builds["3"]}}
    return scenario


class Case:
    """One cell of the matrix, and the checks every cell makes."""

    def __init__(self, kind, cached, via, sim, mount):
        self.kind, self.cached, self.via = kind, cached, via
        self.sim, self.mount = sim, mount
        self.name = f"{kind}, {'cached and stale' if cached else 'nothing cached'}, via {via}"
        mnt = mount.mountpoint
        self.target = mnt / A / ("3" if via == "id" else "latest") / "status"
        self.build_id = "3" if via == "id" else None      # the faulted request's build_id
        self.siblings = [mnt / OTHER / "7" / "status"]
        if not (kind == "404" and via == "latest"):       # A itself is gone for that one
            self.siblings.insert(0, mnt / A / "2" / "status")
        self.want = acceptable(expected(kind, cached, via), via)
        # after a 401/403 the mount is paused, and during a pause readers of
        # cached copies get the copy: the faulted build's next readers may too
        self.want_later = set(self.want)
        if cached and kind in ("401", "403"):
            self.want_later |= acceptable(COPY, via)

    def check(self, condition, what):
        if not condition:
            pytest.fail(f"[{self.name}] {what}\n--- pipelinefs log ---\n{self.mount.log()}",
                        pytrace=False)

    def check_read(self, result, elapsed, what, want=None):
        want = self.want if want is None else want
        self.check(result in want, f"{what} got {result!r}, want one of {want}")
        self.check(elapsed <= TIMEOUT + scaled(1),
                   f"{what} took {elapsed:.2f} s, timeout is {TIMEOUT} s")

    def read_siblings(self, when):
        for path in self.siblings:
            result, elapsed = attempt(path)
            self.check(result == COMPLETED, f"{when}: {path} got {result!r}")
            self.check(elapsed <= scaled(SIBLING_BOUND),
                       f"{when}: {path} took {elapsed:.2f} s")

    def make_stale(self):
        result, _ = attempt(self.target)
        self.check(result == RUNNING, f"caching the build got {result!r}")
        cached_at = self.sim.api_requests(A)[-1]["time"]
        self.sim.advance(60)          # a fresh answer would now say "completed"
        wait_past(cached_at, TTL + 0.3, "the cached copy to go stale")

    def inject(self):
        self.sim.clear_requests()
        if self.kind == "dead":
            self.sim.stop()
        else:
            self.sim.fault(pipeline_id=A, build_id=self.build_id, **FAULTS[self.kind])

    def requests_seen(self):
        return len(self.sim.api_requests(A, self.build_id))

    def recover(self):
        if self.kind == "dead":
            self.sim.restart()
        else:
            self.sim.clear_faults()
        if self.kind == "401":
            # refused keys pause the mount 30 s; new ones end the pause
            self.sim.set_token("rotated-token")
            self.mount.token_file.write_text("rotated-token\n")


@pytest.mark.parametrize("via", ["id", "latest"])
@pytest.mark.parametrize("cached", [False, True], ids=["nothing-cached", "cached-stale"])
@pytest.mark.parametrize("backend, kind", CASES, ids=[f"{backend}-{kind}" for backend, kind in CASES])
def test_fault(backend, kind, cached, via, sim, mount_factory, tmp_path):
    mount = mount_factory(sim.url, tmp_path / "mnt",
                          {"pipelines": f"{A}:{OTHER}:{PIPELINE_ERROR}", "prefetch": 0,
                           "ttl": TTL, "timeout": TIMEOUT})
    case = Case(kind, cached, via, sim, mount)
    if kind in PAUSING:
        case.read_siblings("before the fault")
    if cached:
        case.make_stale()
    case.inject()

    reader = Reader(case.target)
    if kind == "hang":
        wait_until(case.requests_seen, timeout=5, message=f"[{case.name}] the hung request")
    case.read_siblings("during the fault")
    case.check(reader.finish(TIMEOUT + scaled(1) + scaled(10)), "the read never returned")
    case.check_read(reader.result, reader.elapsed, "the read")
    for number in (2, 3):             # during the backoff, or while the request still hangs
        case.check_read(*attempt(case.target), f"read {number}", case.want_later)
    case.check(mount.proc.poll() is None, "the daemon died")
    if kind != "dead":
        seen = case.requests_seen()
        case.check(seen <= REQUEST_BOUND[kind],
                   f"{seen} requests for 3 reads, at most {REQUEST_BOUND[kind]} allowed")

    case.recover()
    wait_until(lambda: attempt(case.target)[0] in (RUNNING, COMPLETED), timeout=10,
               message=f"[{case.name}] the copy or a fresh answer once the fault is gone")
    # a pause (401, 403, 429) may still run: then uncached reads fail until it ends
    wait_until(lambda: attempt(mount.mountpoint / PIPELINE_ERROR / "12" / "outcome")[0]
               == b"error\n", timeout=10,
               message=f"[{case.name}] an uncached build readable after the fault")
