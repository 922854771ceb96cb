"""tests/prometheus_text.py, the reader the mount tests hold .pipelinefs/metrics
to: it accepts the format's own example and what stats.c writes, and raises
on each way a text can be malformed. No mount: the unit-test binary
test_stats prints stats.c's text (--print-metrics)."""

import math
import pathlib
import subprocess

import pytest

from conftest import BIN
from prometheus_text import PIPELINEFS_FAMILIES, FormatError, parse

# The example of the format's documentation, less its untyped and
# timestamp-only oddities, plus a summary and a histogram.
GOOD = r'''# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
# HELP msdos_file_access_time_seconds Access time, a \\ and a \n in help.
# TYPE msdos_file_access_time_seconds gauge
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
# HELP metric_without_labels_total Minimalistic line.
# TYPE metric_without_labels_total counter
metric_without_labels_total 12.47
# HELP something_weird A weird metric.
# TYPE something_weird gauge
something_weird{problem="division by zero"} +Inf -3982045
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
'''



def test_the_formats_example_parses():
    families = parse(GOOD)
    assert list(families)[0] == "http_requests_total"
    assert families["http_requests_total"].value(method="post", code="400") == 3
    assert families["http_requests_total"].samples[0].timestamp == 1395066363000
    access = families["msdos_file_access_time_seconds"]
    assert access.help == "Access time, a \\ and a \n in help."
    assert access.samples[0].labels == {"path": "C:\\DIR\\FILE.TXT",
                                        "error": 'Cannot find file:\n"FILE.TXT"'}
    assert families["something_weird"].value(problem="division by zero") == math.inf
    assert families["rpc_duration_seconds"].value("rpc_duration_seconds_count") == 2693
    assert parse("") == {}


HEAD = "# HELP a_total A.\n# TYPE a_total counter\n"
MALFORMED = {
    "no line feed at the end": HEAD + "a_total 1",
    "carriage return": HEAD + "a_total 1\r\n",
    "no HELP": "# TYPE a_total counter\na_total 1\n",
    "no TYPE": "# HELP a_total A.\na_total 1\n",
    "HELP without samples or TYPE": "# HELP b B.\n",
    "TYPE after samples": "# HELP a_total A.\na_total 1\n# TYPE a_total counter\n",
    "second TYPE": HEAD + "# TYPE a_total counter\na_total 1\n",
    "unknown type": "# HELP a A.\n# TYPE a meter\na 1\n",
    "counter without _total": "# HELP a A.\n# TYPE a counter\na 1\n",
    "negative counter": HEAD + "a_total -1\n",
    "value not a number": HEAD + "a_total one\n",
    "value missing": HEAD + "a_total\n",
    "hex value": HEAD + "a_total 0x1\n",
    "timestamp not an integer": HEAD + "a_total 1 1.5\n",
    "text after the sample": HEAD + "a_total 1 2 3\n",
    "bad metric name": HEAD + "a-total 1\n",
    "bad label name": HEAD + 'a_total{1x="y"} 1\n',
    "reserved label name": HEAD + 'a_total{__name__="y"} 1\n',
    "unquoted label value": HEAD + "a_total{x=y} 1\n",
    "unterminated label value": HEAD + 'a_total{x="y} 1\n',
    "bad escape in a label value": HEAD + 'a_total{x="\\t"} 1\n',
    "bad escape in HELP": '# HELP a_total A \\" B.\n# TYPE a_total counter\na_total 1\n',
    "label twice": HEAD + 'a_total{x="1",x="2"} 1\n',
    "missing comma": HEAD + 'a_total{x="1" y="2"} 1\n',
    "unclosed labels": HEAD + 'a_total{x="1" 1\n',
    "series twice": HEAD + 'a_total{x="1"} 1\na_total{x="1"} 2\n',
    "family interrupted": HEAD + "a_total 1\n# HELP b B.\n# TYPE b gauge\nb 1\n"
                          'a_total{x="1"} 1\n',
    "sample of an unknown family": HEAD + "a_total 1\nb 1\n",
    "summary quantile missing": "# HELP s S.\n# TYPE s summary\ns 1\n",
    "quantile on a summary's count": '# HELP s S.\n# TYPE s summary\ns_count{quantile="1"} 1\n',
    "bucket without le": "# HELP h H.\n# TYPE h histogram\nh_bucket 1\nh_count 1\n",
    "+Inf bucket unlike count": '# HELP h H.\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\n'
                                "h_count 1\n",
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_text_raises(text):
    with pytest.raises(FormatError):
        parse(text)


def stats_binary():
    """The unit-test binary next to the daemon's build: build/tests/unit/test_stats."""
    path = pathlib.Path(BIN).resolve().parent.parent / "tests" / "unit" / "test_stats"
    if not path.exists():
        pytest.skip(f"{path} is not built")
    return path


def test_stats_c_writes_what_the_reader_accepts():
    text = subprocess.run([stats_binary(), "--print-metrics"], check=True,
                          capture_output=True, text=True, timeout=30).stdout
    families = parse(text)
    for name, kind in PIPELINEFS_FAMILIES.items():
        assert families[name].type == kind, name
    requests = families["pipelinefs_requests_total"]
    assert requests.value(result="ok", status="200") == 1
    assert requests.value(result="timeout", status="") == 1
    duration = families["pipelinefs_request_duration_seconds"]
    assert duration.value("pipelinefs_request_duration_seconds_sum") == 0.75
    assert families["pipelinefs_up"].value() == 1
    assert families["pipelinefs_cached_bytes"].value() == 12345
