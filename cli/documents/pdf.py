"""PDF/A written by a helper process that loads WeasyPrint while the document is still being made.

Loading WeasyPrint (its C libraries through cffi, the user-agent style sheets, fontconfig) takes as long
as reading, verifying and rendering the document itself. So a PDF command starts this helper first: a
fresh interpreter (no fork of a process holding database connections or threads) that imports
WeasyPrint and sets up its fonts, then waits on stdin for the page. The document is the same as when
written in-process: the helper calls the same :func:`~tilsyn.cli.documents.write_pdf`. If the helper
cannot be started, the PDF is written in-process; if it fails, the command fails with its one-line reason.
"""

from __future__ import annotations

import subprocess
import sys

import msgspec

from . import Attachment, write_pdf


class _Job(msgspec.Struct, array_like=True):
    page: str
    target: str
    attachments: list[tuple[str, bytes, str]]


class PdfHelper:
    """The helper process for one PDF (see the module docstring)."""

    def __init__(self) -> None:
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-c", "from tilsyn.cli.documents.pdf import serve; serve()"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError:
            self._proc = None

    def write(self, page: str, target: str, attachments: list[Attachment]) -> None:
        """Write ``page`` as PDF/A to ``target`` (through the helper if it runs, else here)."""
        proc, self._proc = self._proc, None
        if proc is None:
            write_pdf(page, target, attachments)
            return
        job = msgspec.msgpack.encode(_Job(page, str(target), [(a.name, a.data, a.description) for a in attachments]))
        _, err = proc.communicate(job)
        if proc.returncode != 0:
            reason = err.decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(f"the PDF could not be written ({reason[-1] if reason else f'exit {proc.returncode}'})")

    def close(self) -> None:
        """Stop the helper if no PDF was asked of it (the command failed before writing)."""
        proc, self._proc = self._proc, None
        if proc is not None:  # it has only been loading WeasyPrint: nothing to finish
            proc.kill()
            proc.wait()
            proc.stdin.close()
            proc.stderr.close()


def serve() -> None:
    """The helper's side: load WeasyPrint and the fonts, then write the one job read from stdin."""
    import weasyprint  # noqa: F401 - the point of starting early
    from weasyprint.text.fonts import FontConfiguration

    FontConfiguration()  # fontconfig's configuration and font list, loaded once per process
    data = sys.stdin.buffer.read()
    if not data:  # the command ended without a document
        return
    job = msgspec.msgpack.decode(data, type=_Job)
    try:
        write_pdf(job.page, job.target, [Attachment(*a) for a in job.attachments])
    except Exception as e:  # noqa: BLE001 - reported to the command as one line
        sys.stderr.write(f"{type(e).__name__}: {e}\n".replace("\n", " ").rstrip() + "\n")
        raise SystemExit(1) from None
