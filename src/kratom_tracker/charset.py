"""Bytes to text: the charset from the HTTP header, else the document's own declaration (XML prolog or
meta tag), else detection. Pure (no HTTP), so the values layer can decode a body without the client."""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_\-.]+)""")


def charset_from_header(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return _known_codec(value.strip().strip("\"'"))
    return None


def _known_codec(name: str) -> str | None:
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # Browsers read latin-1 and ASCII labels as windows-1252 (WHATWG Encoding), and so do the pages.
    return "cp1252" if codec in ("latin_1", "iso8859-1", "ascii") else codec


def decode_text(body: bytes, content_type: str = "") -> str:
    """Charset from the header, then the document (BOM, meta, XML declaration), then detection."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", errors="replace")
    for charset in (charset_from_header(content_type), _charset_in_document(body)):
        if charset and not charset.startswith(("utf_16", "utf_32")) and _is_utf8_beyond_ascii(body):
            # A body that is valid UTF-8 with non-ASCII text is UTF-8 whatever the header claims:
            # misread as latin-1 it would turn every accented line into a false change.
            return body.decode("utf-8")
        if charset:
            try:
                return body.decode(charset)
            except (UnicodeDecodeError, LookupError):
                continue  # a wrong declaration: fall through to detection
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    if best is not None:
        return body.decode(best.encoding, errors="replace")
    return body.decode("cp1252", errors="replace")


def _is_utf8_beyond_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _charset_in_document(body: bytes) -> str | None:
    head = body[:4096]
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    return _known_codec(match.group(1).decode("ascii", "ignore")) if match else None


# Characters that change the bytes of a text and not what a reader sees: zero-width space, joiners and
# marks, word joiner and invisible operators, the byte-order mark (as zero-width no-break space), the
# soft hyphen, the combining grapheme joiner, the Mongolian vowel separator and the bidi controls.
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x034F, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064,
     0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def normalize_text(text: str) -> str:
    """Text as it is compared: invisible characters dropped, Unicode NFKC (NFC vs NFD, compatibility
    forms such as a no-break space, full-width letters or the "ﬁ" ligature read alike) and whitespace
    folded. What looks identical compares identical, so a re-encoded page is not a change."""
    import unicodedata

    if text.isascii():
        return " ".join(text.split()) if "  " in text or "\t" in text or "\n" in text else text.strip()
    return " ".join(unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).split())
