"""Content Credentials on batch exports: each file signed with the user's certificate, checked.

With a certificate and key (Settings → Content Credentials, or `studio batch --c2pa-cert
--c2pa-key`), every exported file is signed after it is encoded and before it is checked and
written, so the preset checks and the product-pixel check measure the file as delivered. The
signed file is read back with c2pa-python's Reader; the `c2pa` rule fails if the manifest
does not verify. The manifest's `c2pa` column says `signed` or `unsigned` per image.

Exports only, not the library's PNGs: the library is the working copy (re-read, re-exported,
edited), while an export is what is published, which is where a signed claim is useful; and
the key is read only by a batch the user started with signing on.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.batch.checks import RuleResult
from studio.library.c2pa_signing import C2paCredentials, signature_problems
from studio.library.xmp import Disclosure
from studio.settings.values import ContentCredentialsSettings

C2PA_RULE = "c2pa"
SIGNED, UNSIGNED = "signed", "unsigned"


def load_credentials(section: ContentCredentialsSettings) -> C2paCredentials | None:
    """The credentials the settings name, proved by a trial signature (C2paSigningError, an
    InvalidRequest, says what is wrong); None when signing is off."""
    if not section.cert_path.strip() and not section.key_path.strip():
        return None
    if not section.enabled:
        from studio.library.c2pa_signing import C2paSigningError

        missing = "certificate" if not section.cert_path.strip() else "private key"
        raise C2paSigningError(f"Content Credentials need both a certificate and a private key; "
                               f"the {missing} is missing (--c2pa-cert and --c2pa-key, or "
                               "Settings → Library & costs → Content Credentials).")
    return C2paCredentials.from_files(Path(section.cert_path).expanduser(),
                                      Path(section.key_path).expanduser())


def sign_export(credentials: C2paCredentials, data: bytes, image_format: str,
                disclosure: Disclosure, title: str) -> tuple[bytes, RuleResult]:
    """`data` signed, and the `c2pa` rule: does the signed file's manifest verify?"""
    signed = credentials.sign(data, image_format, disclosure, title)
    problems = signature_problems(signed, image_format)
    if problems:
        return signed, RuleResult(C2PA_RULE, False, "signed, but the manifest does not verify: "
                                                    + ", ".join(problems))
    return signed, RuleResult(C2PA_RULE, True, "signed; the C2PA manifest verifies "
                                               "(signer not in a public trust list)")


def c2pa_fields(checks: str) -> dict[str, str]:
    """manifest's `c2pa` column from an item's stored checks JSON: `signed` when the export
    was signed, else `unsigned`."""
    try:
        entries = json.loads(checks) if checks else []
    except ValueError:
        entries = []
    signed = any(isinstance(entry, dict) and entry.get("rule") == C2PA_RULE
                 for entry in entries if isinstance(entries, list))
    return {"c2pa": SIGNED if signed else UNSIGNED}
