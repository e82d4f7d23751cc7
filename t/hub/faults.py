"""Faults injected by the tests: what a fault is (make_fault checks the body
of POST /_control/fault), which request takes it (take_fault: first match,
consumed when its count runs out) and the answers of the faults that
replace the answer (status, ratelimit). The faults that act on the
connection while the answer is sent (reset, truncate, corrupt, slow, hang,
close) are applied by hub_http. "delay" answers as usual after delay_ms;
"status" waits delay_ms too, when it has one. The list lives in the App
(app.faults).
"""

import re

from messages import Resp
from ratelimit import DEFAULT_QUOTA, DEFAULT_RATELIMIT_RESET, rate_bucket, too_many

FAULT_KINDS = {"status", "ratelimit", "reset", "truncate", "corrupt", "slow", "hang",
               "close", "delay"}


class BadFault(Exception):
    """A fault description that is refused (the control endpoint's 400)."""


def make_fault(data):
    """The fault of a POST /_control/fault body (raises BadFault)."""
    kind = data.get("kind")
    if kind not in FAULT_KINDS:
        raise BadFault("kind must be one of %s" % sorted(FAULT_KINDS))
    server = data.get("server") or "any"
    if server not in ("hub", "cdn", "any"):
        raise BadFault("server must be hub, cdn or any")
    try:
        rx = re.compile(data.get("match") or "")
    except re.error as e:
        raise BadFault("bad regex: %s" % e)
    f = dict(data)
    if kind == "ratelimit":
        if data.get("bucket") not in (None,) + tuple(DEFAULT_QUOTA):
            raise BadFault("bucket must be one of %s" % sorted(DEFAULT_QUOTA))
        try:
            f["reset"] = int(data.get("reset", DEFAULT_RATELIMIT_RESET))
            if data.get("retry_after") is not None:
                f["retry_after"] = int(data["retry_after"])
        except (TypeError, ValueError):
            raise BadFault("reset and retry_after must be integers")
    f.update({"server": server, "re": rx, "kind": kind,
              "count": int(data.get("count", 1))})
    return f


def take_fault(app, server, method, raw):
    """First matching fault (consumed when its count runs out), or None."""
    with app.lock:
        for f in app.faults:
            if f["server"] not in ("any", server):
                continue
            if f.get("method") and f["method"].upper() != method:
                continue
            if not f["re"].search(raw):
                continue
            if f["count"] > 0:
                f["count"] -= 1
                if f["count"] == 0:
                    app.faults.remove(f)
            return f
    return None


def fault_answer(app, fault, path):
    """The answer of a status or ratelimit fault (instead of routing)."""
    if fault["kind"] == "status":
        return Resp(int(fault.get("code", 503)), list((fault.get("headers") or {}).items()))
    bucket = fault.get("bucket") or rate_bucket(path)
    return too_many(app, bucket, fault["reset"], fault.get("retry_after"))
