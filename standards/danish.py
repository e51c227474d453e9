"""Small pieces of Danish that the domain's messages share, so a tilsyn can sign what is written.

* :func:`way` — a method and a source: «interview af medarbejdere» but «trianguleringsinterview med
  pårørende» (one triangulates *with* another source).
* :func:`with_article` — a decision kind with its indefinite article: «et påbud», «en godkendelse med vilkår».
* :func:`count_of` — «1 af 1 indikator», «3 af 4 indikatorer».
"""

from __future__ import annotations

_PREPOSITION = {"trianguleringsinterview": "med"}
_COMMON_GENDER = ("godkendelse",)  # en godkendelse; et påbud, et skærpet tilsyn, et afslag, et ophør


def way(method: str, source: str) -> str:
    """«observation af fysiske rammer», «trianguleringsinterview med værge»."""
    return f"{method} {_PREPOSITION.get(method, 'af')} {source}"


def with_article(kind: str) -> str:
    """The decision kind with its indefinite article."""
    return f"{'en' if kind.startswith(_COMMON_GENDER) else 'et'} {kind}"


def count_of(done: int, total: int, singular: str, plural: str) -> str:
    """«1 af 1 indikator opfyldt» takes the singular; «2 af 3 indikatorer» the plural (by the total)."""
    return f"{done} af {total} {singular if total == 1 else plural}"
