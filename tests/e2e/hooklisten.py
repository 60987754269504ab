#!/usr/bin/env python3
"""A webhook receiver for the alert tests (t41): listens on 127.0.0.1 on a
free port, writes the port to PORTFILE, and appends each request's body as
one line to OUT (the body is compact JSON).

MODE  ok      answer 200
      fail:N  answer 500 to the first N requests, then 200
      hang    read the request, never answer (until the client goes)
Every request received, answered or not, is counted in OUT.count.
PORT (an optional 4th argument): listen there instead of on a free port
(a receiver that comes up at an address a notifier already has, t47)."""
import http.server
import sys
import threading
import time

mode, portfile, out = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            seen += 1
            n = seen
            with open(out + ".count", "w") as f:
                f.write(str(n))
            with open(out + ".ctype", "w") as f:
                f.write(self.headers.get("Content-Type", ""))
        if mode == "hang":
            time.sleep(3600)
            return
        if mode.startswith("fail:") and n <= int(mode[5:]):
            self.send_response(500)
            self.end_headers()
            return
        with lock:
            with open(out, "ab") as f:
                f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[4]) if len(sys.argv) > 4 else 0), Handler)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
