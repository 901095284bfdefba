"""A pytest plugin for the platform rehearsal (rehearse.py): while nbval runs a notebook, write one
JSON line per cell to $NB_REPORT with its outcome, seconds, the first line of an error, and any
warning the reader would see on stderr."""
import json
import os
import re

import pytest

WARNING = re.compile(r"\b\w*Warning\b")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not os.environ.get("NB_REPORT"):
        return
    outputs = getattr(item, "test_outputs", None) or []
    stderr = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr")
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"]
    failure = ""
    if report.failed:  # the kernel's error, else nbval's first two lines (e.g. "Cell 34: Cell outputs differ")
        failure = errors[0] if errors else " ".join(str(report.longrepr).strip().splitlines()[:2])
    failure = re.sub(r"\x1b\[[0-9;]*m", "", failure)
    stdout = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
    line = {"cell": item.name, "outcome": report.outcome, "stdout": stdout.strip().splitlines()[:1], "seconds": round(call.duration, 2), "error": failure,
            "warnings": [w.strip() for w in stderr.splitlines() if WARNING.search(w)]}
    with open(os.environ["NB_REPORT"], "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
