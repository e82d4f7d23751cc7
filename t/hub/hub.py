#!/usr/bin/env python3
"""A local fake of the Hugging Face Hub for the tests.

Specification: docs/test-hub.md (protocol background: docs/hub-protocol.md,
revision 2; the 2024 answers stay available through /_control/config).
Python 3 standard library only. Two listeners on loopback:

  hub  the API, /resolve/, /api/resolve-cache/ and the /_control/ endpoints
       used by the tests (every answer but /_control/ is rate-limited);
  cdn  signed, expiring LFS / Xet-bridge downloads (the 302 targets).

Usage: python3 t/hub/hub.py [--port P] [--cdn-port Q] [--host 127.0.0.1]
Prints "READY hub=<port> cdn=<port>" once both sockets listen.

This file is the entry point only (arguments, signals, the two listeners,
the READY line); docs/test-hub.md, "Source layout", lists which module of
this directory owns what.
"""

import argparse
import os
import signal
import sys
import threading

# The modules next to this file, whatever the working directory and however
# the script is started.
HERE = os.path.dirname(os.path.realpath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from app import App  # noqa: E402
from hub_http import Handler, Server  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="Fake Hugging Face Hub for tests")
    ap.add_argument("--port", type=int, default=0, help="hub port (0: pick a free one)")
    ap.add_argument("--cdn-port", type=int, default=0, help="CDN port (0: pick a free one)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args()

    # Block SIGTERM/SIGINT before any thread starts (threads inherit the
    # mask), then wait for them in the main thread: a Python handler would
    # not run while the main thread sleeps if a worker thread got the signal.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    app = App(args.host, args.verbose)
    servers = []
    for role, port in (("hub", args.port), ("cdn", args.cdn_port)):
        srv = Server((args.host, port), Handler)
        srv.app, srv.role = app, role
        servers.append(srv)
    app.hub_port = servers[0].server_address[1]
    app.cdn_port = servers[1].server_address[1]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("READY hub=%d cdn=%d" % (app.hub_port, app.cdn_port), flush=True)
    signal.sigwait(stop_signals)
    os._exit(0)


if __name__ == "__main__":
    main()
