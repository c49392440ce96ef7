"""openLCA JSON-LD zips: version 2 (olca-schema, `olca-schema.json` in the zip) and version 1 exports.

What becomes a footprint:
- an EPD (`epds/`): its product's amount and unit, and the climate-change result of its product-stage
  modules (A1-A3, or A1 + A2 + A3), each module's result read from `results/` times its multiplier;
- a result (`results/`) that no EPD uses as a module: its climate-change impact result, for its
  reference flow's amount and unit;
- a process that carries LCIA results (`impactResults`): for its quantitative reference.
A version-2 entity is read with GreenDelta's `olca_schema` classes; version 1 has no result or EPD type,
so its processes are read as plain JSON.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import olca_schema as olca

from matchmaker.clean_text import loads
from matchmaker.lca.products import (
    LcaProduct,
    ProductUnreadable,
    bounded,
    climate_indicator,
    cradle_to_gate,
    declared_unit,
    kg_per_emission_unit,
    plain,
    positive,
    read_entry,
)

Read = tuple[str, LcaProduct | ProductUnreadable]


def is_openlca(archive: zipfile.ZipFile) -> bool:
    names = archive.namelist()
    return "olca-schema.json" in names or any(
        name.endswith(".json") and name.lstrip("/").split("/")[0] in {"processes", "results", "epds", "flows"}
        for name in names
    )


def version_of(archive: zipfile.ZipFile) -> int:
    if "olca-schema.json" not in archive.namelist():
        return 1
    try:
        stated = loads(read_entry(archive, "olca-schema.json")).get("version")
    except (ValueError, AttributeError, RecursionError, ProductUnreadable):
        return 2
    return 1 if stated == 1 and not isinstance(stated, bool) else 2  # the versions there are


def _entities(
    archive: zipfile.ZipFile, folder: str
) -> Iterator[tuple[str, dict[str, Any] | ProductUnreadable]]:
    names = archive.namelist()
    repeated = {name for name, count in Counter(names).items() if count > 1}
    for path in dict.fromkeys(names):  # each name once, in the zip's order
        if path.lstrip("/").startswith(f"{folder}/") and path.endswith(".json"):
            if path in repeated:
                yield path, ProductUnreadable("the zip holds several entries of this name: none is taken")
                continue
            try:
                entity = loads(read_entry(archive, path))
            except ProductUnreadable as problem:
                yield path, problem
                continue
            except (ValueError, RecursionError) as error:
                yield path, ProductUnreadable(f"not JSON: {str(error)[:200]}")
                continue
            yield path, entity if isinstance(entity, dict) else ProductUnreadable("not a JSON object")


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ProductUnreadable(f"not a number: {value!r}")
    try:
        return bounded(Decimal(repr(value) if isinstance(value, float) else value))
    except ArithmeticError:
        raise ProductUnreadable(f"not a number: {str(value)[:40]!r}") from None


def _climate(impacts: list[olca.ImpactResult]) -> tuple[str, Decimal]:
    """The climate-change total among impact results, in kg CO2e."""
    named = [((impact.indicator.name if impact.indicator else None) or "", impact) for impact in impacts]
    indicator, impact = climate_indicator(named)
    unit = impact.indicator.ref_unit if impact.indicator else None
    return indicator, _decimal(impact.amount if impact.amount is not None else "INA") * kg_per_emission_unit(
        unit
    )


def _name(ref: olca.Ref | None) -> str | None:
    return ref.name if ref is not None else None


def read(archive: zipfile.ZipFile) -> Iterator[Read]:
    """Every product of the zip, by the path of the entity it came from."""
    version = version_of(archive)
    source_format = f"openlca-jsonld-v{version}"
    results: dict[str, dict[str, Any]] = {}
    for path, entity in _entities(archive, "results"):
        if isinstance(entity, ProductUnreadable):
            yield path, entity
        elif isinstance(entity.get("@id"), str):
            results[entity["@id"]] = entity
    used_as_modules: set[str] = set()
    for path, entity in _entities(archive, "epds"):
        if isinstance(entity, ProductUnreadable):
            yield path, entity
            continue
        try:
            epd = olca.Epd.from_dict(entity)
            used_as_modules |= {
                module.result.id for module in epd.modules or [] if module.result and module.result.id
            }
            yield path, _epd(epd, results, source_format)
        except ProductUnreadable as problem:
            yield path, problem
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as error:
            yield path, ProductUnreadable(f"not an openLCA EPD: {error}")
    for uuid, entity in results.items():
        if uuid in used_as_modules:
            continue
        path = f"results/{uuid}.json"
        try:
            yield path, _result(olca.Result.from_dict(entity), source_format)
        except ProductUnreadable as problem:
            yield path, problem
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as error:
            yield path, ProductUnreadable(f"not an openLCA result: {error}")
    for path, entity in _entities(archive, "processes"):
        if isinstance(entity, ProductUnreadable):
            yield path, entity
        elif "impactResults" in entity:
            try:
                yield path, _process(entity, source_format)
            except ProductUnreadable as problem:
                yield path, problem
            except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as error:
                yield path, ProductUnreadable(f"not an openLCA process: {error}")


def _epd(epd: olca.Epd, results: dict[str, dict[str, Any]], source_format: str) -> LcaProduct:
    product = epd.product
    if product is None or product.amount is None:
        raise ProductUnreadable("the EPD names no product amount")
    values: dict[str, Decimal | None] = {}
    indicators: set[str] = set()
    for module in epd.modules or []:
        found = results.get(module.result.id) if module.result and module.result.id else None
        if not module.name:
            continue
        if found is None:
            values[module.name] = None  # its result is not in the zip: not assessed here
            continue
        try:
            indicator, value = _climate(olca.Result.from_dict(found).impact_results or [])
        except ProductUnreadable:
            values[module.name] = None
            continue
        indicators.add(indicator)
        values[module.name] = value * _decimal(module.multiplier if module.multiplier is not None else 1)
    gwp, scope = cradle_to_gate(values)
    return LcaProduct(
        uuid=epd.id or "", version=epd.version, name=epd.name or _name(product.flow) or "EPD",
        source_format=source_format, entity="epd", gwp_kg=gwp,
        amount=positive(_decimal(product.amount), "the EPD's product amount"),
        unit=declared_unit(_name(product.unit)), indicator=", ".join(sorted(indicators)),
        owner=_name(epd.manufacturer),
        modules={name: None if value is None else plain(value) for name, value in values.items()},
        scope=scope,
    )  # fmt: skip


def _result(result: olca.Result, source_format: str) -> LcaProduct:
    indicator, gwp = _climate(result.impact_results or [])
    reference = next((flow for flow in result.flow_results or [] if flow.is_ref_flow), None)
    if reference is None or reference.amount is None:
        raise ProductUnreadable("the result names no reference flow with an amount")
    return LcaProduct(
        uuid=result.id or "", version=result.version, name=result.name or _name(reference.flow) or "result",
        source_format=source_format, entity="result", gwp_kg=gwp,
        amount=positive(_decimal(reference.amount), "the reference flow's amount"),
        unit=declared_unit(_name(reference.unit)), indicator=indicator, method=_name(result.impact_method),
    )  # fmt: skip


def _process(entity: dict[str, Any], source_format: str) -> LcaProduct:
    """A process with LCIA results, as plain JSON (v1 and v2 name its reference exchange differently)."""
    exchanges = entity.get("exchanges") or []
    reference = next(
        (
            exchange
            for exchange in exchanges
            if isinstance(exchange, dict)
            and (exchange.get("isQuantitativeReference") or exchange.get("quantitativeReference"))
        ),
        None,
    )
    if reference is None or reference.get("amount") is None:
        raise ProductUnreadable("the process names no quantitative reference with an amount")
    impacts = [
        olca.ImpactResult.from_dict(item) for item in entity["impactResults"] if isinstance(item, dict)
    ]
    indicator, gwp = _climate(impacts)
    unit = reference["unit"] if isinstance(reference.get("unit"), dict) else {}
    return LcaProduct(
        uuid=entity.get("@id", ""), version=entity.get("version"), name=entity.get("name") or "process",
        source_format=source_format, entity="process", gwp_kg=gwp,
        amount=positive(_decimal(reference["amount"]), "the quantitative reference's amount"),
        unit=declared_unit(unit.get("name")), indicator=indicator,
    )  # fmt: skip
