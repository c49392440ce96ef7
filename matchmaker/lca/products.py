"""What an LCA file says of one product, whatever its format: its climate-change result for the amount of
its reference flow, and where that came from. Pure: the readers (`openlca`, `ilcd`) fill it in."""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from matchmaker.units import UnitError, canonical_declared_unit

# The climate-change indicator of a method: GWP100, "climate change", their German names; the total, not
# its fossil, biogenic or land-use parts (EN 15804+A2 states all four).
CLIMATE = re.compile(r"gwp|global warming|climate change|treibhaus|erwärmung|klimawandel", re.IGNORECASE)
PART_OF_TOTAL = re.compile(r"fossil|biogen|luluc|land use|landnutzung", re.IGNORECASE)
# EN 15804's cradle-to-gate modules: what a footprint per declared unit is taken from.
CRADLE_TO_GATE = ("A1", "A2", "A3")
# What a module states when it was not assessed or not declared: no number, never zero.
NOT_ASSESSED = {"", "INA", "ND", "MND", "NR", "-"}
# Units LCA tools write that are the declared units under other names.
UNIT_ALIASES = {"item(s)": "unit", "items": "unit", "pcs": "unit", "pieces": "unit", "m^2": "m2", "m^3": "m3"}
# The largest magnitude (and the smallest, but zero) of a number taken from a file: far beyond any real
# result or amount, and small enough that what is computed from it stays exact and finite.
LARGEST = Decimal("1e15")
# Emission units of a climate indicator, as kg CO2e per one of them.
EMISSION_UNITS = {"kg": Decimal(1), "g": Decimal("0.001"), "t": Decimal(1000)}
_EMISSION_UNIT = re.compile(r"^\s*(kg|g|t)\s*co\s*_?\(?2\)?", re.IGNORECASE)


T = TypeVar("T")


class ProductUnreadable(ValueError):
    """One data set that cannot become a footprint; the rest of the file is read on."""


@dataclass(slots=True)
class LcaProduct:
    """One product's climate-change result, per `amount` of its reference flow in `unit`."""

    uuid: str
    version: str | None
    name: str
    source_format: str  # openlca-jsonld-v2 | openlca-jsonld-v1 | ilcd | ilcd+epd
    entity: str  # result | epd | process
    gwp_kg: Decimal  # kg CO2e for `amount` of the reference flow
    amount: Decimal
    unit: str  # a declared unit (units.DECLARED_UNITS)
    indicator: str
    method: str | None = None
    owner: str | None = None
    modules: dict[str, str | None] = field(default_factory=dict)  # EN 15804 module -> value, None: INA
    scope: str | None = None  # the modules the footprint is taken from

    def __post_init__(self) -> None:
        # A file may hold anything where text belongs (a number as an id, a list as a name).
        for name in ("uuid", "name", "indicator"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ProductUnreadable(f"the data set's {name} is not text")
        for name in ("version", "method", "owner"):
            if not isinstance(getattr(self, name), str | None):
                raise ProductUnreadable(f"the data set's {name} is not text")

    @property
    def per_declared_unit(self) -> tuple[float, str]:
        """The footprint as an offer states it: kg CO2e per one declared unit (per tonne when the
        reference flow is 1000 kg)."""
        if self.unit == "kg" and self.amount == 1000:
            return float(self.gwp_kg), "kgCO2e/t"
        return float(self.gwp_kg / self.amount), f"kgCO2e/{self.unit}"


def declared_unit(name: str | None) -> str:
    """The declared unit an LCA unit name stands for, or ProductUnreadable."""
    text = (name or "").strip()
    try:
        return canonical_declared_unit(UNIT_ALIASES.get(text.lower(), text))
    except UnitError:
        raise ProductUnreadable(
            f"reference flow unit {text!r} is not a declared unit this service knows"
        ) from None


def kg_per_emission_unit(unit: str | None) -> Decimal:
    """kg CO2e per one of an indicator's unit ("kg CO2 eq", "kg CO2-Äqv.", "kg CO_(2)-Äq.")."""
    match = _EMISSION_UNIT.match(unit or "")
    if match is None:
        raise ProductUnreadable(f"climate-change indicator in {unit!r}, not in a mass of CO2 equivalents")
    return EMISSION_UNITS[match.group(1).lower()]


def climate_indicator(candidates: list[tuple[str, T]]) -> tuple[str, T]:
    """The climate-change total among (name, result) pairs, or ProductUnreadable."""
    climate = [pair for pair in candidates if CLIMATE.search(pair[0])]
    totals = [pair for pair in climate if not PART_OF_TOTAL.search(pair[0])]
    if not totals:
        found = ", ".join(name for name, _ in candidates[:5]) or "none"
        raise ProductUnreadable(f"no climate-change (GWP) result; indicators found: {found}")
    return totals[0]


def number(text: str | None) -> Decimal | None:
    """A module's value, or None when it was not assessed ("INA", "ND", "MND" or empty): never zero."""
    stripped = (text or "").strip()
    if stripped.upper() in NOT_ASSESSED:
        return None
    try:
        return bounded(Decimal(stripped))
    except ArithmeticError:
        raise ProductUnreadable(f"not a number: {stripped[:40]!r}") from None


def bounded(value: Decimal) -> Decimal:
    """A number within what any real data set states (LARGEST), or ProductUnreadable."""
    if not value.is_finite() or abs(value) > LARGEST or (value and abs(value) < 1 / LARGEST):
        raise ProductUnreadable(f"number out of range: {value:.3e}")
    return value


def positive(value: Decimal | None, what: str) -> Decimal:
    """An amount a footprint is divided by: stated and greater than zero."""
    if value is None or value <= 0:
        raise ProductUnreadable(f"{what} must be greater than zero")
    return value


def read_entry(archive: zipfile.ZipFile, path: str) -> bytes:
    """One entry of a zip, or ProductUnreadable (a bad checksum, encryption, an unknown compression)."""
    try:
        return archive.read(path)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, OSError, EOFError) as error:
        raise ProductUnreadable(f"the zip entry cannot be read: {error}") from None


def plain(value: Decimal) -> str:
    """A value as a person writes it: 0.7, 1000, -4.877."""
    return f"{value.normalize():f}"


def cradle_to_gate(modules: dict[str, Decimal | None]) -> tuple[Decimal, str]:
    """The product stage's result (EN 15804 A1-A3): the A1-A3 module, else A1 + A2 + A3; a module not
    assessed leaves no footprint to take."""
    if "A1-A3" in modules:
        value = modules["A1-A3"]
        if value is None:
            raise ProductUnreadable("module A1-A3 is not assessed (INA): no cradle-to-gate footprint")
        return value, "A1-A3"
    missing = [name for name in CRADLE_TO_GATE if modules.get(name) is None]
    if missing:
        raise ProductUnreadable(
            f"module {', '.join(missing)} not assessed or absent: no cradle-to-gate (A1-A3) footprint"
        )
    return sum((modules[name] or Decimal(0) for name in CRADLE_TO_GATE), Decimal(0)), "A1+A2+A3"
