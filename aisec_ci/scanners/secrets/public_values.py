"""Credentials that are public by design: emulator keys and documented samples.

Anyone can read them in the vendor's documentation, so finding one is not a
leak to revoke; it is reported at info so that a deployment that kept the
default is still visible. The long keys are listed by SHA-256 so that this file
does not itself look like it holds them to other secret scanners.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from aisec_ci.scanners.secrets.detector import Verdict
from aisec_ci.severity import Severity

PUBLIC = "public"
"""`properties.validation` of a finding whose value is a published credential."""
PUBLIC_VERDICT = Verdict(Severity.INFO, PUBLIC)

# Keys carry the `sha256:` prefix a digest is written with, so the lines read as digests.
_BY_SHA256 = {
    # Azurite / Azure Storage Emulator account key of `devstoreaccount1`.
    "sha256:0011cc25eb4320717494d2703e8cba85743e71b500283c21c8b88147992f9059": "Azurite storage emulator key",
    # AWS documentation example access key ids and secret keys (the `…EXAMPLE` ones).
    "sha256:1a5d44a2dca19669d72edf4c4f1c27c4c1ca4b4408fbb17f6ce4ad452d78ddb3": "AWS documentation example key",
    "sha256:78314b11be2e581549ac1c4f616563fad3fdf0c3b71678f6e2299182080e0598": "AWS documentation example key",
    "sha256:c6ea27c534f993d31f0aef882e3d200e7b87470c379ae79c8f9b19d3bd363dc9": "AWS documentation example key",
    "sha256:e21b597ba6b9cafa59d9ebc4d65c0385f5eb3fa56abab2607fa76589ad849a33": "AWS documentation example key",
}
_BY_VALUE = {
    "minioadmin": "MinIO default root credential",
    "minio123": "Kubeflow sample MinIO credential",
    "prom-operator": "kube-prometheus-stack default Grafana password",
}
_TRAILING_COMMENT_RE = re.compile(r"\s+#.*$")
_BASE64_RE = re.compile(r"^[A-Za-z0-9+/]{8,64}={0,2}$")


def public_credential(secret: str) -> str | None:
    """What the published credential is, or None for any other value."""
    value = _TRAILING_COMMENT_RE.sub("", secret).strip("'\"` ")
    known = _BY_VALUE.get(value) or _BY_VALUE.get(_decoded(value))
    if known is not None:
        return known
    if len(value) < 20:
        return None
    return _BY_SHA256.get("sha256:" + hashlib.sha256(value.encode()).hexdigest())


def _decoded(value: str) -> str:
    """A short base64 value as text (Kubernetes Secret `data:` holds `minio123` as `bWluaW8xMjM=`)."""
    if len(value) % 4 or not _BASE64_RE.match(value):
        return ""
    try:
        return base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return ""
