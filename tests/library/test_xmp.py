"""The AI disclosure XMP: the packet itself, and in every PNG the library writes.

The packets are read back by a reader written here from the file formats' specifications
(PNG chunks, JPEG segments, RIFF chunks with `struct`, the XML with ElementTree), not by
the Pillow helpers the writer uses; by exiftool where it is installed; and by Pillow's own
`getxmp()` where defusedxml lets it.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from studio import __version__
from studio.library import Library
from studio.library.png_metadata import (
    a1111_parameters,
    encode_png,
    read_png_metadata,
    request_from_png,
    studio_json,
)
from studio.library.xmp import Disclosure, disclosure_xmp, source_type_uri
from tests.library.results import make_result
from tests.library.xmp_reader import (
    COMPOSITE,
    CV,
    ENHANCED,
    HOSTILE_MODELS,
    IPTC_EXT,
    STUDIO,
    TRAINED,
    XMP,
    exiftool_xmp,
    needs_exiftool,
    packet_disclosure,
    parse_packet,
    png_chunks,
    png_xmp_packets,
    read_disclosure,
    xmp_property,
)

# --- the packet --------------------------------------------------------------------------


def test_the_packet_is_well_formed_xmp_with_every_property() -> None:
    packet = disclosure_xmp(source_type="trainedAlgorithmicMedia", model="sd-turbo",
                            backend="local", software="Studio 9.9")
    assert packet_disclosure(packet) == {
        "DigitalSourceType": TRAINED, "AISystemUsed": "sd-turbo", "CreatorTool": "Studio 9.9",
        "Backend": "local", "ProductPixelsFrom": None}
    # The namespaces are the ones readers look for, bound to their usual prefixes.
    assert b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"' in packet
    assert b'xmlns:xmp="http://ns.adobe.com/xap/1.0/"' in packet
    assert b'xmlns:x="adobe:ns:meta/"' in packet


def test_a_composite_says_so_and_that_the_product_is_a_photograph() -> None:
    disclosure = packet_disclosure(Disclosure(model="flux", backend="bedrock",
                                              composite=True).xmp())
    assert disclosure["DigitalSourceType"] == COMPOSITE
    assert disclosure["ProductPixelsFrom"] == "photograph"


def test_the_software_is_this_studio() -> None:
    root = parse_packet(Disclosure(model="m", backend="local").xmp())
    assert xmp_property(root, XMP, "CreatorTool") == f"Studio {__version__}"


@pytest.mark.parametrize("model", HOSTILE_MODELS)
def test_hostile_model_names_stay_valid_xml_and_read_back_exactly(model: str) -> None:
    packet = disclosure_xmp(source_type="trainedAlgorithmicMedia", model=model,
                            backend=model, software=model)
    assert packet_disclosure(packet) == {
        "DigitalSourceType": TRAINED, "AISystemUsed": model, "CreatorTool": model,
        "Backend": model, "ProductPixelsFrom": None}


def test_characters_xml_cannot_hold_become_replacement_characters() -> None:
    packet = disclosure_xmp(source_type="trainedAlgorithmicMedia", model="a\x00b\x1bc\ud800d",
                            backend="local", software="Studio")
    assert xmp_property(parse_packet(packet), IPTC_EXT, "AISystemUsed") == \
        "a\ufffdb\ufffdc\ufffdd"


def test_empty_model_and_backend_are_left_out() -> None:
    root = parse_packet(disclosure_xmp(source_type=TRAINED, model="", backend="",
                                       software="Studio"))
    assert xmp_property(root, IPTC_EXT, "AISystemUsed") is None
    assert xmp_property(root, IPTC_EXT, "DigitalSourceType") == TRAINED


def test_only_studios_three_source_types_are_written() -> None:
    assert source_type_uri("trainedAlgorithmicMedia") == TRAINED
    assert source_type_uri(COMPOSITE) == COMPOSITE
    assert source_type_uri("algorithmicallyEnhanced") == ENHANCED
    for wrong in ["digitalCapture", "trainedalgorithmicmedia", CV + "algorithmicMedia", ""]:
        with pytest.raises(ValueError, match="digital source type"):
            disclosure_xmp(source_type=wrong, model="m", backend="b", software="s")


def test_a_packshot_says_nothing_was_generated_and_its_product_is_a_photograph() -> None:
    packshot = Disclosure(model="", backend="", composite=True, generated=False)
    root = parse_packet(packshot.xmp())
    assert xmp_property(root, IPTC_EXT, "DigitalSourceType") == ENHANCED
    assert xmp_property(root, IPTC_EXT, "AISystemUsed") is None
    assert xmp_property(root, STUDIO, "ProductPixelsFrom") == "photograph"
    generated = parse_packet(Disclosure(model="m", backend="local").xmp())
    assert xmp_property(generated, STUDIO, "ProductPixelsFrom") is None


# --- the library's PNGs ------------------------------------------------------------------


def test_reader_refuses_a_file_without_the_packet() -> None:
    # The reader is not fooled by a PNG that only mentions the words in a text chunk.
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "trainedAlgorithmicMedia")
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG", pnginfo=info)
    assert png_xmp_packets(buffer.getvalue()) == []


@pytest.mark.parametrize("model", ["sd-turbo", *HOSTILE_MODELS])
def test_every_library_png_discloses_its_generation(lib: Library, model: str) -> None:
    records = lib.record(make_result("a red sneaker", model=model, backend="sagemaker",
                                     count=2))
    assert len(records) == 2
    for record in records:
        data = record.path.read_bytes()
        disclosure = read_disclosure(data)
        assert disclosure == {"DigitalSourceType": TRAINED, "AISystemUsed": model,
                              "CreatorTool": f"Studio {__version__}", "Backend": "sagemaker",
                              "ProductPixelsFrom": None}
        # The existing chunks are still there and still read back.
        metadata = read_png_metadata(record.path)
        assert metadata is not None and metadata.studio is not None
        assert metadata.studio["model"] == model
        assert metadata.parameters is not None
        assert metadata.parameters.startswith("a red sneaker\n")
        assert request_from_png(record.path).prompt == "a red sneaker"
        chunk_kinds = [kind for kind, _ in png_chunks(data)]
        assert chunk_kinds.count(b"iTXt") + chunk_kinds.count(b"tEXt") == 3


def test_encode_png_without_a_disclosure_takes_model_and_backend_from_the_json() -> None:
    result = make_result(model="sdxl", backend="bedrock", count=1)
    image = result.images[0]
    data = encode_png(
        image.image,
        parameters=a1111_parameters(result.request, image.seed, model=result.model,
                                    backend=result.backend, device=result.device),
        studio_json=studio_json(result, image))
    disclosure = read_disclosure(data)
    assert (disclosure["DigitalSourceType"], disclosure["AISystemUsed"],
            disclosure["Backend"]) == (TRAINED, "sdxl", "bedrock")


def test_pillow_reads_the_library_packet(lib: Library) -> None:
    pytest.importorskip("defusedxml", reason="Pillow's getxmp() needs defusedxml")
    (record,) = lib.record(make_result(model="sd-turbo", count=1))
    with Image.open(record.path) as image:
        xmp = image.getxmp()
    description = xmp["xmpmeta"]["RDF"]["Description"]
    assert description["DigitalSourceType"] == TRAINED
    assert description["AISystemUsed"] == "sd-turbo"


@needs_exiftool
def test_exiftool_reads_the_library_packet(lib: Library) -> None:
    (record,) = lib.record(make_result(model='sd <"turbo"> & co', backend="local", count=1))
    tags = exiftool_xmp(record.path)
    assert tags["XMP-iptcExt:DigitalSourceType"] == TRAINED
    assert tags["XMP-xmp:CreatorTool"] == f"Studio {__version__}"
    ai_system = tags.get("XMP-iptcExt:AISystemUsed")  # exiftool 13.x knows IPTC 2025.1
    assert ai_system in (None, 'sd <"turbo"> & co')


def test_a_product_scene_in_the_library_is_disclosed_as_a_composite(lib: Library) -> None:
    import dataclasses

    (record,) = lib.record(dataclasses.replace(make_result(count=1), composite=True))
    disclosed = read_disclosure(record.path.read_bytes())
    assert disclosed["DigitalSourceType"] == COMPOSITE
