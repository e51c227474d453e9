"""Where a document goes: ``--out FILE`` as HTML (receipts written beside it) or PDF/A (receipts inside)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from tilsyn.standards.danish import number_of

from ..output import emit_json, fail, visible
from . import Attachment


def out_options(f):
    """``--out FILE``, ``--pdf`` and ``--json`` for a document command."""
    f = click.option("--json", "as_json", is_flag=True,
                     help="Say what was written as JSON (file, format, receipts, personal data).")(f)
    f = click.option("--pdf", is_flag=True, help="Write PDF/A (also chosen by a FILE ending in .pdf).")(f)
    return click.option("--out", "out", required=True, metavar="FILE",
                        help="Where to write the document ('-' for HTML on stdout).")(f)


class DocumentOut:
    """One output target, checked before anything is read, written whole or not at all."""

    def __init__(self, out: str, pdf: bool, as_json: bool = False):
        self.out, self.as_json = out, as_json
        self.pdf = pdf or out.lower().endswith(".pdf")
        if out == "-" and self.pdf:
            fail("a PDF is not written to stdout: give --out FILE.pdf")
        if out == "-" and as_json:
            fail("--json says on stdout what was written: give --out FILE")
        if out != "-":
            parent = Path(out).resolve().parent
            if not parent.is_dir():
                fail(f"cannot write {out}: folder {parent} does not exist")
        self._pdf = None
        if self.pdf:  # WeasyPrint loads in a helper process while the document is made (pdf.py)
            from .pdf import PdfHelper

            self._pdf = PdfHelper()

    def close(self) -> None:
        """Stop the PDF helper if the document was never written (the command failed first)."""
        if self._pdf is not None:
            self._pdf.close()

    def __enter__(self) -> "DocumentOut":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, page: str, attachments: list[Attachment], what: str, *, personal: bool = False) -> None:
        """Write the document; one that shows ``personal`` data in clear is readable by its owner only."""
        if self.out == "-":
            sys.stdout.write(page)
            return
        target = Path(self.out)
        try:
            if self.pdf:
                self._atomic(target, lambda tmp: self._pdf.write(page, tmp, attachments))
            else:
                self._atomic(target, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
                for a in attachments:  # beside the page, so the recipient gets them with it
                    self._atomic(target.with_name(a.name), lambda tmp, a=a: Path(tmp).write_bytes(a.data))
        except OSError as e:
            fail(f"cannot write {self.out}: {e.strerror or e}")
        kind = "PDF/A" if self.pdf else "HTML"
        if self.as_json:
            emit_json({"document": what, "out": self.out, "format": "pdf/a" if self.pdf else "html",
                       "receipts": [a.name for a in attachments], "receipts_embedded": self.pdf,
                       "personal_data_in_clear": personal})
            return
        extra = ""
        if attachments:
            receipts = number_of(len(attachments), "kvittering", "kvitteringer")
            extra = f" med {receipts} indlejret" if self.pdf else f"; {receipts} skrevet ved siden af"
        # Plain lines, made visible (a path is user text): the rich console would cost its import here.
        sys.stdout.write(visible(f"{what} skrevet til {self.out} ({kind}){extra}") + "\n")
        if personal:
            sys.stdout.write(visible(f"Bemærk: {self.out} indeholder personoplysninger i klar tekst; filen er kun "
                                     "læsbar for dig (0600). Del den kun med dem, der må læse dem, og slet den, når "
                                     "den ikke skal bruges.") + "\n")

    @staticmethod
    def _atomic(target: Path, write) -> None:
        # mkstemp makes the file 0600, and os.replace keeps that mode: a document may hold personal data in
        # clear, so it is never readable by others unless its owner decides so.
        fd, tmp = tempfile.mkstemp(dir=target.resolve().parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        try:
            write(tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
