"""Metadata tags saying a video is a lipdub: container tags and an XMP packet.

The container tags (``comment``, ``description``; any muxer keeps them) carry one line of
text. MP4/MOV outputs also get an XMP packet in the standard top-level ``uuid`` box, with
the IPTC digital source type (``Iptc4xmpExt:DigitalSourceType``), ``xmp:CreatorTool`` and
lipdub's own properties (generator, model). The source's other metadata is kept by the
writer; these tags are added on top.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from xml.sax.saxutils import escape

from lipdub import __version__
from lipdub.provenance.manifest import DIGITAL_SOURCE_TYPE, DubFacts

#: The XMP box's user type (Adobe XMP specification, part 3: MP4).
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
#: Namespace of lipdub's own XMP properties.
LIPDUB_NS = "https://lipdub.invalid/ns/1.0/"
#: The container tags verify reads.
TAG_KEYS = ("comment", "description")
_LINE = re.compile(r"lip-synced by lipdub", re.IGNORECASE)


#: Container tags that describe the old file rather than its content (not carried over).
TECHNICAL_TAGS = frozenset(
    {"major_brand", "minor_version", "compatible_brands", "encoder", "handler_name", "vendor_id"}
)


def kept_source_tags(source: dict[str, str] | None) -> dict[str, str]:
    """The source's container tags worth keeping in the output (title, artist, date, ...)."""
    return {
        str(key): str(value)
        for key, value in (source or {}).items()
        if str(key).lower() not in TECHNICAL_TAGS
    }


def tag_text(facts: DubFacts) -> str:
    """The one line of the container tags."""
    model = f", model {facts.model}" if facts.model else ""
    return (
        f"Lip-synced by lipdub {__version__} (synthetic media: lips redrawn by the "
        f"{facts.generator} generator{model}; IPTC digital source type "
        f"compositeWithTrainedAlgorithmicMedia)"
    )


def container_tags(facts: DubFacts) -> dict[str, str]:
    """``-metadata`` tags for the writer."""
    text = tag_text(facts)
    return {key: text for key in TAG_KEYS}


def xmp_packet(facts: DubFacts) -> bytes:
    """The XMP packet (UTF-8) with the same facts."""
    model = f"<lipdub:model>{escape(facts.model)}</lipdub:model>" if facts.model else ""
    body = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about=""'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
        f' xmlns:lipdub="{LIPDUB_NS}">'
        f"<xmp:CreatorTool>lipdub {escape(__version__)}</xmp:CreatorTool>"
        f"<Iptc4xmpExt:DigitalSourceType>{DIGITAL_SOURCE_TYPE}</Iptc4xmpExt:DigitalSourceType>"
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(tag_text(facts))}'
        "</rdf:li></rdf:Alt></dc:description>"
        f"<lipdub:generator>{escape(facts.generator)}</lipdub:generator>{model}"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
    return body.encode("utf-8")


def append_xmp(path: Path, packet: bytes) -> None:
    """Append ``packet`` to the MP4/MOV file ``path`` as a top-level XMP ``uuid`` box.

    A top-level box after the media data moves no sample offsets, so the file stays valid.
    """
    box = struct.pack(">I4s", 8 + 16 + len(packet), b"uuid") + XMP_UUID + packet
    with open(path, "ab") as handle:
        handle.write(box)


def read_xmp(path: Path) -> str | None:
    """The XMP packet of an MP4/MOV file's top-level ``uuid`` box, if it has one."""
    try:
        with open(path, "rb") as handle:
            size_total = handle.seek(0, 2)
            offset = 0
            while offset + 8 <= size_total:
                handle.seek(offset)
                size, kind = struct.unpack(">I4s", handle.read(8))
                header = 8
                if size == 1:
                    size = struct.unpack(">Q", handle.read(8))[0]
                    header = 16
                elif size == 0:
                    size = size_total - offset
                if size < header:
                    return None
                if kind == b"uuid" and handle.read(16) == XMP_UUID:
                    data = handle.read(min(size - header - 16, 1 << 20))
                    return data.decode("utf-8", errors="replace")
                offset += size
    except OSError:
        return None
    return None


def xmp_facts(packet: str) -> dict[str, str]:
    """The properties verify shows from an XMP packet."""
    found: dict[str, str] = {}
    for key, tag in (
        ("creator_tool", "xmp:CreatorTool"),
        ("digital_source_type", "Iptc4xmpExt:DigitalSourceType"),
        ("generator", "lipdub:generator"),
        ("model", "lipdub:model"),
    ):
        match = re.search(rf"<{tag}>([^<]*)</{tag}>", packet)
        if match:
            found[key] = match.group(1)
    return found


def read_tags(path: Path, container: dict[str, str]) -> dict[str, str]:
    """lipdub's tags among a file's container tags (``container``) and its XMP packet."""
    found = {
        key: value for key, value in container.items() if key in TAG_KEYS and _LINE.search(value)
    }
    packet = read_xmp(path)
    if packet is not None:
        found.update({f"xmp:{key}": value for key, value in xmp_facts(packet).items()})
    return found


def is_lipdub_tagged(tags: dict[str, str]) -> bool:
    """Whether the tags :func:`read_tags` found say the file is a lipdub."""
    return bool(tags)
