#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1 for cairn's S3 tests.

    faultproxy.py --upstream 127.0.0.1:PORT --port-file F --plan-file P [--log L]

Listens on a free port of 127.0.0.1 (written to --port-file once ready)
and relays every request to the upstream server, except those the plan
picks for a fault.  The plan file is re-read whenever it changes, so a
test can switch faults on and off while the proxy runs.  It holds rules,
separated by commas or newlines, first match wins:

    every=N:KIND    requests number N, 2N, 3N, ... (counted from 1 since
                    the plan last changed)
    at=N:KIND       request number N alone (counted the same way)
    after=N:KIND    every request after the Nth (an outage)
    match=TEXT:KIND requests whose request line contains TEXT
    KIND alone      every request

KIND is one of
    500 | 503 | 429     reply with that status and an S3 <Error> body
    slowdown            503 with the S3 code SlowDown
    reset               read the request, then reset the connection
    reset-upload        reset halfway through reading the request body
    reset-mid           relay the request, send half of the reply, reset
    stall               read the request, then send nothing (until the
                        client gives up and closes)
    ignore-range        a GET gets 200 with 1 GiB of zeros, whatever Range
                        asked for, delimited by closing the connection (a
                        server that ignores ranges, or never stops sending);
                        other methods are relayed

A rule "huge=TEXT" (no KIND) makes every object whose key contains TEXT
look 1 GiB large (of zeros): a HEAD or GET of it is answered as such (a
Range honoured), and ListObjectsV2 replies give it that size.

Every request is logged as "N METHOD TARGET -> KIND" (or "-> STATUS").
Nothing here needs anything beyond the Python standard library.
"""
import argparse
import os
import re
import socket
import socketserver
import struct
import sys
import threading
import time

lock = threading.Lock()
state = {"n": 0, "plan": [], "huge": [], "mtime": None}
HUGE = 1 << 30
args = None
logf = None

ERROR_CODES = {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests"}
REASONS = {500: "Internal Server Error", 503: "Service Unavailable", 429: "Too Many Requests"}


def load_plan():
    try:
        st = os.stat(args.plan_file)
    except FileNotFoundError:
        if state["mtime"] is not None:
            state["n"] = 0
        state["plan"], state["huge"], state["mtime"] = [], [], None
        return
    if (st.st_ino, st.st_mtime_ns) == state["mtime"]:
        return
    with open(args.plan_file) as f:
        text = f.read()
    rules, huge = [], []
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith("huge="):
            huge.append(item[5:].encode())
        elif item.startswith(("every=", "at=", "after=", "match=")):
            how, rest = item.split("=", 1)
            arg, kind = rest.rsplit(":", 1)
            rules.append((how, arg if how == "match" else int(arg), kind))
        else:
            rules.append(("all", 0, item))
    # Counting starts again with every new plan.
    state["plan"], state["huge"], state["mtime"], state["n"] = rules, huge, (st.st_ino, st.st_mtime_ns), 0


def pick(n, line):
    for how, arg, kind in state["plan"]:
        if how == "all" or (how == "every" and n % arg == 0) or (how == "at" and n == arg) \
                or (how == "after" and n > arg) or (how == "match" and arg in line):
            return kind
    return None


def log(msg):
    with lock:
        logf.write(msg + "\n")
        logf.flush()


def reset(sock):
    # SO_LINGER 0: close() sends RST instead of FIN.
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class Conn:
    """A socket with a read buffer."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise EOFError
        self.buf += data

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise EOFError
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"


def headers_of(head):
    lines = head.decode("latin-1").split("\r\n")
    h = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            h[k.strip().lower()] = v.strip()
    return lines[0], h


def drop_expect(head):
    # The body is read before relaying, so no "100 Continue" is wanted.
    lines = head.split(b"\r\n")
    return b"\r\n".join(l for l in lines if not l.lower().startswith(b"expect:"))


def error_reply(status, code):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
            "<Message>injected by faultproxy</Message></Error>" % code).encode()
    return ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
            "Connection: keep-alive\r\n\r\n" % (status, REASONS[status], len(body))).encode() + body


def relay_response(up, client, method, half):
    """Relays one response from up to client; with half, resets midway."""
    while True:
        head = up.read_head()
        status_line, h = headers_of(head)
        status = int(status_line.split()[1])
        if status >= 200 or status == 101:
            break
        client.sendall(head)  # an interim 1xx
    no_body = method == "HEAD" or status in (204, 304)
    if half:
        client.sendall(head)
        if not no_body and "content-length" in h:
            n = int(h["content-length"])
            client.sendall(up.read_exact(n // 2))
        return status, "reset-mid"
    client.sendall(head)
    if no_body:
        return status, None
    if h.get("transfer-encoding", "").lower() == "chunked":
        while True:
            line = up.read_line()
            client.sendall(line)
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:
                    t = up.read_line()
                    client.sendall(t)
                    if t == b"\r\n":
                        break
                break
            client.sendall(up.read_exact(size + 2))
    elif "content-length" in h:
        left = int(h["content-length"])
        while left > 0:
            chunk = up.read_exact(min(left, 262144))
            client.sendall(chunk)
            left -= len(chunk)
    else:
        # Delimited by close.
        while True:
            try:
                up.fill()
            except EOFError:
                break
            client.sendall(up.buf)
            up.buf = b""
        return status, "close"
    return status, None


def send_zeros(sock, n):
    block = bytes(262144)
    while n > 0:
        k = min(n, len(block))
        sock.sendall(block[:k])
        n -= k


def serve_huge(sock, method, h, honour_range):
    """Answers as if the object were HUGE bytes of zeros."""
    first, last = 0, HUGE - 1
    rng = h.get("range", "") if honour_range else ""
    if rng.startswith("bytes="):
        a, _, b = rng[6:].partition("-")
        first = int(a)
        last = min(int(b), HUGE - 1) if b else HUGE - 1
    status = "206 Partial Content" if rng else "200 OK"
    head = "HTTP/1.1 %s\r\nContent-Type: application/octet-stream\r\nETag: \"huge\"\r\n" % status
    if rng:
        head += "Content-Range: bytes %d-%d/%d\r\n" % (first, last, HUGE)
    if honour_range:
        head += "Content-Length: %d\r\n\r\n" % (last - first + 1)
    else:
        head += "Connection: close\r\n\r\n"
    sock.sendall(head.encode())
    if method != "HEAD":
        send_zeros(sock, last - first + 1)


def read_body(up, h):
    if h.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(up.read_line().split(b";")[0].strip(), 16)
            if size == 0:
                while up.read_line() != b"\r\n":
                    pass
                return body
            body += up.read_exact(size)
            up.read_exact(2)
    return up.read_exact(int(h.get("content-length", "0")))


def relay_listing(up, client, huge):
    """Relays a ListObjectsV2 reply, the keys containing a huge TEXT 1 GiB large."""
    head = up.read_head()
    status_line, h = headers_of(head)
    body = read_body(up, h)

    def grow(m):
        block = m.group(0)
        key = re.search(rb"<Key>([^<]*)</Key>", block)
        if key and any(t in key.group(1) for t in huge):
            block = re.sub(rb"<Size>\d+</Size>", b"<Size>%d</Size>" % HUGE, block)
        return block
    body = re.sub(rb"<Contents>.*?</Contents>", grow, body, flags=re.S)
    lines = [l for l in head.split(b"\r\n")[1:] if l and not l.lower().startswith((b"content-length:", b"transfer-encoding:"))]
    client.sendall(b"\r\n".join([status_line.encode("latin-1")] + lines) +
                   b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    return int(status_line.split()[1])


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = Conn(self.request)
        up = None
        try:
            while True:
                try:
                    head = client.read_head()
                except (EOFError, OSError):
                    return
                line, h = headers_of(head)
                method = line.split()[0]
                length = int(h.get("content-length", "0"))
                with lock:
                    load_plan()
                    state["n"] += 1
                    n = state["n"]
                    kind = pick(n, line)
                    huge = list(state["huge"])
                if kind == "reset-upload" and length > 1:
                    client.read_exact(length // 2)
                    log("%d %s -> reset-upload" % (n, line))
                    reset(self.request)
                    return
                body = client.read_exact(length) if length else b""
                if kind in ("500", "503", "429", "slowdown"):
                    status = 503 if kind == "slowdown" else int(kind)
                    code = "SlowDown" if kind == "slowdown" else ERROR_CODES[status]
                    self.request.sendall(error_reply(status, code))
                    log("%d %s -> %s" % (n, line, kind))
                    continue
                path = line.split()[1].split("?")[0].encode()
                if kind == "ignore-range" and method == "GET":
                    log("%d %s -> ignore-range" % (n, line))
                    serve_huge(self.request, method, h, False)
                    return
                if method in ("GET", "HEAD") and any(t in path for t in huge):
                    log("%d %s -> huge" % (n, line))
                    serve_huge(self.request, method, h, True)
                    continue
                if kind in ("reset", "reset-upload"):
                    log("%d %s -> reset" % (n, line))
                    reset(self.request)
                    return
                if kind == "stall":
                    log("%d %s -> stall" % (n, line))
                    # Hold the connection until the client gives up.
                    self.request.settimeout(600)
                    try:
                        while self.request.recv(65536):
                            pass
                    except OSError:
                        pass
                    return
                if up is None:
                    us = socket.create_connection(args.upstream_addr)
                    us.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    up = Conn(us)
                up.sock.sendall(drop_expect(head) + body)
                if huge and method == "GET" and "list-type=2" in line:
                    status, how = relay_listing(up, self.request, huge), None
                else:
                    status, how = relay_response(up, self.request, method, kind == "reset-mid")
                log("%d %s -> %s" % (n, line, how or status))
                if how == "reset-mid":
                    reset(self.request)
                    return
                if how == "close":
                    return
        except (EOFError, OSError, ValueError, IndexError):
            return
        finally:
            if up is not None:
                up.sock.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global args, logf
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--plan-file", required=True)
    p.add_argument("--log", default="/dev/null")
    args = p.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    args.upstream_addr = (host, int(port))
    logf = open(args.log, "a")
    # Never outlive the test that started us, even if it dies without
    # stopping us.
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
