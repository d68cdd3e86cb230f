"""Content Credentials (C2PA): a signed manifest in an image, with the user's own certificate.

The XMP disclosure (`xmp.py`) says *that* an image was made by generative AI; a C2PA manifest
says it too (`c2pa.created` with the same IPTC digital source type) and signs it, so a viewer
can tell who vouches for it and that the pixels have not changed since. Signing is opt-in and
always uses the user's certificate chain and private key (PEM files): Studio ships no key and
never signs with one of its own, because a credential anyone can use proves nothing.

c2pa-python (the Content Authenticity Initiative's bindings of c2pa-rs) does the work; it is
imported only when a signer is built.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from backends.errors import InvalidRequest
from studio import __version__
from studio.library.xmp import DIGITAL_SOURCE_TYPE_CV, Disclosure

MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_MAX_PEM_BYTES = 1 << 20
# The one validation status a valid manifest signed by the user's own CA still gets.
UNTRUSTED_ONLY = ("signingCredential.untrusted",)


class C2paSigningError(InvalidRequest):
    """The certificate or key cannot sign, said in a sentence the user can act on."""


@dataclass(frozen=True)
class C2paCredentials:
    """The user's certificate chain (leaf first) and private key, and the algorithm they use."""

    cert_chain: bytes
    private_key: bytes
    algorithm: str

    @classmethod
    def from_files(cls, cert_path: Path, key_path: Path) -> C2paCredentials:
        """Read both PEM files and prove they sign, before any image is made."""
        cert_chain = _read_pem(cert_path, "certificate")
        private_key = _read_pem(key_path, "private key")
        credentials = cls(cert_chain, private_key, _algorithm(private_key, key_path))
        credentials.sign(_probe_png(), "png", Disclosure(model="", backend=""))
        return credentials

    def sign(self, data: bytes, image_format: str, disclosure: Disclosure,
             title: str = "image") -> bytes:
        """`data` (an encoded PNG, JPEG or WebP) with a signed manifest embedded."""
        import c2pa

        mime = MIME_TYPES.get(image_format)
        if mime is None:
            raise C2paSigningError(f"C2PA signing supports {', '.join(MIME_TYPES)}, "
                                   f"not {image_format!r}.")
        info = c2pa.C2paSignerInfo(alg=self.algorithm.encode(), sign_cert=self.cert_chain,
                                   private_key=self.private_key, ta_url=None)
        out = io.BytesIO()
        try:
            # No claim thumbnail: the signed file is the image itself, and c2pa's default one
            # adds 250-400 KB to every 2048² export.
            settings = c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}})
            with c2pa.Signer.from_info(info) as signer, c2pa.Context(settings) as context, \
                    c2pa.Builder(json.dumps(manifest_definition(disclosure, title)),
                                 context) as builder:
                builder.sign(signer, mime, io.BytesIO(data), out)
        except c2pa.C2paError as exc:
            raise C2paSigningError(f"C2PA signing failed: {_first_line(exc)}. Check that the "
                                   "certificate chain (leaf first) matches the private key, is "
                                   "within its validity dates and allows digital signatures."
                                   ) from None
        return out.getvalue()


def signature_problems(data: bytes, image_format: str) -> list[str]:
    """What c2pa-python's Reader finds wrong with the manifest in `data` (empty: it verifies).

    An untrusted signer is not a problem here: a user's own CA is in no trust list this
    machine has, and the manifest is still intact and bound to the pixels."""
    import c2pa

    mime = MIME_TYPES.get(image_format)
    if mime is None:
        return [f"C2PA is not read from {image_format!r} files"]
    try:
        with c2pa.Reader(mime, io.BytesIO(data)) as reader:
            store = json.loads(reader.json())
    except (c2pa.C2paError, ValueError) as exc:
        return [f"no readable C2PA manifest ({_first_line(exc)})"]
    return [str(status.get("code", status)) for status in store.get("validation_status", [])
            if status.get("code") not in UNTRUSTED_ONLY]


def manifest_definition(disclosure: Disclosure, title: str) -> dict[str, Any]:
    """The manifest: Studio as the generator, and one `c2pa.created` action saying the image
    was made by a trained model (or composited with a photograph), with the model used."""
    action: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": DIGITAL_SOURCE_TYPE_CV + disclosure.source_type,
        "softwareAgent": {"name": "Studio", "version": __version__},
    }
    if disclosure.model:
        action["parameters"] = {"model": disclosure.model, "backend": disclosure.backend}
    return {
        "claim_generator_info": [{"name": "Studio", "version": __version__}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }


def _read_pem(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()[:_MAX_PEM_BYTES + 1]
    except OSError as exc:
        raise C2paSigningError(f"Cannot read the C2PA {what} {path}: "
                               f"{exc.strerror or exc}.") from None
    if len(data) > _MAX_PEM_BYTES or b"-----BEGIN " not in data:
        raise C2paSigningError(f"{path.name} is not a PEM {what} (expected a text file "
                               "starting with -----BEGIN …).")
    return data


def _algorithm(private_key: bytes, key_path: Path) -> str:
    """The C2PA signing algorithm the key's type calls for."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(private_key, password=None)
    except (ValueError, TypeError) as exc:
        raise C2paSigningError(f"{key_path.name} is not an unencrypted PEM private key "
                               f"({_first_line(exc)}).") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
    raise C2paSigningError(f"{key_path.name}: C2PA signs with EC P-256/P-384/P-521, Ed25519 "
                           "or RSA keys.")


def _probe_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
