"""Who may record an act, said in Danish before the kernel refuses it in its own words.

The kernel is the authority on roles: at append and at verify it refuses a statement whose key lacks a
role that counts for it (a role scoped to other tilbud does not count, issue 10). This module only says the
same thing first, in the domain's language, so that a tilbudsleder of one tilbud who tries to answer
another tilbud's varsel reads why: «Tove Lund er tilbudsleder for T-2 og kan ikke registrere et
høringssvar for T-9». It never lets through what the kernel would refuse; it may only refuse earlier.
"""

from __future__ import annotations

import re
from typing import Any

from tilsyn.ledger.identity import statement_tilbud


def act_name(description: str, type_name: str) -> str:
    """The Danish term an event type's description opens with («*Høringssvar*: …» → «høringssvar»)."""
    found = re.match(r"\*([^*]+)\*", description or "")
    return found.group(1).lower() if found else type_name


def role_refusal(statement: Any, info: Any, needed: frozenset[str], description: str) -> str | None:
    """Why the key ``info`` may not sign ``statement`` (None: a role it holds counts for it)."""
    if info is None or not needed:
        return None  # the kernel names an unknown key or a type nobody may sign
    if info.roles_for(statement) & needed:
        return None
    what = act_name(description, statement.type)
    about = ", ".join(sorted(statement_tilbud(statement))) or "noget tilbud"
    scoped = sorted(r for r in info.roles & needed if r in info.scopes)
    if scoped:
        return (f"{info.actor} er {scoped[0]} for {', '.join(sorted(info.scopes[scoped[0]]))} og kan ikke "
                f"registrere «{what}» for {about}")
    held = ", ".join(sorted(info.roles)) or "ingen rolle"
    return f"{info.actor} ({held}) kan ikke registrere «{what}»: det kræver rollen {' eller '.join(sorted(needed))}"
