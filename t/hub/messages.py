"""HTTP messages as the routes see them, apart from the wire: the Request
they read (and reading its values), the Resp they return, and the shapes
every route shares (JSON answers, the Hub's error shape, single ranges,
If-None-Match, Content-Type and Content-Disposition of files).
Sending a Resp is hub_http's job.
"""

import json
import re
import urllib.parse

from content import BytesSource


class Request:
    """A request as read by hub_http: method, raw target (path?query),
    headers (an email.message.Message: case-insensitive) and body bytes."""

    def __init__(self, method, raw, headers, body):
        self.method, self.raw, self.headers, self.body = method, raw, headers, body


class Resp:
    """Status, headers, and a body: bytes, or src[start:end] streamed."""

    def __init__(self, status, headers=(), body=b"", src=None, start=0, end=None):
        self.status = status
        self.headers = list(headers)
        if src is None:
            src = BytesSource(body)
        self.src, self.start = src, start
        self.end = src.size if end is None else end


def json_resp(obj, status=200, headers=(), ctype="application/json", compact=False):
    body = json.dumps(obj, separators=(",", ":") if compact else None).encode()
    return Resp(status, [("Content-Type", ctype)] + list(headers), body)


def error_resp(status, code, message, headers=()):
    """The Hub's error shape: X-Error-Code (if any), X-Error-Message, and a
    compact JSON body {"error":"<message>"}."""
    h = [("X-Error-Message", message)]
    if code:
        h.insert(0, ("X-Error-Code", code))
    return json_resp({"error": message}, status, h + list(headers), compact=True)


def text_resp(status, text):
    return Resp(status, [("Content-Type", "text/plain; charset=utf-8")], text.encode())


def not_found():
    return json_resp({"error": "Not Found"}, 404)


def truthy(value):
    """A boolean query/body value: true, 1, yes, on (the last of a list)."""
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


def content_type(path):
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if ext == "json":
        return "application/json"
    if ext in ("txt", "md", "py"):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def content_disposition(name):
    """inline; filename*=UTF-8''<quoted>; filename="<ascii>"; (the Hub's shape)."""
    ascii_name = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in name)
    return "inline; filename*=UTF-8''%s; filename=\"%s\";" % (
        urllib.parse.quote(name, safe=""), ascii_name)


def etag_matches(header, tag):
    """Does an If-None-Match value (list, quoted or W/ tags, or *) match tag?"""
    if header is None:
        return False
    for t in header.split(","):
        t = t.strip()
        if t == "*":
            return True
        if t.startswith("W/"):
            t = t[2:]
        if t.strip('"') == tag:
            return True
    return False


def parse_range(value, size):
    """One "bytes=" range -> (start, end) half-open, "unsat", or None (ignore).

    Several ranges or a malformed header are ignored (full 200 answer).
    """
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value or "")
    if not m or m.group(1) == m.group(2) == "":
        return None
    first, last = m.groups()
    if first == "":
        n = int(last)
        if n == 0 or size == 0:
            return "unsat"
        return (max(0, size - n), size)
    first = int(first)
    if last != "" and int(last) < first:
        return None
    if first >= size:
        return "unsat"
    end = size if last == "" else min(int(last) + 1, size)
    return (first, end)


def ranged(req, headers, src):
    """200 with the whole content, or 206 / 416 for a single Range."""
    rng = parse_range(req.headers.get("Range"), src.size) if "Range" in req.headers else None
    if rng is None:
        return Resp(200, headers, src=src)
    if rng == "unsat":
        return Resp(416, headers + [("Content-Range", "bytes */%d" % src.size)])
    start, end = rng
    headers = headers + [("Content-Range", "bytes %d-%d/%d" % (start, end - 1, src.size))]
    return Resp(206, headers, src=src, start=start, end=end)
