"""C2PA signing with the user's certificate, verified by c2pa-python's own Reader.

The certificates are made here, per test session, by a throwaway test CA: Studio ships none.
"""

from __future__ import annotations

import datetime
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from studio.library.c2pa_signing import C2paCredentials, C2paSigningError
from studio.library.xmp import PNG_XMP_KEY, Disclosure
from tests.library.xmp_reader import COMPOSITE, TRAINED, png_chunks, read_disclosure

c2pa = pytest.importorskip("c2pa")


def _name(common_name: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Studio tests")])


def _key_usage(*, signer: bool) -> Any:
    from cryptography import x509

    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=not signer, crl_sign=not signer, encipher_only=False,
                         decipher_only=False)


def make_credentials(folder: Path, *, valid_days: int = 30, other_key: bool = False
                     ) -> tuple[Path, Path]:
    """A test CA and a leaf signing certificate (EC P-256), written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(days=2), now + datetime.timedelta(days=valid_days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test CA")).issuer_name(_name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(_key_usage(signer=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name("Test signer")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signer=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    cert_path, key_path = folder / "chain.pem", folder / "signer.key"
    cert_path.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    signing_key = ec.generate_private_key(ec.SECP256R1()) if other_key else key
    key_path.write_bytes(signing_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> C2paCredentials:
    return C2paCredentials.from_files(*make_credentials(tmp_path_factory.mktemp("c2pa")))


def encoded(image_format: str, disclosure: Disclosure) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (48, 32), (200, 40, 40))
    image.putpixel((3, 4), (1, 2, 3))
    if image_format == "png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt(PNG_XMP_KEY, disclosure.xmp().decode("utf-8"))
        image.save(buffer, "PNG", pnginfo=info)
    else:
        image.save(buffer, image_format.upper(), xmp=disclosure.xmp(),
                   **({"lossless": True} if image_format == "webp" else {}))
    return buffer.getvalue()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def read_manifest(data: bytes, mime: str) -> dict[str, Any]:
    with c2pa.Reader(mime, io.BytesIO(data)) as reader:
        return json.loads(reader.json())


def active(store: dict[str, Any]) -> dict[str, Any]:
    return store["manifests"][store["active_manifest"]]


def failures(store: dict[str, Any]) -> set[str]:
    """Validation codes other than the untrusted test CA (no trust list knows it)."""
    return {status["code"] for status in store.get("validation_status", [])} - {
        "signingCredential.untrusted"}


@pytest.mark.parametrize("image_format", ["png", "jpeg", "webp"])
def test_each_format_carries_a_valid_manifest_and_keeps_its_pixels_and_xmp(
        credentials: C2paCredentials, image_format: str) -> None:
    disclosure = Disclosure(model="tiny/sd", backend="local")
    data = encoded(image_format, disclosure)
    signed = credentials.sign(data, image_format, disclosure, title="SKU-1.png")

    store = read_manifest(signed, f"image/{image_format}")
    assert failures(store) == set()
    manifest = active(store)
    assert manifest["title"] == "SKU-1.png"
    assert manifest["signature_info"]["common_name"] == "Test signer"
    [action] = next(a for a in manifest["assertions"]
                    if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert action["action"] == "c2pa.created"
    assert action["digitalSourceType"] == TRAINED
    assert action["parameters"]["model"] == "tiny/sd"
    assert np.array_equal(pixels(signed), pixels(data))
    assert read_disclosure(signed)["DigitalSourceType"] == TRAINED


def test_a_composite_says_so(credentials: C2paCredentials) -> None:
    disclosure = Disclosure(model="m", backend="bedrock", composite=True)
    signed = credentials.sign(encoded("png", disclosure), "png", disclosure)
    [action] = next(a for a in active(read_manifest(signed, "image/png"))["assertions"]
                    if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert action["digitalSourceType"] == COMPOSITE


def _with_changed_pixel_data(png: bytes) -> bytes:
    out = bytearray(png[:8])
    for kind, body in png_chunks(png):
        if kind == b"IDAT":
            pixels = bytearray(zlib.decompress(body))
            pixels[-1] ^= 0xFF
            body = zlib.compress(bytes(pixels))
        out += struct.pack(">I", len(body)) + kind + body
        out += struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return bytes(out)


def test_changed_pixels_break_the_signature(credentials: C2paCredentials) -> None:
    disclosure = Disclosure(model="m", backend="local")
    signed = credentials.sign(encoded("png", disclosure), "png", disclosure)
    assert failures(read_manifest(_with_changed_pixel_data(signed), "image/png"))


def test_a_key_that_does_not_match_the_certificate_is_refused_before_any_image(
        tmp_path: Path) -> None:
    with pytest.raises(C2paSigningError, match="C2PA signing failed"):
        C2paCredentials.from_files(*make_credentials(tmp_path, other_key=True))


def test_files_that_are_not_pem_are_named(tmp_path: Path) -> None:
    cert, key = make_credentials(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"\x00\x01 not a certificate")
    with pytest.raises(C2paSigningError, match="junk.pem is not a PEM certificate"):
        C2paCredentials.from_files(junk, key)
    with pytest.raises(C2paSigningError, match="junk.pem is not a PEM private key"):
        C2paCredentials.from_files(cert, junk)
    with pytest.raises(C2paSigningError, match="Cannot read the C2PA certificate"):
        C2paCredentials.from_files(tmp_path / "missing.pem", key)
    with pytest.raises(C2paSigningError, match="not an unencrypted PEM private key"):
        C2paCredentials.from_files(cert, cert)
