"""ILCD process data sets (a zip of them, or one XML file), with the EPD extension's results per module.

The result of a data set: its climate-change LCIA result (EN 15804's `epd:amount` per module, the product
stage A1-A3 taken; plain ILCD's `meanAmount` otherwise), for the amount of its reference flow. The flow's
unit comes from its flow data set when the zip holds it (the reference flow property: mass, area, volume,
items, energy), else from the caller (`declared_unit`).
Parsed with defusedxml: a data set from anyone may not expand entities or reach out for external ones.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from decimal import Decimal
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from matchmaker.lca.products import (
    LcaProduct,
    ProductUnreadable,
    climate_indicator,
    cradle_to_gate,
    kg_per_emission_unit,
    number,
    plain,
    positive,
    read_entry,
)

# The reference flow property's name (ILCD's reference data) -> the declared unit of its reference unit.
PROPERTY_UNITS = {
    "mass": "kg",
    "area": "m2",
    "volume": "m3",
    "number of items": "unit",
    "net calorific value": "MJ",
    "gross calorific value": "MJ",
    "energy": "MJ",
}


def _local(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _find(element: Element | None, *path: str) -> Element | None:
    """The first descendant along `path`, by local names (ILCD files use several namespace prefixes)."""
    for name in path:
        if element is None:
            return None
        element = next((child for child in element if _local(child) == name), None)
    return element


def _all(element: Element | None, name: str) -> list[Element]:
    return [] if element is None else [child for child in element.iter() if _local(child) == name]


def _text(element: Element | None) -> str | None:
    return None if element is None or element.text is None else element.text.strip()


def _attribute(element: Element, name: str) -> str | None:
    """An attribute with or without a namespace (`module`, `epd:module`)."""
    for key, value in element.attrib.items():
        if key.rsplit("}", 1)[-1] == name:
            return value
    return None


def _short_descriptions(reference: Element | None, *, tag: str = "shortDescription") -> str:
    """A reference's name: the English one when there is one, else the first stated."""
    names = _all(reference, tag)
    english = [_text(item) for item in names if item.get(_XML_LANG) == "en"]
    return next((name for name in (*english, *(_text(item) for item in names)) if name), "")


_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def parse(body: bytes) -> Element:
    try:
        root: Element = ElementTree.fromstring(body)
        return root
    except (ElementTree.ParseError, DefusedXmlException, LookupError, ValueError) as error:
        raise ProductUnreadable(f"not a readable XML data set: {error}") from None


def product_of(process: Element, *, flows: dict[str, Element], declared_unit: str | None) -> LcaProduct:
    """The product one process data set describes."""
    if _local(process) != "processDataSet":
        raise ProductUnreadable(f"not an ILCD process data set (<{_local(process)}>)")
    information = _find(process, "processInformation", "dataSetInformation")
    uuid = _text(_find(information, "UUID"))
    if not uuid:
        raise ProductUnreadable("the data set has no UUID")
    name = _short_descriptions(_find(information, "name"), tag="baseName") or uuid
    version = _text(_find(process, "administrativeInformation", "publicationAndOwnership", "dataSetVersion"))
    owner = _short_descriptions(
        _find(
            process, "administrativeInformation", "publicationAndOwnership", "referenceToOwnershipOfDataSet"
        )
    )
    amount, flow_id = _reference_flow(process)
    unit, per_unit = _flow_unit(flows.get(flow_id), declared_unit)
    results = [
        (_short_descriptions(_find(result, "referenceToLCIAMethodDataSet")), result)
        for result in _all(process, "LCIAResult")
    ]
    indicator, result = climate_indicator(results)
    amounts = [item for item in _all(result, "amount") if _attribute(item, "module")]
    emission_unit = (
        _short_descriptions(next(iter(_all(result, "referenceToUnitGroupDataSet")), None)) or "kg CO2 eq"
    )
    kg = kg_per_emission_unit(emission_unit)
    modules: dict[str, str | None] = {}
    if amounts:
        values: dict[str, Decimal | None] = {}
        for item in amounts:
            module = _attribute(item, "module") or ""
            scenario = _attribute(item, "scenario")
            value = number(item.text)
            modules[f"{module} ({scenario})" if scenario else module] = (
                None if value is None else plain(value)
            )
            if not scenario:
                values[module] = value
        gwp, scope = cradle_to_gate(values)
        source_format = "ilcd+epd"
    else:
        stated = number(_text(_find(result, "meanAmount")))
        if stated is None:
            raise ProductUnreadable(f"{indicator}: no amount stated")
        gwp, scope, source_format = stated, None, "ilcd"
    return LcaProduct(
        uuid=uuid, version=version, name=name, source_format=source_format, entity="process",
        gwp_kg=gwp * kg, amount=amount * per_unit, unit=unit, indicator=indicator, owner=owner or None,
        modules=modules, scope=scope,
    )  # fmt: skip


def _reference_flow(process: Element) -> tuple[Decimal, str]:
    reference = _text(
        _find(process, "processInformation", "quantitativeReference", "referenceToReferenceFlow")
    )
    for exchange in _all(_find(process, "exchanges"), "exchange"):
        if exchange.get("dataSetInternalID") == reference:
            stated = _text(_find(exchange, "meanAmount")) or _text(_find(exchange, "resultingAmount"))
            amount = positive(number(stated), "the reference flow's amount")
            flow = _find(exchange, "referenceToFlowDataSet")
            return amount, (flow.get("refObjectId") or "") if flow is not None else ""
    raise ProductUnreadable("the data set names no reference flow")


def _flow_unit(flow: Element | None, declared_unit: str | None) -> tuple[str, Decimal]:
    """The reference flow's declared unit and how many of it one unit of the flow is."""
    if flow is None:
        if declared_unit is None:
            raise ProductUnreadable(
                "the reference flow's data set is not in the file, so its unit is unknown: import the zip "
                "with its flows, or say the declared unit"
            )
        return declared_unit, Decimal(1)
    reference = _text(
        _find(flow, "flowInformation", "quantitativeReference", "referenceToReferenceFlowProperty")
    )
    for item in _all(_find(flow, "flowProperties"), "flowProperty"):
        if item.get("dataSetInternalID") == reference:
            name = _short_descriptions(_find(item, "referenceToFlowPropertyDataSet")).lower()
            unit = next((unit for known, unit in PROPERTY_UNITS.items() if name.startswith(known)), None)
            if unit is None:
                raise ProductUnreadable(f"reference flow property {name!r} has no declared unit here")
            stated = _text(_find(item, "meanValue"))
            size = (
                Decimal(1) if stated is None else positive(number(stated), "the flow property's mean value")
            )
            return unit, size
    raise ProductUnreadable("the reference flow's data set names no reference flow property")


def read_zip(
    archive: zipfile.ZipFile, *, declared_unit: str | None
) -> Iterator[tuple[str, LcaProduct | ProductUnreadable]]:
    """Every process data set of an ILCD zip, by its path in the zip."""
    flows: dict[str, Element] = {}
    processes: list[str] = []
    for path in archive.namelist():
        lowered = path.lower()
        if not lowered.endswith(".xml"):
            continue
        if "/flows/" in f"/{lowered}":
            try:
                flow = parse(read_entry(archive, path))
            except ProductUnreadable:
                continue
            uuid = _text(_find(flow, "flowInformation", "dataSetInformation", "UUID"))
            if uuid:
                flows[uuid] = flow
        elif "/processes/" in f"/{lowered}":
            processes.append(path)
    for path in processes:
        try:
            yield path, product_of(parse(read_entry(archive, path)), flows=flows, declared_unit=declared_unit)
        except ProductUnreadable as problem:
            yield path, problem
        except ArithmeticError as error:
            yield path, ProductUnreadable(f"a number cannot be read: {error!r}")
