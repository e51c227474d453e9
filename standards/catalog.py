"""The catalog: every standard that the loaded plugins contribute, by id and version.

Two versions of one standard live side by side (a plan made under the 2019 model keeps pointing at
it), so lookups name a version or take the newest. References such as ``kvalitetsmodel-2025#2.3.1``
point at a theme, criterion, marker or indikator inside a standard and are resolved here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator


def _version_key(version: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in version.replace("-", ".").split("."))


@dataclass
class Entry:
    """A standard and the plugin that contributed it."""

    standard: Any
    plugin: str
    plugin_version: str


@dataclass
class Catalog:
    """Standards by ``(id, version)``."""

    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)

    def add(self, standard: Any, plugin: str, plugin_version: str) -> None:
        key = (standard.id, standard.version)
        if key in self.entries:
            other = self.entries[key].plugin
            raise ValueError(f"standard {standard.id} version {standard.version} is declared twice "
                             f"(by plugin {other!r} and by plugin {plugin!r})")
        self.entries[key] = Entry(standard, plugin, plugin_version)

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self.entries.values(), key=lambda e: (e.standard.id, _version_key(e.standard.version))))

    def ids(self) -> list[str]:
        return sorted({k[0] for k in self.entries})

    def get(self, standard_id: str, version: str | None = None) -> Any:
        """The standard ``standard_id`` at ``version`` (the newest if not given); KeyError if unknown."""
        return self.entry(standard_id, version).standard

    def entry(self, standard_id: str, version: str | None = None) -> Entry:
        if version is not None:
            try:
                return self.entries[(standard_id, version)]
            except KeyError:
                have = [k[1] for k in self.entries if k[0] == standard_id]
                raise KeyError(f"standard {standard_id!r} has no version {version!r}"
                               + (f" (have {', '.join(have)})" if have else "")) from None
        versions = [k for k in self.entries if k[0] == standard_id]
        if not versions:
            raise KeyError(f"unknown standard {standard_id!r} (known: {', '.join(self.ids()) or 'none'})")
        return self.entries[max(versions, key=lambda k: _version_key(k[1]))]

    def of_kind(self, kind: str) -> list[Any]:
        return [e.standard for e in self if e.standard.kind == kind]

    def resolve(self, reference: str) -> Any:
        """Resolve ``standard-id[@version]#element`` to a theme, criterion, marker or indikator."""
        head, _, element = reference.partition("#")
        standard_id, _, version = head.partition("@")
        standard = self.get(standard_id, version or None)
        if not element:
            return standard
        if standard.kind == "kvalitetsmodel":
            for getter in (standard.marker, standard.criterion, standard.theme):
                try:
                    return getter(element)
                except KeyError:
                    continue
            raise KeyError(f"{standard.id} has no theme, criterion or marker {element!r}")
        if standard.kind == "regional":
            try:
                return standard.indikator(int(element))
            except ValueError:
                raise KeyError(f"{standard.id} has no indikator {element!r}") from None
        raise KeyError(f"{standard.id} has no element {element!r}")
