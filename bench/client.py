#!/usr/bin/env python3
"""A small HTTP/1.1 client for the benchmarks (Python standard library).

    client.py [--clients N] [--range bytes=a-b] [--method GET] [--hash]
              [--follow] [--repeat K] [--rss PID] [--timeout S] URL [URL...]

N clients (threads) per URL connect first, wait on a barrier, then send
their request at the same instant, so "ttfb" (time to the first body
byte) and "time" (to the last byte) are measured from one common start.
Bodies are read with recv_into() into a 1 MiB buffer and dropped
(optionally sha256-hashed).  --follow follows one redirect (the
Hub's 302 to its CDN), timed from the first request.  --repeat K: each
client makes K requests one after the other ("time" and "bytes" are
totals, "ttfb" is the first one's).  With --rss PID, VmRSS of PID is sampled
every 20 ms while the clients run.  Prints one JSON object.  (The fan-in
of 32 clients is bench/fanin.c: Python threads share one interpreter
lock, and a thread busy hashing its body delayed the others' first byte.)
"""

import argparse
import hashlib
import json
import socket
import sys
import threading
import time
import urllib.parse


def vmrss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def connect(url, method, extra, timeout):
    u = urllib.parse.urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    s = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
    req = ("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: hf-bench\r\n%s"
           "Connection: close\r\n\r\n" % (method, path, u.netloc, extra))
    return s, req.encode()


def read_head(s, view):
    """(status, headers dict, body bytes already read)"""
    head = b""
    while b"\r\n\r\n" not in head:
        n = s.recv_into(view)
        if n == 0:
            raise EOFError("connection closed in the header")
        head += bytes(view[:n])
    head, _, body = head.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body


def fetch(url, a, extra, barrier, t0, out):
    res = {"url": url, "status": None, "ttfb": None, "time": None,
           "bytes": 0, "error": None}
    try:
        view = memoryview(bytearray(1 << 20))
        for k in range(a.repeat):
            s, req = connect(url, a.method, extra, a.timeout)
            if k == 0:
                barrier.wait(a.timeout)
                start = t0[0]
            s.sendall(req)
            status, headers, body = read_head(s, view)
            if a.follow and 300 <= status < 400 and "location" in headers:
                s.close()
                s, req = connect(urllib.parse.urljoin(url, headers["location"]),
                                 a.method, extra, a.timeout)
                s.sendall(req)
                status, headers, body = read_head(s, view)
            res["status"] = status
            length = (0 if a.method == "HEAD"
                      else int(headers.get("content-length", -1)))
            h = hashlib.sha256() if a.hash else None
            got = len(body)
            if got and res["ttfb"] is None:
                res["ttfb"] = time.monotonic() - start
            if h:
                h.update(body)
            while length < 0 or got < length:
                n = s.recv_into(view)
                if n == 0:
                    break
                if res["ttfb"] is None:
                    res["ttfb"] = time.monotonic() - start
                got += n
                if h:
                    h.update(view[:n])
            s.close()
            res["bytes"] += got
            if h:
                res["sha256"] = h.hexdigest()
            if length >= 0 and got != length:
                res["error"] = "short body: %d of %d" % (got, length)
                break
        res["time"] = time.monotonic() - start
    except Exception as e:          # reported, not raised: one JSON answer
        res["error"] = "%s: %s" % (type(e).__name__, e)
        try:
            barrier.abort()
        except Exception:
            pass
    out.append(res)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("urls", nargs="+")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--method", default="GET")
    ap.add_argument("--range")
    ap.add_argument("--hash", action="store_true")
    ap.add_argument("--follow", action="store_true")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--rss", type=int)
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()

    extra = "Range: %s\r\n" % a.range if a.range else ""
    jobs = [u for u in a.urls for _ in range(a.clients)]
    t0 = [0.0]
    barrier = threading.Barrier(len(jobs) + 1)
    out = []
    threads = [threading.Thread(target=fetch, daemon=True,
                                args=(u, a, extra, barrier, t0, out)) for u in jobs]
    for t in threads:
        t.start()

    samples = []
    rss0 = vmrss_kib(a.rss) if a.rss else None
    t0[0] = time.monotonic()
    try:
        barrier.wait(a.timeout)
    except threading.BrokenBarrierError:
        pass
    deadline = time.monotonic() + a.timeout
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        if a.rss:
            samples.append(vmrss_kib(a.rss))
        time.sleep(0.02)
    for t in threads:
        t.join(0.1)

    result = {"clients": sorted(out, key=lambda r: r["ttfb"] or 1e9),
              "wall": time.monotonic() - t0[0]}
    if a.rss:
        samples = [x for x in samples if x is not None]
        result["rss_before_kib"] = rss0
        result["rss_max_kib"] = max(samples) if samples else None
        result["rss_after_kib"] = vmrss_kib(a.rss)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
