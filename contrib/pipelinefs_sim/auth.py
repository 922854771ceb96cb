"""Who may call the simulated API: IAM tokens, AK/SK signatures, the IAM token call.

The real gateway (APIG) refuses a request with 401 and
{"error_code": "APIG.0301", "error_msg": "Incorrect IAM authentication
information: <why>"}; IAM refuses a password with 401 and
{"error": {"code": 401, "message": ..., "title": "Unauthorized"}}.  This module
decides, the script answers.

Times: whether an X-Sdk-Date is too far off is judged against the simulator's
wall clock, real UTC plus clock_offset (the Date response header follows the
same clock).  Key locks and IAM token lifetimes run on real monotonic time,
whatever clock_offset says, so tests set them short instead of moving a clock.

Thread safety: one AuthState is shared by every request thread; its lock
guards all of its mutable state.
"""

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import parse_qsl, quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNRESERVED = "-_.~"               # left as is by the signer's percent-encoding

FAILURES_BEFORE_LOCK = 5
DEFAULTS = {"lock_seconds": 300.0, "iam_token_seconds": 86400.0, "clock_offset": 0.0,
            "max_skew": 900.0}

UNAUTHORIZED_CODE = "APIG.0301"
WHY_PREFIX = "Incorrect IAM authentication information: "
WHY_SIGNATURE = WHY_PREFIX + "verify aksk signature fail"
WHY_SKEW = (WHY_PREFIX + "the request time is out of range (X-Sdk-Date more than 15 minutes "
            "from the server's time)")
WHY_LOCKED = WHY_PREFIX + "the access key is locked"
WHY_UNKNOWN_KEY = WHY_PREFIX + "unknown access key"
WHY_SECURITY_TOKEN = WHY_PREFIX + "the security token is missing, wrong or not signed"
WHY_TOKEN_EXPIRED = WHY_PREFIX + "the token has expired"

IAM_PATH = "/v3/auth/tokens"
IAM_WRONG_PASSWORD = {"error": {"code": 401, "message": "The username or password is wrong.",
                                "title": "Unauthorized"}}

AUTHORIZATION = re.compile(
    r"SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)\s*")


# --------------------------------------------------------------------------
# The signing algorithm (API notes, section 4)


def canonical_uri(path):
    """URL-decoded path, each segment percent-encoded again, always ending in '/'."""
    segments = [quote(unquote(segment), safe=UNRESERVED) for segment in path.split("/")]
    uri = "/".join(segments)
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query):
    """Pairs sorted by key (then value), both percent-encoded, joined with '&'."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{quote(key, safe=UNRESERVED)}={quote(value, safe=UNRESERVED)}"
                    for key, value in pairs)


def canonical_request(method, path, query, headers, signed_names, body):
    """The text whose hash is signed.  headers maps lowercase names to values."""
    names = sorted(signed_names)
    header_lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in names)
    return "\n".join([method, canonical_uri(path), canonical_query(query), header_lines,
                      ";".join(names), hashlib.sha256(body).hexdigest()])


def string_to_sign(canonical, sdk_date):
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key, text):
    """Hex HMAC-SHA256 of text with the SK's bytes as the key."""
    return hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(access_key, secret_key, method, path, query, headers, body, signed_names=None):
    """The Authorization value for a request (the SDK's choice of headers by default:
    every one but Content-Type and names with '_').  headers: lowercase name -> value."""
    if signed_names is None:
        signed_names = [name for name in headers if name != "content-type" and "_" not in name]
    canonical = canonical_request(method, path, query, headers, signed_names, body)
    hexsig = signature(secret_key, string_to_sign(canonical, headers["x-sdk-date"]))
    return (f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(sorted(signed_names))}, "
            f"Signature={hexsig}")


# --------------------------------------------------------------------------
# Verdicts


@dataclass
class Presented:
    """What credentials a request carries, read from its headers alone (for the log)."""

    kind: Optional[str]               # "token", "iam-token", "aksk" or None
    access_key: Optional[str] = None
    security_token_sent: bool = False


@dataclass
class Request:
    """The parts of a received request that authentication looks at."""

    method: str
    path: str                         # as received, still percent-encoded
    query: str
    headers: object                   # http.client.HTTPMessage (case-insensitive)
    body: bytes


def _lower_headers(message):
    """First value of each header, by lowercase name, as the signer saw them."""
    headers = {}
    for name, value in message.items():
        headers.setdefault(name.lower(), value)
    return headers


class AuthState:
    """Accepted credentials, IAM users and tokens, failure counts and locks, settings."""

    def __init__(self):
        self.lock = threading.Lock()
        self.settings = dict(DEFAULTS)
        self.credentials = None           # list set by /_sim/auth, else the scenario's
        self.iam_users = None
        self.failures = {}                # AK -> failures in a row
        self.locked_until = {}            # AK -> time.monotonic() when the lock ends
        self.iam_tokens = {}              # token -> (time.monotonic() expiry, user)

    # Settings (POST /_sim/auth) --------------------------------------------

    def configure(self, payload):
        """Apply a POST /_sim/auth body; raises ValueError saying what is wrong."""
        numbers = {}
        for key in DEFAULTS:
            if key in payload:
                value = payload[key]
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise ValueError(f"{key} must be a number")
                if key != "clock_offset" and value < 0:
                    raise ValueError(f"{key} must not be negative")
                numbers[key] = float(value)
        credentials = _checked_list(payload, "credentials", ("ak", "sk"), ("security_token",))
        users = _checked_list(payload, "iam_users", ("domain", "name", "password"), ())
        unknown = set(payload) - set(DEFAULTS) - {"credentials", "iam_users", "reset_locks",
                                                  "revoke_iam_tokens"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        with self.lock:
            self.settings.update(numbers)
            if credentials is not None:
                self.credentials = credentials
            if users is not None:
                self.iam_users = users
            if payload.get("reset_locks"):
                self.failures.clear()
                self.locked_until.clear()
            if payload.get("revoke_iam_tokens"):       # IAM may revoke a token early
                self.iam_tokens = {token: (0.0, user)
                                   for token, (_, user) in self.iam_tokens.items()}

    def describe(self):
        """GET /_sim/auth: settings, and which keys are locked or failing (no secrets)."""
        now = time.monotonic()
        with self.lock:
            return {**self.settings,
                    "locked": sorted(ak for ak, until in self.locked_until.items() if until > now),
                    "failures": dict(self.failures),
                    "iam_tokens_valid": sum(1 for expiry, _ in self.iam_tokens.values()
                                            if expiry > now)}

    def wall_now(self):
        """The simulator's wall clock: real Unix time plus clock_offset."""
        return time.time() + self.settings["clock_offset"]

    # Checking a request ----------------------------------------------------

    @staticmethod
    def presented(headers):
        """Classify the credentials a request carries; IAM tokens are told apart later."""
        sent_token = headers.get("X-Security-Token") is not None
        match = AUTHORIZATION.fullmatch(headers.get("Authorization") or "")
        if (headers.get("Authorization") or "").startswith(ALGORITHM):
            return Presented("aksk", match.group(1) if match else None, sent_token)
        if headers.get("X-Auth-Token") is not None:
            return Presented("token", None, sent_token)
        return Presented(None, None, sent_token)

    def check(self, request, presented, scenario, fixed_token_ok):
        """None if the request may pass, else the 401 error_msg.

        presented.kind becomes "iam-token" when the token is one IAM issued.
        scenario supplies the credentials unless /_sim/auth set them.
        """
        if presented.kind == "aksk":
            return self._check_signature(request, presented, scenario)
        if presented.kind == "token":
            token = request.headers.get("X-Auth-Token")
            with self.lock:
                issued = self.iam_tokens.get(token)
            if issued is not None:
                presented.kind = "iam-token"
                return None if issued[0] > time.monotonic() else WHY_TOKEN_EXPIRED
            return None if fixed_token_ok(token) else WHY_SIGNATURE
        return WHY_SIGNATURE

    def _check_signature(self, request, presented, scenario):
        match = AUTHORIZATION.fullmatch(request.headers.get("Authorization"))
        if match is None:
            return WHY_SIGNATURE
        access_key, signed, claimed = match.groups()
        credential = self._credential(access_key, scenario)
        if credential is None:
            return WHY_UNKNOWN_KEY
        if self._locked(access_key):
            return WHY_LOCKED
        headers = _lower_headers(request.headers)
        sdk_date = headers.get("x-sdk-date", "").strip()
        try:
            sent_at = datetime.strptime(sdk_date, SDK_DATE_FORMAT).replace(
                tzinfo=timezone.utc).timestamp()
        except ValueError:
            return self._failed(access_key, WHY_SIGNATURE)
        if abs(sent_at - self.wall_now()) > self.settings["max_skew"]:
            return WHY_SKEW
        names = signed.lower().split(";")
        if "host" not in names or "x-sdk-date" not in names:
            return self._failed(access_key, WHY_SIGNATURE)
        expected_token = credential.get("security_token")
        if expected_token is not None and (
                "x-security-token" not in names
                or not hmac.compare_digest(headers.get("x-security-token", "").strip().encode(),
                                           expected_token.encode())):
            return self._failed(access_key, WHY_SECURITY_TOKEN)
        canonical = canonical_request(request.method, request.path, request.query, headers,
                                      names, request.body)
        expected = signature(credential["sk"], string_to_sign(canonical, sdk_date))
        if not hmac.compare_digest(expected, claimed.lower()):
            return self._failed(access_key, WHY_SIGNATURE)
        with self.lock:
            self.failures.pop(access_key, None)
        return None

    def _credential(self, access_key, scenario):
        with self.lock:
            credentials = self.credentials
        if credentials is None:
            credentials = scenario.credentials
        return next((entry for entry in credentials if entry["ak"] == access_key), None)

    def _locked(self, access_key):
        """Is the key locked now?  An expired lock is lifted, its count reset."""
        now = time.monotonic()
        with self.lock:
            until = self.locked_until.get(access_key)
            if until is None:
                return False
            if until > now:
                return True
            del self.locked_until[access_key]
            self.failures.pop(access_key, None)
            return False

    def _failed(self, access_key, why):
        """Count a bad signature; the fifth in a row locks the key for lock_seconds."""
        with self.lock:
            count = self.failures.get(access_key, 0) + 1
            self.failures[access_key] = count
            if count >= FAILURES_BEFORE_LOCK:
                self.locked_until[access_key] = time.monotonic() + self.settings["lock_seconds"]
        return why

    # The IAM token call ----------------------------------------------------

    def issue_token(self, body, scenario):
        """POST /v3/auth/tokens: (status, JSON value, X-Subject-Token or None)."""
        user = _password_identity(body)
        if user is None:
            return 400, {"error": {"code": 400, "message": "The request body is invalid.",
                                  "title": "Bad Request"}}, None
        with self.lock:
            users = self.iam_users
        if users is None:
            users = scenario.iam_users
        known = next((entry for entry in users
                      if entry["name"] == user["name"] and entry["domain"] == user["domain"]
                      and hmac.compare_digest(entry["password"].encode(),
                                              user["password"].encode())), None)
        if known is None:
            return 401, IAM_WRONG_PASSWORD, None
        token = "MII" + secrets.token_urlsafe(48)
        lifetime = self.settings["iam_token_seconds"]
        with self.lock:
            self.iam_tokens[token] = (time.monotonic() + lifetime, known["name"])
        issued = self.wall_now()
        return 201, {"token": {
            "expires_at": _iso(issued + lifetime), "issued_at": _iso(issued),
            "methods": ["password"],
            "user": {"name": known["name"], "id": _id_of("user", known["name"]),
                     "domain": {"name": known["domain"], "id": _id_of("domain", known["domain"])},
                     "password_expires_at": ""}}}, token


def _checked_list(payload, key, required, optional):
    """A list of objects with string members required (+ optional), or None if absent."""
    if key not in payload:
        return None
    entries = payload[key]
    if not isinstance(entries, list):
        raise ValueError(f"{key} must be a list")
    for entry in entries:
        if (not isinstance(entry, dict)
                or any(not isinstance(entry.get(name), str) for name in required)
                or any(not isinstance(entry.get(name, ""), str) for name in optional)):
            raise ValueError(f"each of {key} must be an object with string "
                             f"{', '.join(required + optional)}")
    return [dict(entry) for entry in entries]


def check_credentials(data, where):
    """The scenario's "credentials" and "iam_users" lists; raises ValueError."""
    lists = {}
    for key, required, optional in (("credentials", ("ak", "sk"), ("security_token",)),
                                    ("iam_users", ("domain", "name", "password"), ())):
        try:
            lists[key] = _checked_list(data, key, required, optional) or []
        except ValueError as error:
            raise ValueError(f"{where}{error}") from error
    return lists["credentials"], lists["iam_users"]


def _password_identity(body):
    """{"name", "password", "domain"} from an IAM password-auth body, or None."""
    try:
        identity = json.loads(body)["auth"]["identity"]
        user = identity["password"]["user"]
        fields = {"name": user["name"], "password": user["password"],
                  "domain": user["domain"]["name"]}
    except (ValueError, KeyError, TypeError):
        return None
    if "password" not in (identity.get("methods") or []):
        return None
    return fields if all(isinstance(value, str) for value in fields.values()) else None


def _iso(epoch):
    """IAM's times: ISO 8601 UTC with microseconds, e.g. 2026-11-29T01:00:00.000000Z."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _id_of(kind, name):
    """A stable 32-hex id for a user or domain name."""
    return hashlib.md5(f"{kind}:{name}".encode("utf-8")).hexdigest()
