"""The parts of pipelinefs-sim that grew too big for one script.

contrib/pipelinefs-sim stays the command; it imports these modules from
next to itself.  They know nothing of HTTP serving: each takes what a request
carried and returns (status, JSON value) or a verdict, which the script turns
into an answer.

  auth     AK/SK signature verification (SDK-HMAC-SHA256), key locks, the
           IAM token call, and the settings of POST /_sim/auth
  catalog  the v3 pipeline list and build-result (run history) calls, and
           the scenario's "dates_relative" shift
  v5       the v5 calls (run detail, runs list, pipeline list, step logs)
           and GET /v4/projects, derived from the same scenarios
"""
