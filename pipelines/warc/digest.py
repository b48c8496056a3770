"""The labelled SHA-1 digests WARC records carry."""

from __future__ import annotations

import base64
import hashlib


def sha1_digest(*parts: bytes) -> str:
    """`sha1:<base32>`, the labelled digest form warcio, pywb and Heritrix write and check."""
    sha1 = hashlib.sha1()
    for part in parts:
        sha1.update(part)
    return "sha1:" + base64.b32encode(sha1.digest()).decode("ascii")
