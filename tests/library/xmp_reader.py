"""An XMP reader written from the file formats' specifications, independent of the writer.

PNG chunks, JPEG APP1 segments and RIFF chunks are walked with `struct`, the packet is parsed
with ElementTree; exiftool's reading is offered beside it where exiftool is installed.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from xml.etree import ElementTree

import pytest

IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
XMP = "http://ns.adobe.com/xap/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
STUDIO = "http://ns.studio.invalid/xmp/1.0/"
CV = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = CV + "trainedAlgorithmicMedia"
COMPOSITE = CV + "compositeWithTrainedAlgorithmicMedia"
ENHANCED = CV + "algorithmicallyEnhanced"

HOSTILE_MODELS = [
    '<&"\'>',
    "]]></x:xmpmeta><evil attr='1'>",
    "&amp; &#0; &lt;",
    "Модель-ß «日本語» 模型 ✓ 🧪",
    "two\nlines\tand a\rreturn",
    "  padded  ",
]


# --- an independent reader ---------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, each CRC checked."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC on {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
        if kind == b"IEND":
            break
    assert chunks[-1][0] == b"IEND"
    return chunks


def png_xmp_packets(data: bytes) -> list[bytes]:
    """The XMP iTXt packets; the XMP spec wants them uncompressed and before IDAT."""
    chunks = png_chunks(data)
    first_idat = next(i for i, (kind, _) in enumerate(chunks) if kind == b"IDAT")
    packets = []
    for index, (kind, body) in enumerate(chunks):
        if kind != b"iTXt":
            continue
        keyword, rest = body.split(b"\x00", 1)
        if keyword != b"XML:com.adobe.xmp":
            continue
        compressed, method = rest[0], rest[1]
        _language, _translated, text = rest[2:].split(b"\x00", 2)
        assert (compressed, method) == (0, 0), "XMP in PNG must not be compressed"
        assert index < first_idat, "the XMP chunk comes after the image data"
        packets.append(text)
    return packets


def jpeg_xmp_packets(data: bytes) -> list[bytes]:
    """The APP1 segments that hold XMP, up to the start of the scan."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    packets, offset = [], 2
    while offset < len(data):
        assert data[offset] == 0xFF, f"lost the marker chain at {offset}"
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            offset += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image
            break
        (length,) = struct.unpack(">H", data[offset + 2:offset + 4])
        body = data[offset + 4:offset + 2 + length]
        if marker == 0xE1 and body.startswith(JPEG_XMP_HEADER):
            packets.append(body[len(JPEG_XMP_HEADER):])
        offset += 2 + length
    return packets


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(fourcc, data) of every chunk, the RIFF sizes checked."""
    riff, size, webp = struct.unpack("<4sI4s", data[:12])
    assert (riff, webp) == (b"RIFF", b"WEBP"), "not a WebP"
    assert size == len(data) - 8, "the RIFF size does not match the file"
    chunks, offset = [], 12
    while offset < len(data):
        fourcc, length = struct.unpack("<4sI", data[offset:offset + 8])
        assert offset + 8 + length <= len(data), f"chunk {fourcc!r} runs past the end"
        chunks.append((fourcc, data[offset + 8:offset + 8 + length]))
        offset += 8 + length + (length & 1)  # chunks are padded to an even size
    assert offset == len(data)
    return chunks


def webp_xmp_packets(data: bytes) -> list[bytes]:
    """The `XMP ` chunks; VP8X must come first and announce them (flag 0x04)."""
    chunks = webp_chunks(data)
    packets = [body for fourcc, body in chunks if fourcc == b"XMP "]
    if packets:
        assert chunks[0][0] == b"VP8X", "metadata needs the extended (VP8X) format"
        assert chunks[0][1][0] & 0x04, "VP8X does not announce the XMP chunk"
    return packets


def xmp_packets(data: bytes) -> list[bytes]:
    if data.startswith(PNG_SIGNATURE):
        return png_xmp_packets(data)
    if data.startswith(b"\xff\xd8"):
        return jpeg_xmp_packets(data)
    if data.startswith(b"RIFF"):
        return webp_xmp_packets(data)
    raise AssertionError("not a PNG, JPEG or WebP")


def parse_packet(packet: bytes) -> ElementTree.Element:
    """The x:xmpmeta element of a packet, which must be a well-formed XMP packet."""
    assert packet.startswith(b'<?xpacket begin="\xef\xbb\xbf"'), packet[:60]
    assert packet.rstrip(b"\x00 \r\n\t").endswith(b"<?xpacket end=\"w\"?>")
    root = ElementTree.fromstring(packet)
    assert root.tag == "{adobe:ns:meta/}xmpmeta"
    assert root.find(f"{{{RDF}}}RDF/{{{RDF}}}Description") is not None
    return root


def xmp_property(root: ElementTree.Element, namespace: str, name: str) -> str | None:
    """A simple property, written as an attribute or as an element of rdf:Description."""
    tag = f"{{{namespace}}}{name}"
    for description in root.iter(f"{{{RDF}}}Description"):
        if tag in description.attrib:
            return description.attrib[tag]
        element = description.find(tag)
        if element is not None:
            return element.text or ""
    return None


def packet_disclosure(packet: bytes) -> dict[str, str | None]:
    """The properties Studio writes, as a well-formed packet carries them."""
    root = parse_packet(packet)
    return {
        "DigitalSourceType": xmp_property(root, IPTC_EXT, "DigitalSourceType"),
        "AISystemUsed": xmp_property(root, IPTC_EXT, "AISystemUsed"),
        "CreatorTool": xmp_property(root, XMP, "CreatorTool"),
        "Backend": xmp_property(root, STUDIO, "Backend"),
        "ProductPixelsFrom": xmp_property(root, STUDIO, "ProductPixelsFrom"),
    }


def read_disclosure(data: bytes) -> dict[str, str | None]:
    """The one XMP packet of an image file (PNG, JPEG or WebP), as Studio's properties."""
    packets = xmp_packets(data)
    assert len(packets) == 1, f"{len(packets)} XMP packets"
    return packet_disclosure(packets[0])


def exiftool_xmp(path: Path) -> dict[str, object]:
    """exiftool's reading of the XMP (raw values, -n), its group as the key prefix."""
    exiftool = shutil.which("exiftool")
    assert exiftool is not None
    out = subprocess.run([exiftool, "-j", "-n", "-G1", "-XMP:all", str(path)],
                         capture_output=True, check=True, text=True, encoding="utf-8").stdout
    return json.loads(out)[0]


needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None,
    reason="exiftool is not installed; the packet is checked by the reader in this file")
