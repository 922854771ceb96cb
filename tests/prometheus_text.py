"""A strict reader of the Prometheus text exposition format, version 0.0.4.

For tests that read .pipelinefs/metrics: parse(text) returns the metric
families, in order, or raises FormatError naming the line and what is wrong
with it. Strict means: what the format forbids raises, and so do the
conventions every exporter is held to (promtool's lint) that pipelinefs
keeps:
  - every family has exactly one # HELP and one # TYPE line, both before its
    first sample; a family's lines are contiguous;
  - a counter's name ends in _total, and its values are >= 0;
  - no series (name and label set) appears twice; no label name twice in
    one sample; no label name begins with "__";
  - a summary's samples are NAME{quantile="q"}, NAME_sum and NAME_count
    (quantiles optional); a histogram's NAME_bucket{le="..."}, NAME_sum,
    NAME_count, with a +Inf bucket equal to the count;
  - the text is empty or ends with a line feed; no carriage return.
Escapes: label values \\ \" \n, HELP text \\ \n; any other backslash
sequence raises. Values are Go floats (1, -2.5, 1e-3, NaN, +Inf, -Inf);
an optional timestamp is an integer of milliseconds.

Format: https://prometheus.io/docs/instrumenting/exposition_formats/
"""

import dataclasses
import math
import re

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
SPECIAL_FLOATS = {"NaN": math.nan, "+Inf": math.inf, "-Inf": math.inf * -1, "Inf": math.inf}
TIMESTAMP = re.compile(r"[+-]?[0-9]+")
TYPES = ("counter", "gauge", "summary", "histogram", "untyped")
BLANKS = " \t"

# The families the spec of issue 7 promises in .pipelinefs/metrics.
PIPELINEFS_FAMILIES = {
    "pipelinefs_requests_total": "counter",
    "pipelinefs_request_duration_seconds": "summary",
    "pipelinefs_received_bytes_total": "counter",
    "pipelinefs_cache_hits_total": "counter",
    "pipelinefs_cache_misses_total": "counter",
    "pipelinefs_cached_builds": "gauge",
    "pipelinefs_cached_bytes": "gauge",
    "pipelinefs_cache_evictions_total": "counter",
    "pipelinefs_requests_in_flight": "gauge",
    "pipelinefs_waiters": "gauge",
    "pipelinefs_kernel_notifications_total": "counter",
    "pipelinefs_up": "gauge",
}


# sample name suffixes each type allows, and the label each needs (or forbids)
SUFFIXES = {
    "counter": ("",),
    "gauge": ("",),
    "untyped": ("",),
    "summary": ("", "_sum", "_count"),
    "histogram": ("_bucket", "_sum", "_count"),
}


class FormatError(ValueError):
    """The text is not valid exposition format: .line is the 1-based line."""

    def __init__(self, line, message):
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclasses.dataclass
class Sample:
    name: str
    labels: dict
    value: float
    timestamp: int = None


@dataclasses.dataclass
class Family:
    name: str
    help: str = None
    type: str = None
    samples: list = dataclasses.field(default_factory=list)

    def value(self, name=None, **labels):
        """The value of the one sample named name (default: the family's)
        whose labels are exactly labels; KeyError if there is none."""
        name = name or self.name
        for sample in self.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
        raise KeyError(f"{name}{labels}")


class _Line:
    """A cursor over one line: the pieces of the grammar, each raising on
    what it does not accept."""

    def __init__(self, number, text):
        self.number, self.text, self.pos = number, text, 0

    def fail(self, message):
        raise FormatError(self.number, f"{message}: {self.text!r}")

    def at_end(self):
        return self.pos >= len(self.text)

    def peek(self):
        return self.text[self.pos] if not self.at_end() else ""

    def skip_blanks(self, required=False):
        start = self.pos
        while self.peek() and self.peek() in BLANKS:
            self.pos += 1
        if required and self.pos == start and not self.at_end():
            self.fail(f"a blank expected at column {self.pos + 1}")

    def expect(self, char):
        if self.peek() != char:
            self.fail(f"{char!r} expected at column {self.pos + 1}")
        self.pos += 1

    def match(self, pattern, what):
        m = pattern.match(self.text, self.pos)
        if not m:
            self.fail(f"{what} expected at column {self.pos + 1}")
        self.pos = m.end()
        return m.group(0)

    def token(self):
        """Up to the next blank or the end."""
        start = self.pos
        while self.peek() and self.peek() not in BLANKS:
            self.pos += 1
        return self.text[start:self.pos]

    def rest(self):
        text, self.pos = self.text[self.pos:], len(self.text)
        return text

    def escaped(self, escapes, stop):
        """Characters up to @stop (exclusive; "" for the end), with the
        backslash escapes in the dict @escapes undone."""
        out = []
        while True:
            char = self.peek()
            if char == "" or char == stop:
                if char != stop:
                    self.fail("unterminated quoted value")
                return "".join(out)
            self.pos += 1
            if char == "\\":
                code = self.peek()
                if code not in escapes:
                    self.fail(f"invalid escape \\{code} at column {self.pos}")
                self.pos += 1
                char = escapes[code]
            out.append(char)


def _float(line, text, what):
    if text in SPECIAL_FLOATS:
        return SPECIAL_FLOATS[text]
    if not FLOAT.fullmatch(text):
        line.fail(f"{what} {text!r} is not a number")
    return float(text)


def _labels(line):
    labels = {}
    line.expect("{")
    line.skip_blanks()
    while line.peek() != "}":
        name = line.match(LABEL_NAME, "a label name")
        if name.startswith("__"):
            line.fail(f"label name {name!r} is reserved")
        if name in labels:
            line.fail(f"label {name!r} twice")
        line.skip_blanks()
        line.expect("=")
        line.skip_blanks()
        line.expect('"')
        labels[name] = line.escaped({"\\": "\\", '"': '"', "n": "\n"}, '"')
        line.expect('"')
        line.skip_blanks()
        if line.peek() == ",":
            line.pos += 1
            line.skip_blanks()
        elif line.peek() != "}":
            line.fail(f"',' or '}}' expected at column {line.pos + 1}")
    line.expect("}")
    return labels


def _sample(line):
    name = line.match(METRIC_NAME, "a metric name")
    labels = _labels(line) if line.peek() == "{" else {}
    line.skip_blanks(required=True)
    value = _float(line, line.token(), "value")
    line.skip_blanks()
    timestamp = None
    if not line.at_end():
        text = line.token()
        if not TIMESTAMP.fullmatch(text):
            line.fail(f"timestamp {text!r} is not an integer")
        timestamp = int(text)
        line.skip_blanks()
    if not line.at_end():
        line.fail("text after the sample")
    return Sample(name, labels, value, timestamp)


class _Reader:
    def __init__(self):
        self.families = {}
        self.current = None     # the family whose lines are being read
        self.series = set()

    def family(self, line, name):
        """The family @name, begun here if new; its lines must not be
        interrupted by another family's."""
        family = self.families.get(name)
        if family is None:
            family = self.families[name] = Family(name)
        elif family is not self.current:
            line.fail(f"family {name} continues after another family's lines")
        self.current = family
        return family

    def comment(self, line):
        line.expect("#")
        line.skip_blanks()
        keyword = line.token()
        if keyword not in ("HELP", "TYPE"):
            return      # an ordinary comment
        line.skip_blanks(required=True)
        name = line.match(METRIC_NAME, "a metric name")
        family = self.family(line, name)
        if family.samples:
            line.fail(f"# {keyword} for {name} after its samples")
        if keyword == "HELP":
            if family.help is not None:
                line.fail(f"second # HELP for {name}")
            if not line.at_end():
                line.skip_blanks(required=True)
            family.help = line.escaped({"\\": "\\", "n": "\n"}, "")
            return
        if family.type is not None:
            line.fail(f"second # TYPE for {name}")
        line.skip_blanks(required=True)
        kind = line.token()
        line.skip_blanks()
        if kind not in TYPES or not line.at_end():
            line.fail(f"type must be one of {', '.join(TYPES)}")
        if kind == "counter" and not name.endswith("_total"):
            line.fail(f"counter {name} does not end in _total")
        family.type = kind

    def owner(self, line, sample):
        """The family @sample belongs to, by its name and the types' suffixes."""
        for family in (self.current, *self.families.values()):
            if family is None or family.type is None:
                continue
            for suffix in SUFFIXES[family.type]:
                if sample.name == family.name + suffix:
                    return self.family(line, family.name), suffix
        line.fail(f"sample {sample.name} has no # TYPE (and # HELP) before it")

    def sample(self, line):
        sample = _sample(line)
        family, suffix = self.owner(line, sample)
        if family.help is None:
            line.fail(f"family {family.name} has no # HELP before its samples")
        key = (sample.name, tuple(sorted(sample.labels.items())))
        if key in self.series:
            line.fail(f"series {sample.name}{sample.labels} twice")
        self.series.add(key)
        _check_type(line, family, suffix, sample)
        family.samples.append(sample)


def _check_type(line, family, suffix, sample):
    if family.type == "counter" and not sample.value >= 0:
        line.fail(f"counter {sample.name} is {sample.value}")
    special = {"summary": "quantile", "histogram": "le"}.get(family.type)
    if special is None:
        return
    needs = (family.type == "summary" and suffix == "") or suffix == "_bucket"
    if needs != (special in sample.labels):
        line.fail(f"{sample.name}: label {special} {'missing' if needs else 'not allowed'}")
    if needs:
        _float(line, sample.labels[special], special)


def _check_histograms(families):
    for family in families.values():
        if family.type != "histogram":
            continue
        counts = {}
        for sample in family.samples:
            if sample.name.endswith("_count"):
                counts[tuple(sorted(sample.labels.items()))] = sample.value
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels["le"] == "+Inf":
                rest = dict(sample.labels)
                del rest["le"]
                if counts.get(tuple(sorted(rest.items()))) != sample.value:
                    raise FormatError(0, f"{family.name}: +Inf bucket differs from _count")


def parse(text):
    """The families of @text (a str), by name in the order they come, or
    FormatError."""
    if "\r" in text:
        raise FormatError(text[:text.index("\r")].count("\n") + 1, "carriage return")
    if text and not text.endswith("\n"):
        raise FormatError(text.count("\n") + 1, "the text does not end with a line feed")
    reader = _Reader()
    for number, raw in enumerate(text.split("\n")[:-1], 1):
        line = _Line(number, raw)
        line.skip_blanks()
        if line.at_end():
            continue    # empty lines are ignored
        if line.peek() == "#":
            reader.comment(line)
        else:
            reader.sample(line)
    for family in reader.families.values():
        if family.type is None or family.help is None:
            raise FormatError(0, f"family {family.name} lacks # HELP or # TYPE")
    _check_histograms(reader.families)
    return reader.families
