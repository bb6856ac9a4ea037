"""A Google service-account JSON that parses but grants nothing, for talking to stand-ins.

pipecat's Google services insist on parsing credentials (with a project id) when they are
constructed, even when their client is then pointed at a stand-in over an insecure channel.
The key is generated once per process and never leaves it.
"""

from __future__ import annotations

import functools
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

STANDIN_PROJECT = "callproc-sandbox"


@functools.cache
def fake_service_account_json(project_id: str = STANDIN_PROJECT) -> str:
    """Service-account credentials JSON with a freshly generated RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": "0" * 40,
            "private_key": pem,
            "client_email": f"sandbox@{project_id}.iam.gserviceaccount.com",
            "client_id": "100000000000000000000",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )
