"""The image's health check: the HTTP app's ``/health`` answers 200 (exit 0), else exit 1."""

import os
import sys
import urllib.request

port = os.environ.get("CALLPROC_HTTP__PORT", "8080")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception as exc:  # refused, timed out, 5xx: not healthy
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
