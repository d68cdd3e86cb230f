"""The AI disclosure in every image Studio writes: a small XMP packet.

Google Merchant Center (and the EU AI Act's labelling, Meta, Google Images …) read the IPTC
*Digital Source Type* from an image's XMP to tell that it was made by generative AI. Every
PNG the library writes and every file a marketplace preset exports carries this packet:

- `Iptc4xmpExt:DigitalSourceType`: `trainedAlgorithmicMedia` for a generation,
  `compositeWithTrainedAlgorithmicMedia` when a real product photograph's pixels were
  composited into the generated scene, or `algorithmicallyEnhanced` for a packshot, where
  nothing was generated: the photograph's product, cut out, on a preset's plain white
  (IPTC's NewsCodes, written as their full URI);
- `xmp:CreatorTool`: "Studio <version>";
- `Iptc4xmpExt:AISystemUsed` (IPTC Photo Metadata 2025.1): the model;
- `studio:Backend`: where it ran (local, sagemaker, bedrock …) — IPTC has no property for
  it (`AISystemVersionUsed` is the model's version, which Studio does not know);
- `studio:ProductPixelsFrom="photograph"` on composites.

The prompt is deliberately left out (IPTC's AIPromptInformation): it stays in the PNG's own
`parameters` and `studio` chunks, and exports that go to a marketplace do not carry it.

Embedding is the caller's: a PNG `iTXt` chunk keyed `XML:com.adobe.xmp` (uncompressed), a
JPEG APP1 segment and a WebP `XMP ` chunk (both through Pillow's `xmp=` save option).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from studio import __version__

PNG_XMP_KEY = "XML:com.adobe.xmp"

DIGITAL_SOURCE_TYPE_CV = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = "trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = "compositeWithTrainedAlgorithmicMedia"
# IPTC: "modification or correction by algorithm without changing the main content": the
# photograph's product is kept, only its background is replaced with flat white.
ALGORITHMICALLY_ENHANCED = "algorithmicallyEnhanced"
SOURCE_TYPES = (TRAINED_ALGORITHMIC_MEDIA, COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
                ALGORITHMICALLY_ENHANCED)
# Those whose product pixels come from a photograph.
_FROM_PHOTOGRAPH = (COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, ALGORITHMICALLY_ENHANCED)

NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
# Studio's own properties. Namespace URIs only name; this one need not resolve.
NS_STUDIO = "http://ns.studio.invalid/xmp/1.0/"

PRODUCT_PIXELS_FROM_PHOTOGRAPH = "photograph"

# What XML 1.0 cannot hold at all (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# In an attribute, these must be references: markup, both quotes, and the whitespace an XML
# parser would otherwise normalise to a space.
_ATTRIBUTE_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;",
                      "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
_ESCAPED = re.compile("[&<>\"'\t\n\r]")


def software_name() -> str:
    """What `xmp:CreatorTool` says: "Studio 0.1.0"."""
    return f"Studio {__version__}"


def source_type_uri(source_type: str) -> str:
    """The full NewsCodes URI of `source_type` (its term, or the URI itself)."""
    term = source_type.removeprefix(DIGITAL_SOURCE_TYPE_CV)
    if term not in SOURCE_TYPES:
        raise ValueError(f"Studio writes the digital source type {' or '.join(SOURCE_TYPES)}, "
                         f"not {source_type!r}.")
    return DIGITAL_SOURCE_TYPE_CV + term


def xml_attribute(value: str) -> str:
    """`value` as the inside of a double-quoted XML attribute, whatever it holds.

    Characters XML cannot carry become U+FFFD; everything else survives a parse unchanged.
    """
    value = _NOT_XML.sub("\ufffd", value)
    return _ESCAPED.sub(lambda match: _ATTRIBUTE_ESCAPES[match[0]], value)


def disclosure_xmp(*, source_type: str, model: str, backend: str, software: str) -> bytes:
    """A complete XMP packet (UTF-8) saying how the image was made.

    An empty `model` or `backend` is left out rather than written empty.
    """
    uri = source_type_uri(source_type)
    properties = [("xmp:CreatorTool", software), ("Iptc4xmpExt:DigitalSourceType", uri)]
    if model:
        properties.append(("Iptc4xmpExt:AISystemUsed", model))
    if backend:
        properties.append(("studio:Backend", backend))
    if uri.removeprefix(DIGITAL_SOURCE_TYPE_CV) in _FROM_PHOTOGRAPH:
        properties.append(("studio:ProductPixelsFrom", PRODUCT_PIXELS_FROM_PHOTOGRAPH))
    attributes = "".join(f'\n    {name}="{xml_attribute(value)}"' for name, value in properties)
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="{NS_X}">\n'
        f' <rdf:RDF xmlns:rdf="{NS_RDF}">\n'
        '  <rdf:Description rdf:about=""\n'
        f'    xmlns:xmp="{NS_XMP}"\n'
        f'    xmlns:Iptc4xmpExt="{NS_IPTC_EXT}"\n'
        f'    xmlns:studio="{NS_STUDIO}"'
        f"{attributes}/>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


@dataclass(frozen=True)
class Disclosure:
    """What an image says about its making: the model and backend, whether a real product
    photograph was composited into the generated scene, and whether anything was generated
    at all (a packshot: the photograph's product on plain white)."""

    model: str
    backend: str
    composite: bool = False
    software: str = field(default_factory=software_name)
    generated: bool = True

    @property
    def source_type(self) -> str:
        if not self.generated:
            return ALGORITHMICALLY_ENHANCED
        return (COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA if self.composite
                else TRAINED_ALGORITHMIC_MEDIA)

    def xmp(self) -> bytes:
        return disclosure_xmp(source_type=self.source_type, model=self.model,
                              backend=self.backend, software=self.software)
