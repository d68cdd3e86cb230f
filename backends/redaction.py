"""Secrets out of any text Studio stores or prints: AWS key ids, secret keys, session tokens
and signed-URL signatures.

Errors can quote what a server echoed back (some proxies and containers put the request's
headers in their error body), and those headers carry the caller's key id, session token and
signature. Every BackendError passes its message through `redact`, and the stores and the
CLI do again for anything else they keep or show.
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

# Access key ids: AKIA (long-term) and ASIA (temporary), and the other IAM unique-id prefixes
# that share the shape. No word boundary on purpose: a key id glued to other text is still one.
_KEY_ID = re.compile(r"(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA|AGPA)[A-Z0-9]{16}")
# name=value, name: value, "name": "value" for the names that hold a secret; the value ends at
# whitespace, a quote, '&' or ','. Header and query forms alike.
_NAMED = re.compile(
    r"(?P<name>aws_secret_access_key|aws_session_token|secret_?access_?key|session_?token|"
    r"security_?token|x-amz-security-token|x-amz-signature|x-amz-credential|"
    r"awsaccesskeyid|signature|credential)"
    r"(?P<sep>[\"']?\s*[=:]\s*[\"']?)(?P<value>[^\s\"'&,;<>]+)",
    re.IGNORECASE)
# STS session tokens are long base64 that start the same way whatever the account.
_TOKEN = re.compile(r"(?:FwoGZXIvYXdz|FQoGZXIvYXdz|IQoJb3JpZ2luX2|AgoJb3JpZ2luX2|AQoDYXdz)"
                    r"[A-Za-z0-9/+=%_-]*")
# The query string of a pre-signed URL (S3, SageMaker async outputs): all of it goes.
_SIGNED_QUERY = re.compile(
    r"\?(?=[^\s\"'<>]*(?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|"
    r"Signature=|AWSAccessKeyId=))[^\s\"'<>]*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every recognisable AWS secret replaced by [REDACTED]."""
    if not text:
        return text
    text = _SIGNED_QUERY.sub("?" + REDACTED, text)
    text = _NAMED.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)
    text = _TOKEN.sub(REDACTED, text)
    return _KEY_ID.sub(REDACTED, text)
