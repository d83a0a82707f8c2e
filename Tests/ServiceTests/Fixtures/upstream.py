#!/usr/bin/env python3
"""A stand-in for an existing classifier behind VAEGuard's purifying proxy (tests only).

POST /classify -> 200 JSON describing what arrived (content type, byte count, PNG/JPEG magic)
POST /fail     -> 500 with Retry-After: 3
POST /busy     -> 429 with Retry-After: 7
POST /slow     -> sleeps 5 s, then 200 (timeout tests)
Binds 127.0.0.1 on a free port and writes the port to the file given as argv[1].
"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/fail":
            self.send_response(500); self.send_header("Retry-After", "3"); self.end_headers(); self.wfile.write(b"boom"); return
        if self.path == "/busy":
            self.send_response(429); self.send_header("Retry-After", "7"); self.send_header("Content-Length", "4")
            self.end_headers(); self.wfile.write(b"busy"); return
        if self.path == "/slow":
            time.sleep(5)
        kind = "png" if body.startswith(b"\x89PNG") else "jpeg" if body.startswith(b"\xff\xd8") else "multipart" if b"Content-Disposition" in body[:200] else "other"
        reply = json.dumps({"label": "cat", "bytes": len(body), "kind": kind,
                            "content_type": self.headers.get("Content-Type", ""),
                            "request_id": self.headers.get("X-Request-Id", ""),
                            "user_agent": self.headers.get("User-Agent", "")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
