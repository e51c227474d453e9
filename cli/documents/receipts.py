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
    """The receipt of each decision shown; listed in ``data['verification']['receipts']`` for the appendix."""
    out: list[Attachment] = []
    rows = []
    build = _receipt_builder()
    if build is None:
        data["verification"]["receipts"] = rows
        return out
    sup = app.supervision(reading=True)
    for seq in decision_seqs:
        receipt = build(sup.ledger, seq)
        if receipt is None:
            continue
        name = f"{tilbud}-afgoerelse-{seq}.tlog-proof"
        out.append(Attachment(name, receipt, f"Kvittering (C2SP tlog-proof) for afgørelsen, registrering nr. {seq}"))
        rows.append({"name": name, "seq": seq, "what": f"afgørelsen, registrering nr. {seq}",
                     "sha256": hashlib.sha256(receipt).hexdigest()})
    data["verification"]["receipts"] = rows
    return out


def _receipt_builder():
    """The witness part's receipt function, once it exists in this installation."""
    try:
        from tilsyn.ledger import receipts  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(receipts, "receipt_bytes", None)
