"""A webhook receiver that checks every message with the `standardwebhooks`
package (an implementation of Standard Webhooks independent of ours).

Usage: webhook_receiver.py SECRETS_JSON LOG_NDJSON. Prints its port, then
serves on 127.0.0.1. For each request it tries every secret listed in
SECRETS_JSON (read afresh each time) on its own, logs which verified, and
answers 204 when one did, else 400.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

SECRETS, LOG = sys.argv[1], sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with open(SECRETS) as f:
            secrets = json.load(f)
        verified = []
        for i, secret in enumerate(secrets):
            try:
                Webhook(secret).verify(body, headers)
                verified.append(i)
            except Exception:
                pass
        with open(LOG, "a") as f:
            f.write(json.dumps({"id": headers.get("webhook-id"), "verified": verified}) + "\n")
        self.send_response(204 if verified else 400)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
