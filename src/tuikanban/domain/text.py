"""Safe text: user-typed strings never carry markup or terminal control sequences to a screen."""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 control characters (keeps nothing: tab and newline are folded to spaces on single-line display).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Full escape sequences: CSI, OSC (terminated by BEL or ST), DCS/SOS/PM/APC strings, and two-byte escapes.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (incl. OSC 52 clipboard writes)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x9d[^\x07\x9c]*(?:\x07|\x9c)?"  # 8-bit OSC
)
# Bidi controls that can reorder what follows them on the line (Trojan Source style).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def clean_text(value: str, *, max_length: int | None = None, multiline: bool = False) -> str:
    """Strip escape sequences, control and bidi-override characters; keep printable text literally.

    Used when text is stored and again when it is displayed, so rows from older versions or imports are safe.
    """
    if value.isascii() and value.isprintable():
        text = value  # no escape, control or bidi character, and already NFC: most text (an import calls this a lot)
    else:
        text = _ESCAPES.sub("", value)
        text = _BIDI.sub("", text)
        if multiline:
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")  # a lone CR ends a line
            text = "".join(ch for ch in text if ch == "\n" or not _CONTROL.match(ch))
        else:
            text = _CONTROL.sub(" ", text)
        text = unicodedata.normalize("NFC", text)
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1] + "…"
    return text


def display(value: str | None, *, max_length: int | None = None) -> str:
    """One line of user text, safe for a terminal (still to be shown as a Text, never as markup)."""
    if not value:
        return ""
    return clean_text(value, max_length=max_length).strip()


def display_ends(value: str | None, *, max_length: int) -> str:
    """`display`, but a text over `max_length` loses its middle, not its end: a sentence that names a long path
    keeps what it asks the user to do, which comes last (two thirds of the room go to the end)."""
    text = display(value)
    if len(text) <= max_length:
        return text
    head = (max_length - 1) // 3
    return text[:head].rstrip() + "…" + text[len(text) - (max_length - 1 - head):].lstrip()


def name_key(name: str) -> str:
    """Case-insensitive key for pipeline, stage and deal type names.

    Cleaned first, as stored names are: a reference typed with the same escape or bidi characters still finds it.
    """
    return unicodedata.normalize("NFKC", clean_text(name)).strip().casefold()


def clean_name(name: str, *, what: str) -> str:
    from tuikanban.domain.errors import ValidationError

    cleaned = clean_text(name).strip()
    if not cleaned:
        raise ValidationError(f"The {what} name is empty.")
    if len(cleaned) > 80:
        raise ValidationError(f"The {what} name is longer than 80 characters.")
    return cleaned


# What must never reach a terminal as it is: C0 and C1 controls, bidi controls, and the Unicode line and paragraph
# separators (which some terminals and JSON consumers treat as line breaks).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029]")


def visible(value: str) -> str:
    """A file name or setting shown literally: every unsafe character written as a Python-style escape (`\\x1b`,
    `\\u202e`), so the reader sees exactly what is there and the terminal interprets none of it."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", value)


# _UNSAFE but the newline, which json_safe keeps: matching every newline of an indented document (one Python call
# each) took most of the time of a large `--json`
_UNSAFE_IN_JSON = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029]")


# the ASCII characters of _UNSAFE_IN_JSON, as bytes
_UNSAFE_ASCII = bytes([*range(0x00, 0x0a), *range(0x0b, 0x20), 0x7f])


def json_safe(document: str) -> str:
    """JSON text with every unsafe character as a `\\uXXXX` escape. Lossless: outside strings, JSON text holds
    only ASCII punctuation and whitespace (the newlines of indentation are kept), and inside them the escape
    decodes to the same character. An ASCII document without one is returned as it is after a check in C (a
    third of the regular expression's scan of 8 MB)."""
    if document.isascii():
        raw = document.encode("ascii")
        if len(raw.translate(None, _UNSAFE_ASCII)) == len(raw):
            return document
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m[0]):04x}", document)
