"""``tilsyn report``: the tilsynsrapport about a tilbud, as a self-contained HTML page or a PDF/A file.

The report is for the tilbud and for Tilbudsportalen: tilbudsoplysninger and legal status, visits, the
samlet vurdering, per tema and criterion the vurdering with its markers and datagrundlag, økonomi, risk
and its history, decisions with hjemmel, høring and klagevejledning, the opfølgningsplan, regional
indikatorer, anbefalinger and corrections — then what was checked, and an appendix with the hashes and
the signed checkpoint. ``--internal`` adds what the tilsyn uses internally: the rule plugins' findings,
the suggested verdicts and the full derivation of every decision.

It is made only from events that verify (see :mod:`tilsyn.cli.documents.verification`): if they do not,
no file is written and the command exits 1. Personal data is shown as the reader's role allows.
"""

from __future__ import annotations

import click

from .context import AppContext, pass_app
from .documents.output import DocumentOut, out_options


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@out_options
@click.option("--as-of", metavar="DATE|SEQ", help="The report as the ledger stood then: a seq, a date or a time.")
@click.option("--internal", is_flag=True, help="The tilsyn's internal view: findings, suggested verdicts, explain trees.")
@pass_app
def report(app: AppContext, tilbud_id: str, out: str, pdf: bool, as_json: bool, as_of: str | None,
           internal: bool) -> None:
    """Write the tilsynsrapport about TILBUD (in Danish) as HTML, or as PDF/A with --pdf or a .pdf FILE.

    Personal data is shown only to a tilsynskonsulent or tilsynsleder (--as); other readers see
    placeholders. The receipts of the decisions shown travel with the document.
    """
    from .documents import render
    from .documents.receipts import receipts_for
    from .documents.report_data import collect

    from .documents.verification import NotVerified
    from .output import fail

    with DocumentOut(out, pdf, as_json) as target:  # a PDF helper stops if the document is not made
        try:
            data = collect(app, tilbud_id, as_of, internal=internal)
        except NotVerified as e:
            fail(f"no report written: {e}", code=1)
        attachments = receipts_for(app, tilbud_id, [d["seq"] for d in data["decisions"]], data)
        s = data["tilbud"]
        title = f"Tilsynsrapport – {s['name']}" + (" (intern)" if internal else "")
        page = render("report.html", title=title, author=data["authority"], doc_noun="rapporten", pdf=target.pdf,
                      running=f"Tilsynsrapport · {s['name']} · {data['authority']}", **data)
        target.write(page, attachments, f"Rapport for {tilbud_id}", personal=data["personal_shown"])


COMMANDS = [report]
