"""/metrics through prometheus_client's own text parser, as a Prometheus scrape reads it."""
from prometheus_client.parser import text_string_to_metric_families


def test_metrics_parse_with_help_for_every_family(server):
    status, headers, body = server.get("/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    for f in families.values():
        assert f.documentation, f"no HELP for {f.name}"
    for name in ["process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
                 "process_start_time_seconds", "process_virtual_memory_bytes", "vaeguard_build_info"]:
        assert name.removesuffix("_total") in families, name  # the parser names counters without _total
    assert families["process_resident_memory_bytes"].samples[0].value > 1e6
    reasons = {s.labels["reason"] for s in families["vaeguard_rejected_requests"].samples}
    assert {"unauthorized", "rate_limited", "queue_full", "upstream_error"} <= reasons
    models = {s.labels["model"] for s in families["vaeguard_suspected_adversarial"].samples}
    assert {"mnist", "cifar10"} <= models
    assert "vaeguard_upstream_request_duration_seconds" in families


def test_promtool_check_metrics(server):
    """`promtool check metrics` (Debian's prometheus package), when it is on PATH or in $PROMTOOL."""
    import os
    import shutil
    import subprocess

    import pytest

    promtool = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian package prometheus)")
    body = server.get("/metrics")[2]
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result
