#!/usr/bin/env python3
"""registry-fake.py DIR PORTFILE MODE [USER:PASS]

A small registry for the tests of `hull pull` that a real registry cannot
play: it serves, read-only, the image of an OCI image layout directory DIR
(index.json's first manifest, under any repository and tag) on 127.0.0.1,
on a free port written to PORTFILE, and misbehaves as MODE says:

  ok         a well-behaved registry (anonymous)
  bearer     every /v2/ request needs a Bearer token, which /token gives
             for basic auth USER:PASS (the distribution spec's token flow)
  error500   manifests answer 500 with a registry error body
  truncate   blobs are cut off halfway and the connection closed
  baddigest  blobs are served with one byte changed
  oversize   blobs are followed by 8 MiB more than their descriptors say
"""
import base64
import hashlib
import http.server
import json
import os
import socketserver
import sys

root, portfile, mode = sys.argv[1], sys.argv[2], sys.argv[3]
creds = sys.argv[4] if len(sys.argv) > 4 else "user:pass"
with open(os.path.join(root, "index.json")) as f:
    index = json.load(f)
manifest_digest = index["manifests"][0]["digest"]


def blob(digest):
    algo, hexd = digest.split(":", 1)
    path = os.path.join(root, "blobs", algo, hexd)
    with open(path, "rb") as f:
        return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def authorized(self):
        if mode != "bearer":
            return True
        if self.headers.get("Authorization") == "Bearer good-token":
            return True
        port = self.server.server_address[1]
        self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]}', {
            "WWW-Authenticate": 'Bearer realm="http://127.0.0.1:%d/token",service="fake",'
                                'scope="repository:x:pull"' % port,
            "Content-Type": "application/json"})
        return False

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/token":
            want = "Basic " + base64.b64encode(creds.encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.send(401, b'{"details":"bad credentials"}')
            return self.send(200, b'{"token":"good-token"}', {"Content-Type": "application/json"})
        if not self.authorized():
            return
        if path == "/v2/":
            return self.send(200, b"{}")
        parts = path.split("/")
        if len(parts) >= 5 and parts[-2] == "manifests":
            if mode == "error500":
                return self.send(500, b'{"errors":[{"code":"UNKNOWN","message":"storage on fire"}]}')
            body = blob(manifest_digest)
            return self.send(200, body, {
                "Content-Type": json.loads(body).get(
                    "mediaType", "application/vnd.oci.image.manifest.v1+json"),
                "Docker-Content-Digest": manifest_digest})
        if len(parts) >= 5 and parts[-2] == "blobs":
            try:
                body = blob(parts[-1])
            except OSError:
                return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"no such blob"}]}')
            if mode == "oversize" and len(body) > 100:
                body = body + b"\0" * (8 << 20)
            if mode == "baddigest" and len(body) > 100:
                body = body[:50] + bytes([body[50] ^ 1]) + body[51:]
            if mode == "truncate" and len(body) > 100:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            return self.send(200, body, {"Content-Type": "application/octet-stream",
                                         "Docker-Content-Digest": parts[-1]})
        self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"unknown"}]}')

    do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
