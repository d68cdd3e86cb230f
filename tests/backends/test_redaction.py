"""Secrets never survive `redact`: key ids, secret keys, session tokens, signed URLs."""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st

from backends.errors import BackendError, TransientError
from backends.redaction import REDACTED, redact

KEY_ID = re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}")
key_ids = st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(["AKIA", "ASIA"]),
                    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16,
                            max_size=24))
texts = st.lists(st.one_of(st.text(max_size=30), key_ids,
                           st.sampled_from(["AKIA", "ASIA", "=", "&", " ", '"', "Credential="])),
                 max_size=12).map("".join)


@given(texts)
def test_no_access_key_id_survives(text: str) -> None:
    assert KEY_ID.search(redact(text)) is None


@given(texts)
def test_redacting_twice_changes_nothing_more(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_text_without_secrets_is_left_alone() -> None:
    text = ("Endpoint prod-sdxl did not answer within 70 s; sha256 "
            "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea, seed 42.")
    assert redact(text) == text


def test_echoed_request_headers_lose_their_secrets() -> None:
    echoed = (
        "Bad request. Headers: {'Authorization': 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7"
        "EXAMPLE/20261202/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024', "
        "'X-Amz-Security-Token': 'AQoDYXdzEJr1K//////////wEXAMPLEtoken+abc=', "
        "'X-Amz-Date': '20261202T120000Z'}")
    redacted = redact(echoed)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "fe5f80f77d5fa3beca038a248ff027d04453",
                   "AQoDYXdzEJr1K", "EXAMPLEtoken"):
        assert secret not in redacted
    assert "X-Amz-Date': '20261202T120000Z'" in redacted and "Bad request" in redacted


def test_credentials_files_json_and_signed_urls() -> None:
    cases = {
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": "wJalrXUtnFEMI",
        "aws_session_token=IQoJb3JpZ2luX2VjEXAMPLE/xyz+1==": "IQoJb3JpZ2lu",
        '{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG", "SessionToken": "FwoGZXIvYXdzEXAMPLE"}':
            "wJalrXUtnFEMI",
        "token FwoGZXIvYXdzEBYaDHVzZXIvYXdzEXAMPLE in the log": "FwoGZXIvYXdz",
        "get https://bucket.s3.amazonaws.com/out/1.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-"
        "Credential=ASIAIOSFODNN7EXAMPLE%2F20261202&X-Amz-Signature=abcdef0123 failed":
            "ASIAIOSFODNN7EXAMPLE",
        "https://x.s3.amazonaws.com/a.png?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=zz%3D":
            "Signature=zz",
    }
    for text, secret in cases.items():
        redacted = redact(text)
        assert secret not in redacted and REDACTED in redacted, redacted
    url = redact("see https://x.s3.amazonaws.com/a.png?X-Amz-Signature=abc&y=1 now")
    assert url == f"see https://x.s3.amazonaws.com/a.png?{REDACTED} now"


def test_every_backend_error_is_redacted_when_made() -> None:
    error = TransientError("echo: X-Amz-Security-Token: s3cr3t AKIAIOSFODNN7EXAMPLE",
                           maybe_billed=True)
    assert "s3cr3t" not in str(error) and "AKIAIOSFODNN7EXAMPLE" not in str(error)
    assert error.maybe_billed and isinstance(error, BackendError)
