#!/usr/bin/env python3
"""An HTTP origin for the import tests: serves files of one folder, and misbehaves on request.

    test_origin.py FOLDER [CERT KEY]   prints "port=N" once listening on 127.0.0.1 (an ephemeral port); with a
                                       certificate and its key (PEM), over TLS

Paths:
    /files/NAME                  the file, as image/* (by extension) or application/octet-stream
    /typed/TYPE/NAME             the file with Content-Type TYPE (slashes as '~': text~html)
    /slow/SECONDS/NAME           waits SECONDS before answering
    /trickle/NAME                sends the file 64 bytes at a time, 0.5 s apart
    /flaky/TIMES/NAME            503 the first TIMES requests for this path, then the file
    /status/CODE                 that status, always
    /large/BYTES                 BYTES bytes with a truthful Content-Length
    /endless                     chunked bytes without end
    /redirect/HOPS/NAME          a chain of HOPS redirects ending at /files/NAME
    /location?to=URL             a redirect to URL
    /hang                        accepts, never answers
    /stats                       JSON: requests per path so far
"""
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FOLDER = Path(sys.argv[1])
LOCK = threading.Lock()
COUNTS = {}
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".gif": "image/gif"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_bytes(self, body, content_type, status=200):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def file(self, name):
        path = (FOLDER / name).resolve()
        if FOLDER.resolve() not in path.parents or not path.is_file():
            self.send_bytes(b"not found", "text/plain", 404)
            return None
        return path.read_bytes(), TYPES.get(path.suffix.lower(), "application/octet-stream")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        with LOCK:
            COUNTS[url.path] = COUNTS.get(url.path, 0) + 1
            count = COUNTS[url.path]
        kind = parts[0]
        if kind == "files" and len(parts) == 2:
            found = self.file(parts[1])
            if found:
                self.send_bytes(*found)
        elif kind == "typed" and len(parts) == 3:
            found = self.file(parts[2])
            if found:
                self.send_bytes(found[0], parts[1].replace("~", "/"))
        elif kind == "slow" and len(parts) == 3:
            time.sleep(float(parts[1]))
            found = self.file(parts[2])
            if found:
                self.send_bytes(*found)
        elif kind == "trickle" and len(parts) == 2:
            found = self.file(parts[1])
            if found:
                body, content_type = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for start in range(0, len(body), 64):
                        self.wfile.write(body[start:start + 64])
                        self.wfile.flush()
                        time.sleep(0.5)
                except (BrokenPipeError, ConnectionResetError):
                    pass
        elif kind == "flaky" and len(parts) == 3:
            if count <= int(parts[1]):
                self.send_bytes(b"try later", "text/plain", 503)
            else:
                found = self.file(parts[2])
                if found:
                    self.send_bytes(*found)
        elif kind == "status" and len(parts) == 2:
            self.send_bytes(b"status", "text/plain", int(parts[1]))
        elif kind == "large" and len(parts) == 2:
            size = int(parts[1])
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                chunk = b"\xff" * 65536
                sent = 0
                while sent < size:
                    self.wfile.write(chunk[: min(65536, size - sent)])
                    sent += 65536
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif kind == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                chunk = b"\xff" * 65536
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif kind == "redirect" and len(parts) == 3:
            hops = int(parts[1])
            target = f"/files/{parts[2]}" if hops <= 1 else f"/redirect/{hops - 1}/{parts[2]}"
            self.redirect(target)
        elif kind == "location":
            self.redirect(urllib.parse.parse_qs(url.query)["to"][0])
        elif kind == "hang":
            time.sleep(3600)
        elif kind == "stats":
            with LOCK:
                body = json.dumps(COUNTS).encode()
            self.send_bytes(body, "application/json")
        else:
            self.send_bytes(b"not found", "text/plain", 404)

    def redirect(self, target):
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if len(sys.argv) == 4:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(f"port={server.server_address[1]}", flush=True)
server.serve_forever()
