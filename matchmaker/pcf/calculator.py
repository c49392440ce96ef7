"""A product's footprint from its bill of materials: pure arithmetic over the factors and offers it is given
(no database). Decimal throughout, so that a hand-computed total is met to the last digit written.

The method (README, "PCF accounting"):
- each line's emissions in kg CO2e: its quantity in the unit of its factor, times the factor;
- an offer line: the offer's footprint per its declared unit (any unit of the same family);
- electricity: the grid's factor for the year; a fuel: its energy (a mass times the net calorific value)
  times the IPCC defaults for CO2, CH4 and N2O, each weighted by its GWP100; a process gas: its mass times
  its GWP100; transport: tonne-kilometres times the mode's factor;
- co-products take their share by mass or by revenue; the product keeps `share` of every line;
- the footprint per declared unit: the product's share of the emissions over the output, in that unit.
A line without a factor (or an offer without a footprint) is a gap: the result is incomplete, names the
line and states no total; it is never counted as zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from matchmaker.pcf.bom import (
    BillOfMaterials,
    ElectricityLine,
    FactorLine,
    FuelLine,
    Line,
    OfferLine,
    ProcessLine,
    TransportLine,
    unit_size,
)
from matchmaker.units import MAX_FOOTPRINT_MAGNITUDE, Footprint, UnitError, UnitFamily, to_decimal

# What the denominator of a factor's unit is counted in, and its size in that family's base unit.
FACTOR_DENOMINATORS: dict[str, tuple[UnitFamily, Decimal]] = {
    "kgCO2e/kg": (UnitFamily.MASS, Decimal(1)),
    "kgCO2/kWh": (UnitFamily.ELECTRIC_ENERGY, Decimal(1)),
    "kgCO2e/kWh": (UnitFamily.ELECTRIC_ENERGY, Decimal(1)),
    "kgCO2e/tkm": (UnitFamily.TRANSPORT_WORK, Decimal(1)),
}
MJ_PER_TJ = Decimal(1_000_000)
KG_PER_GG = Decimal(1_000_000)
# The gases a fuel's combustion factors are given for, and the GWP each is weighted by (fuel CH4 is fossil).
COMBUSTION_GASES = (("co2", "co2"), ("ch4", "ch4_fossil"), ("n2o", "n2o"))
# The smallest footprint per declared unit taken (kg CO2e), either sign: far below any real product's.
SMALLEST_FOOTPRINT = Decimal("1e-9")
# The share of the emissions the hotspots account for, at least (the fewest lines that reach it).
HOTSPOT_SHARE = Decimal("0.8")
MOST_HOTSPOTS = 5
# Data-quality ratings (PACT's DQR: 1 good .. 3 poor) of a library factor: a published average is not the
# process's own technology; it fits in time within a year of the data's year and in place when its region
# is the product's.
GENERIC_TECHNOLOGY = Decimal(2)
UNRATED = Decimal(3)
MEASURED = (Decimal(1), Decimal(1), Decimal(1))


@dataclass(frozen=True, slots=True)
class Factor:
    key: str
    library_version: str
    name: str
    value: float
    unit: str
    region: str | None
    year: int | None
    source: str
    source_table: str
    licence: str


@dataclass(frozen=True, slots=True)
class OfferInput:
    """What a line reads of an offer on the platform."""

    id: int
    title: str
    supplier: str
    pcf_value: float | None
    pcf_unit: str | None
    verified: bool  # its verification holds now: its data count as primary
    dqr: tuple[float, float, float] | None


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int  # 1-based, as a person counts the lines
    message: str
    code: str


class BomRefused(ValueError):
    """Lines the calculator cannot read (an offer not found, a unit of another family): nothing is counted."""

    def __init__(self, problems: list[LineProblem]) -> None:
        super().__init__("; ".join(f"line {problem.line}: {problem.message}" for problem in problems))
        self.problems = problems


@dataclass(slots=True)
class LineResult:
    line: int
    kind: str
    name: str
    stage: str
    emissions: Decimal | None  # kg CO2e for the batch, before allocation; None: a gap
    per_declared_unit: Decimal | None = None
    share: Decimal | None = None  # of the total
    primary: bool = False
    dqr: tuple[Decimal, Decimal, Decimal] | None = None
    factors: list[str] = field(default_factory=list)
    gap: str | None = None


@dataclass(slots=True)
class Calculation:
    unit: str  # kgCO2e/<declared unit>
    total: Decimal | None  # None while a line is a gap
    covered: Decimal  # what the lines with factors add up to (the total when complete)
    allocation_share: Decimal
    lines: list[LineResult]
    by_stage: dict[str, Decimal]
    hotspots: list[LineResult]
    primary_share: Decimal | None  # percent
    dqr: tuple[Decimal, Decimal, Decimal] | None
    factors: list[Factor]
    notes: list[str]

    @property
    def complete(self) -> bool:
        return self.total is not None

    @property
    def gaps(self) -> list[LineResult]:
        return [line for line in self.lines if line.gap is not None]


class _Gap(Exception):
    """A line with no factor to count it by."""


class _Refused(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class _Counter:
    """Counts the lines of one bill against one set of factors and offers."""

    def __init__(self, bom: BillOfMaterials, factors: Mapping[str, Factor], offers: Mapping[int, OfferInput]):
        self.bom = bom
        self.factors = factors
        self.offers = offers
        self.cited: dict[str, Factor] = {}
        self.used: list[str] = []  # by the line being counted
        self.notes: set[str] = set()

    def factor(self, key: str, what: str) -> Factor:
        found = self.factors.get(key)
        if found is None:
            raise _Gap(f"no factor {key} in the library for {what}")
        self.cited[key] = found
        if key not in self.used:
            self.used.append(key)
        if found.unit == "kgCO2/kWh":
            self.notes.add(f"{key} counts CO2 only (the grid factor its source publishes), not CO2e")
        return found

    def gwp(self, gas: str) -> Factor:
        key = f"gwp.{self.bom.gwp}.{gas}"
        if key not in self.factors and gas.startswith("ch4_"):
            key = f"gwp.{self.bom.gwp}.ch4"  # AR5 gives one CH4 value, fossil or not
        return self.factor(key, f"the GWP100 of {gas} ({self.bom.gwp.upper()})")

    def count(self, line: Line) -> tuple[Decimal, tuple[Decimal, Decimal, Decimal], bool, list[str]]:
        """The line's kg CO2e, its data-quality ratings, whether it is primary data, the factors used."""
        self.used = []
        match line:
            case OfferLine():
                emissions, dqr, primary = self._offer(line)
            case ElectricityLine():
                grid = f"the {line.grid} grid in {line.year}"
                found = self.factor(f"electricity.{line.grid}.{line.year}", grid)
                emissions, dqr, primary = self._by_factor(line, found), self._rating(found), False
            case FactorLine():
                if line.factor is None:
                    raise _Gap(f"no factor given for {line.name or 'this input'}")
                found = self.factor(line.factor, line.name or "this input")
                emissions, dqr, primary = self._by_factor(line, found), self._rating(found), False
            case FuelLine():
                emissions, dqr, primary = self._fuel(line)
            case ProcessLine():
                gwp = _value(self.gwp(line.gas))
                emissions, dqr, primary = to_decimal(line.amount) * _size(line.unit) * gwp, MEASURED, True
            case TransportLine():
                found = self.factor(f"transport.{line.mode}", f"{line.mode} freight")
                emissions, dqr, primary = self._by_factor(line, found), self._rating(found), False
        return emissions, dqr, primary, self.used

    def _offer(self, line: OfferLine) -> tuple[Decimal, tuple[Decimal, Decimal, Decimal], bool]:
        offer = self.offers.get(line.offer)
        if offer is None:
            raise _Refused(f"offer {line.offer} not found", "pcf.offer_not_found")
        if offer.pcf_value is None or offer.pcf_unit is None:
            raise _Gap(f"offer {offer.id} ({offer.title}) states no footprint")
        footprint = Footprint.parse(offer.pcf_value, offer.pcf_unit)
        family, size = unit_size(line.unit)
        if footprint.family != family:
            raise _Refused(
                f"offer {offer.id}'s footprint is per {footprint.unit.declared_unit}; "
                f"the line counts it in {line.unit}",
                "pcf.offer_unit",
            )
        dqr = tuple(to_decimal(rating) for rating in offer.dqr) if offer.dqr else (UNRATED,) * 3
        return to_decimal(line.amount) * size * footprint.canonical_value, dqr, offer.verified  # type: ignore[return-value]

    def _by_factor(self, line: Line, factor: Factor) -> Decimal:
        denominator = FACTOR_DENOMINATORS.get(factor.unit)
        family, size = unit_size(line.unit)
        if denominator is None or denominator[0] != family:
            raise _Refused(
                f"factor {factor.key} is in {factor.unit}; the line counts it in {line.unit}",
                "pcf.factor_unit",
            )
        return to_decimal(line.amount) * size / denominator[1] * _value(factor)

    def _fuel(self, line: FuelLine) -> tuple[Decimal, tuple[Decimal, Decimal, Decimal], bool]:
        family, size = unit_size(line.unit)
        quantity = to_decimal(line.amount) * size
        if family == UnitFamily.MASS:
            ncv = self.factor(f"ncv.{line.fuel}", f"the net calorific value of {line.fuel}")
            terajoules = quantity / KG_PER_GG * _value(ncv)
        else:
            terajoules = quantity / MJ_PER_TJ
        per_terajoule = Decimal(0)
        for factor_gas, gwp_gas in COMBUSTION_GASES:
            emitted = self.factor(
                f"combustion.{line.fuel}.{factor_gas}", f"{factor_gas.upper()} from {line.fuel}"
            )
            per_terajoule += _value(emitted) * _value(self.gwp(gwp_gas))
        rating = self._rating(self.cited[f"combustion.{line.fuel}.co2"])
        return terajoules * per_terajoule, rating, False

    def _rating(self, factor: Factor) -> tuple[Decimal, Decimal, Decimal]:
        """A library factor's DQR: technological, temporal, geographical."""
        if factor.year is None or self.bom.year is None:
            temporal = GENERIC_TECHNOLOGY
        else:
            gap = abs(factor.year - self.bom.year)
            temporal = Decimal(1) if gap <= 1 else Decimal(2) if gap <= 3 else Decimal(3)
        if factor.region is None or self.bom.region is None:
            geographical = GENERIC_TECHNOLOGY
        elif factor.region.split()[:1] == [self.bom.region.upper()]:
            geographical = Decimal(1)
        else:
            geographical = Decimal(3)
        return GENERIC_TECHNOLOGY, temporal, geographical


def _value(factor: Factor) -> Decimal:
    return to_decimal(factor.value)


def _size(unit: str) -> Decimal:
    return unit_size(unit)[1]


def allocation_share(bom: BillOfMaterials) -> Decimal:
    """The product's share of the batch's emissions: 1 without co-products, else by mass or revenue."""
    if not bom.co_products:
        return Decimal(1)
    if bom.allocation == "mass":
        own = to_decimal(bom.output.amount) * _size(bom.output.unit)
        others = sum((to_decimal(p.amount) * _size(p.unit) for p in bom.co_products), Decimal(0))
    else:
        assert bom.output_price is not None
        own = to_decimal(bom.output.amount) * to_decimal(bom.output_price)
        others = sum((to_decimal(p.amount) * to_decimal(p.price or 0) for p in bom.co_products), Decimal(0))
    return own / (own + others)


def calculate(
    bom: BillOfMaterials, *, factors: Mapping[str, Factor], offers: Mapping[int, OfferInput]
) -> Calculation:
    """Count every line; raise BomRefused naming each line that cannot be read."""
    counter = _Counter(bom, factors, offers)
    share = allocation_share(bom)
    # kg CO2e of the batch -> kg CO2e per declared unit of the product.
    per_declared_unit = (
        share / (to_decimal(bom.output.amount) * _size(bom.output.unit)) * _size(bom.declared_unit)
    )
    results: list[LineResult] = []
    counted: list[tuple[LineResult, Decimal]] = []  # the lines with a factor, and their kg per declared unit
    problems: list[LineProblem] = []
    for number, line in enumerate(bom.lines, start=1):
        name = line.name or _default_name(line)
        result = LineResult(line=number, kind=line.kind, name=name, stage=line.counted_stage, emissions=None)
        results.append(result)
        try:
            emissions, dqr, primary, keys = counter.count(line)
        except _Gap as gap:
            result.gap = str(gap)
        except _Refused as refused:
            problems.append(LineProblem(number, str(refused), refused.code))
        except UnitError as error:
            problems.append(LineProblem(number, str(error), error.code))
        else:
            result.emissions = emissions
            result.per_declared_unit = emissions * per_declared_unit
            result.dqr, result.primary, result.factors = dqr, primary, keys
            counted.append((result, result.per_declared_unit))
    if problems:
        raise BomRefused(problems)
    covered = sum((value for _, value in counted), Decimal(0))
    if abs(covered) > MAX_FOOTPRINT_MAGNITUDE:
        raise BomRefused([LineProblem(0, "the footprint is beyond any real product's", "pcf.too_large")])
    if covered and abs(covered) < SMALLEST_FOOTPRINT:
        # Not a product's footprint but a slip of the amounts; stated, it would read as zero.
        raise BomRefused([LineProblem(0, "the footprint is below any real product's", "pcf.too_small")])
    complete = len(counted) == len(results)
    by_stage: dict[str, Decimal] = {}
    for result, value in counted:
        by_stage[result.stage] = by_stage.get(result.stage, Decimal(0)) + value
        result.share = value / covered if covered else Decimal(0)
    return Calculation(
        unit=f"kgCO2e/{bom.declared_unit}",
        total=covered if complete else None,
        covered=covered,
        allocation_share=share,
        lines=results,
        by_stage=by_stage,
        hotspots=_hotspots(counted),
        primary_share=_primary_share(counted) if complete else None,
        dqr=_weighted_dqr(counted) if complete else None,
        factors=sorted(counter.cited.values(), key=lambda factor: factor.key),
        notes=sorted(counter.notes),
    )


def _default_name(line: Line) -> str:
    match line:
        case OfferLine():
            return f"offer {line.offer}"
        case ElectricityLine():
            return f"electricity ({line.grid}, {line.year})"
        case FactorLine():
            return line.factor or "input without a factor"
        case FuelLine():
            return line.fuel
        case ProcessLine():
            return f"{line.gas} released"
        case TransportLine():
            return f"transport ({line.mode})"


def _hotspots(counted: list[tuple[LineResult, Decimal]]) -> list[LineResult]:
    """The fewest lines, largest first, that account for HOTSPOT_SHARE of the emissions (at most five)."""
    ranked = sorted(counted, key=lambda pair: pair[1], reverse=True)
    hotspots: list[LineResult] = []
    reached = Decimal(0)
    for result, _ in ranked[:MOST_HOTSPOTS]:
        if reached >= HOTSPOT_SHARE or not result.share:
            break
        hotspots.append(result)
        reached += result.share
    return hotspots


def _weight(counted: list[tuple[LineResult, Decimal]]) -> Decimal:
    """What the lines weigh together: their emissions' magnitudes (an input credited with negative
    emissions weighs as much as one emitting as much; a share stays within 0..100%, a rating within 1..3)."""
    return sum((abs(value) for _, value in counted), Decimal(0))


def _primary_share(counted: list[tuple[LineResult, Decimal]]) -> Decimal | None:
    """The percent of the footprint that comes from primary data (PACT's primaryDataShare)."""
    weight = _weight(counted)
    if not weight:
        return None
    return sum((abs(value) for result, value in counted if result.primary), Decimal(0)) / weight * 100


def _weighted_dqr(counted: list[tuple[LineResult, Decimal]]) -> tuple[Decimal, Decimal, Decimal] | None:
    """Each rating averaged over the lines, weighted by their emissions (PACT's DQR, 1 good .. 3 poor)."""
    weight = _weight(counted)
    if not weight:
        return None
    sums = [Decimal(0)] * 3
    for result, value in counted:
        assert result.dqr is not None
        for index, rating in enumerate(result.dqr):
            sums[index] += rating * abs(value)
    return sums[0] / weight, sums[1] / weight, sums[2] / weight
