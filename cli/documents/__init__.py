"""Documents a socialtilsyn sends — the tilsynsrapport, the varsel and the afgørelse — as HTML or PDF.

Every document is a Jinja2 template in ``templates/`` (one base layout, one style sheet), rendered with
autoescape on: text from the ledger is always text. Control characters and bidirectional overrides in
user text are shown as visible ``⟨U+…⟩`` marks rather than passed to the reader's software, and line
breaks are kept by the style sheet (``white-space: pre-line``), not by building markup.

The HTML page loads nothing (inline style, no scripts, fonts or images, a Content-Security-Policy that
forbids every fetch). The PDF is written by WeasyPrint as PDF/A-3b, with the document's language, title
and author, and the receipts of the decisions it shows embedded as files (PDF/A-3 allows attachments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import danish

# C0 and C1 controls except tab and newline, DEL, and the bidi embeddings/overrides/isolates that can make
# text read differently from what was signed.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

PDF_VARIANT = "pdf/a-3b"


def plain(value: Any) -> str:
    """User text as it will be shown: controls made visible, CR LF as a line break."""
    if value is None:
        return ""
    text = str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub(_mark, text) if _UNSAFE.search(text) else text


def _mark(match: re.Match) -> str:
    return f"⟨U+{ord(match.group()):04X}⟩"


def css_string(value: Any) -> Markup:
    """A CSS string literal for the page margins: every character but letters, digits and spaces escaped."""
    text = plain(value).replace("\n", " ")
    return Markup('"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x} " for c in text) + '"')


@lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment: package templates, autoescape on, strict undefined, Danish filters."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tilsyn.cli.documents", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(dato=danish.dato, tid=danish.tid, kort_dato=danish.kort_dato, plain=plain,
                       css_string=css_string)
    from .report_data import event_name

    env.globals["event_name"] = event_name
    env.finalize = lambda v: plain(v) if isinstance(v, str) and not isinstance(v, Markup) else ("" if v is None else v)
    return env


def _bytecode_cache():
    """Compiled templates kept between runs (compiling them costs a fifth of a second per document).

    Jinja2's own file cache, in its private per-user directory (mode 0700, owner checked). A compiled
    template is used only for the very source it was compiled from (Jinja2 checks the source's SHA-1)
    and only by this module as written: the file names carry the hash of this file, so a change to the
    environment's options can never be served code compiled under the old ones. A cache that cannot be
    read or written only means compiling again, never a failed document.
    """
    import hashlib

    import jinja2

    class Cache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # noqa: BLE001 - a damaged or foreign cache file: compile afresh
                bucket.reset()

        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        own = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
        return Cache(pattern=f"tilsyn-documents-{own}-%s.cache")
    except (OSError, RuntimeError):
        return None


def stylesheet() -> Markup:
    """The one style sheet, inlined into every document (it is ours, not data)."""
    return Markup((resources.files(__package__) / "templates" / "document.css").read_text(encoding="utf-8"))


def render(template: str, **data: Any) -> str:
    """A document as one self-contained HTML page."""
    return environment().get_template(template).render(css=stylesheet(), **data)


@dataclass(frozen=True)
class Attachment:
    """A file that travels with a document: embedded in the PDF, written beside an HTML page."""

    name: str
    data: bytes
    description: str


def write_pdf(page: str, target: Path | str, attachments: list[Attachment] = ()) -> None:
    """The page as PDF/A-3b through WeasyPrint, the attachments embedded as files.

    Title, author and language come from the page (``<title>``, ``<meta name=author>``, ``<html lang>``).
    Nothing is fetched: the page has no external resources, and the URL fetcher refuses every URL.
    """
    import io

    from weasyprint import HTML, Attachment as WeasyAttachment

    def refuse(url: str, *args, **kwargs):
        raise ValueError(f"documents load nothing ({url})")

    files = [WeasyAttachment(file_obj=io.BytesIO(a.data), name=a.name, description=a.description,
                             url_fetcher=refuse, relationship="Supplement") for a in attachments]
    HTML(string=page, url_fetcher=refuse).write_pdf(target, pdf_variant=PDF_VARIANT, attachments=files,
                                                     pdf_identifier=None)
