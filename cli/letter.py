"""``tilsyn letter``: the varsel or the afgørelse at SEQ as a letter from the authority to the tilbud."""

from __future__ import annotations

import click

from .context import AppContext, pass_app
from .documents.output import DocumentOut, out_options


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("seq", type=click.IntRange(min=1), metavar="SEQ")
@out_options
@pass_app
def letter(app: AppContext, tilbud_id: str, seq: int, out: str, pdf: bool, as_json: bool) -> None:
    """Write the varsel or afgørelse at SEQ of TILBUD as a letter (HTML, or PDF/A with --pdf or a .pdf FILE).

    An afgørelse states indhold, frist, begrundelse with criteria and markers, hjemmel, the partshøring
    and the klagevejledning; a varsel what is intended, why, and the høringsfrist. Its receipt travels with it.
    """
    from .documents import render
    from .documents.letter_data import collect
    from .documents.receipts import receipts_for
    from .documents.verification import NotVerified
    from .output import fail

    with DocumentOut(out, pdf, as_json) as target:  # a PDF helper stops if the document is not made
        try:
            data = collect(app, tilbud_id, seq)
        except NotVerified as e:
            fail(f"no letter written: {e}", code=1)
        attachments = receipts_for(app, tilbud_id, [seq] if data["kind"] == "afgørelse" else [], data)
        a, name = data["act"], data["tilbud"]["name"]
        title = (f"Afgørelse om {a['kind']} – {name}" if data["kind"] == "afgørelse"
                 else f"Varsel om {a['kind']} – {name}")
        page = render("letter.html", title=title, author=data["authority"], doc_noun="brevet", pdf=target.pdf,
                      running=f"{title} · {data['authority']}", **data)
        target.write(page, attachments, f"{data['kind'].capitalize()} for {tilbud_id}")


COMMANDS = [letter]
