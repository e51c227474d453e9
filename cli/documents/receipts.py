"""The receipts (C2SP tlog-proof) of the decisions a document shows, as files that travel with it.

A receipt proves to the tilbud, without the database, that the decision is in the authority's log at a
signed (and witnessed) checkpoint. The receipts come from the witness part of the ledger; this module
only names them, hashes them for the appendix and hands them to the document writer.
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import Attachment


def receipts_for(app, tilbud: str, decision_seqs: list[int], data: dict[str, Any]) -> list[Attachment]:
    """The receipt of each decision shown; listed in ``data['verification']['receipts']`` for the appendix.

    A decision no signed checkpoint covers yet has no receipt; the document says so
    (``data['verification']['without_receipt']``) instead of leaving it out silently.
    """
    from tilsyn.ledger.receipt import ReceiptError, make_receipt

    ledger = app.supervision(reading=True).ledger
    out: list[Attachment] = []
    rows, missing = [], []
    for seq in decision_seqs:
        try:
            receipt = make_receipt(ledger, seq, f"tilbud/{tilbud}").encode("utf-8")
        except ReceiptError:
            missing.append(seq)
            continue
        name = f"{tilbud}-afgoerelse-{seq}.tlog-proof"
        out.append(Attachment(name, receipt, f"Kvittering (C2SP tlog-proof) for afgørelsen, registrering nr. {seq}"))
        rows.append({"name": name, "seq": seq, "what": f"afgørelsen, registrering nr. {seq}",
                     "sha256": hashlib.sha256(receipt).hexdigest()})
    data["verification"]["receipts"] = rows
    data["verification"]["without_receipt"] = missing
    return out
