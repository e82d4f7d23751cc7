"""The wire: the two listeners' HTTP/1.1 plumbing. Handler reads a request
(body chunked or not), logs it (app.log), counts it (ratelimit), takes a
fault (faults), routes it (/_control/ to control, the hub port to routes,
the CDN port to cdn), adds the common hub headers, and sends the Resp:
status line, Server, Date, the answer's headers in order, Content-Length,
Connection: close when closing, the body streamed in chunks. The faults
that act on the connection are applied here, while sending (reset,
truncate, corrupt, slow, hang, close). Server: a threading server without
reverse DNS.
"""

import json
import select
import socket
import socketserver
import struct
import sys
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cdn import cdn_route
from control import control
from faults import fault_answer, take_fault
from messages import Request, json_resp
from ratelimit import count_request, too_many
from routes import hub_headers, hub_route

# Request bodies larger than this are read and thrown away (uploads).
MAX_KEPT_BODY = 16 << 20


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-hub/1"
    sys_version = ""

    def setup(self):
        super().setup()
        # Headers and small bodies are separate writes: avoid Nagle stalls.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        if self.server.app.verbose:
            sys.stderr.write("%s %s\n" % (self.server.role, fmt % args))

    def _dispatch(self):
        app, role = self.server.app, self.server.role
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        raw = self.path
        req = Request(self.command, raw, self.headers, body)
        path = raw.partition("?")[0]
        if role == "hub" and (path == "/_control" or path.startswith("/_control/")):
            # Control traffic is neither logged nor subject to faults.
            try:
                data = json.loads(body) if body and body.strip() else {}
                if not isinstance(data, dict):
                    raise ValueError("body must be a JSON object")
            except ValueError as e:
                return self._send(json_resp({"error": "bad JSON: %s" % e}, 400))
            return self._send(control(app, path[len("/_control/"):], data,
                                      raw.partition("?")[2]))
        entry = {"server": role, "method": self.command, "path": raw,
                 "auth": self.headers.get("Authorization"),
                 "range": self.headers.get("Range"), "accept": self.headers.get("Accept"),
                 "if_none_match": self.headers.get("If-None-Match"),
                 "status": None, "bytes": 0, "complete": False}
        with app.lock:
            app.log.append(entry)
        # Every hub request uses quota, whatever its answer (faults included).
        rate = count_request(app, path) if role == "hub" else None
        fault = take_fault(app, role, self.command, raw)
        kind = fault["kind"] if fault else None
        if kind == "close":
            self.close_connection = True
            return
        if kind == "hang":
            return self._hang()
        if kind in ("delay", "status"):       # the answer, late
            time.sleep(int(fault.get("delay_ms", 0)) / 1000.0)
        if kind == "delay":
            fault = None
        if kind in ("status", "ratelimit"):   # an answer instead of the route's
            resp = fault_answer(app, fault, path)
            fault = None
        elif rate is not None and rate["exceeded"]:
            resp = too_many(app, rate["bucket"], rate["reset"])
        else:
            with app.lock:
                resp = hub_route(app, req) if role == "hub" else cdn_route(app, req)
        if role == "hub":
            hub_headers(app, req, resp, rate)
        self._send(resp, entry, fault)

    def _safe_dispatch(self):
        self._headers_sent = False
        try:
            self._dispatch()
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            if not self._headers_sent:
                try:
                    self._send(json_resp({"error": "internal error in fake hub"}, 500))
                except OSError:
                    pass

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _safe_dispatch

    def _read_body(self):
        """The request body (kept up to MAX_KEPT_BODY bytes), chunked or not."""
        kept = bytearray()
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ValueError("eof in chunked body")
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass   # trailers
                    return bytes(kept)
                self._read_exact(n, kept)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0:
            raise ValueError("negative Content-Length")
        self._read_exact(n, kept)
        return bytes(kept)

    def _read_exact(self, n, kept):
        while n > 0:
            d = self.rfile.read(min(n, 1 << 20))
            if not d:
                raise ValueError("eof in body")
            n -= len(d)
            if len(kept) < MAX_KEPT_BODY:
                kept += d

    def _hang(self):
        # Never answer; wait until the client goes away.
        self.close_connection = True
        sock = self.connection
        while True:
            readable, _, _ = select.select([sock], [], [], 1.0)
            if readable:
                try:
                    if not sock.recv(65536):
                        return
                except OSError:
                    return

    def _abort(self):
        # SO_LINGER 0 + close sends a RST instead of a FIN.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()   # its reference would defer the real close
            self.connection.close()
        except OSError:
            pass

    def _send(self, resp, entry=None, fault=None):
        kind = fault["kind"] if fault else None
        body_len = resp.end - resp.start
        headers = list(resp.headers)
        if resp.status != 304:   # a 304 has no body and no Content-Length
            headers.append(("Content-Length", str(body_len)))
        if kind in ("truncate", "reset"):
            self.close_connection = True
        if self.close_connection:
            headers.append(("Connection", "close"))
        try:
            phrase = HTTPStatus(resp.status).phrase
        except ValueError:
            phrase = "Unknown"
        lines = ["HTTP/1.1 %d %s\r\n" % (resp.status, phrase),
                 "Server: %s\r\n" % self.server_version,
                 "Date: %s\r\n" % self.date_time_string()]
        lines += ["%s: %s\r\n" % (k, v) for k, v in headers]
        head = ("".join(lines) + "\r\n").encode("latin-1", "replace")
        self.log_request(resp.status, body_len)
        if entry is not None:
            entry["status"] = resp.status

        limit = 0 if self.command == "HEAD" else body_len
        if kind in ("truncate", "reset"):
            limit = min(limit, int(fault.get("after", body_len // 2)))
        chunk = 1 << 20
        delay = 0
        pause_at = None
        if kind == "slow":
            chunk = max(1, int(fault.get("chunk", 16384)))
            delay = int(fault.get("delay_ms", 100)) / 1000.0
            if fault.get("pause_at") is not None:   # one pause, there, instead
                pause_at = min(limit, max(0, int(fault["pause_at"])))
        segments = [(resp.start, resp.start + limit)]
        if pause_at is not None:
            segments = [(resp.start, resp.start + pause_at),
                        (resp.start + pause_at, resp.start + limit)]

        def pieces():
            for i, (a, b) in enumerate(segments):
                if i:
                    time.sleep(delay)
                yield from resp.src.chunks(a, b, chunk)
        corrupt_at = int(fault.get("offset", body_len // 2)) if kind == "corrupt" else -1

        written = 0
        pending = head
        self._headers_sent = True
        try:
            if limit == 0:
                if entry is not None:
                    entry["complete"] = self.command == "HEAD" or body_len == 0
                self.connection.sendall(head)
            for mv in pieces():
                if written <= corrupt_at < written + len(mv):
                    mv = bytearray(mv)
                    mv[corrupt_at - written] ^= 0xFF
                if entry is not None:
                    # Counted before the write: a client that has every byte
                    # may read the log at once, before this thread runs again.
                    entry["bytes"] = written + len(mv)
                    entry["complete"] = written + len(mv) == body_len
                if pending is not None:
                    if len(mv) <= 65536:   # one write for headers + small body
                        self.connection.sendall(pending + bytes(mv))
                    else:
                        self.connection.sendall(pending)
                        self.connection.sendall(mv)
                    pending = None
                else:
                    self.connection.sendall(mv)
                written += len(mv)
                if delay and pause_at is None and written < limit:
                    time.sleep(delay)
        except OSError:
            if entry is not None:
                entry["bytes"] = written
                entry["complete"] = False
            self.close_connection = True
            return
        if kind == "reset":
            self._abort()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind would do a reverse DNS lookup: skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        # Clients going away mid-request are expected; stay quiet about them.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)
