"""A calculation as plain lines of text, for the command line: the total, each line's part, the stages,
the hotspots, the data quality, the gaps and the factors cited with their sources."""

from __future__ import annotations

from collections.abc import Iterator

from matchmaker.pcf.schemas import CalculationRead


def _number(value: float) -> str:
    return f"{value:.6g}"


def lines_of(result: CalculationRead) -> Iterator[str]:
    if result.total is not None:
        total = f"{_number(result.total)} {result.unit}"
        yield f"footprint: {total} (calculated with factor library {result.library_version})"
    else:
        yield (
            f"incomplete: {len(result.gaps)} line(s) without a factor; the lines counted add up to "
            f"{_number(result.covered)} {result.unit}, which is not the footprint"
        )
    for line in result.lines:
        if line.gap is not None:
            yield f"  line {line.line} {line.name}: GAP, {line.gap}"
        elif line.per_declared_unit is not None and line.share is not None:
            primary = ", primary" if line.primary else ""
            yield (
                f"  line {line.line} {line.name} [{line.stage}]: {_number(line.per_declared_unit)} "
                f"({line.share:.1%}{primary})"
            )
    yield "by stage: " + ", ".join(f"{stage} {_number(value)}" for stage, value in result.by_stage.items())
    if result.hotspots:
        yield "hotspots: lines " + ", ".join(str(line) for line in result.hotspots)
    if result.primary_data_share is not None:
        yield f"primary data share: {result.primary_data_share:.1f}%"
    if result.dqr is not None:
        dqr = result.dqr
        yield (
            f"data quality (1 good .. 3 poor): technological {dqr.technological:.2f}, temporal "
            f"{dqr.temporal:.2f}, geographical {dqr.geographical:.2f}"
        )
    if result.allocation_share != 1:
        yield f"allocated to the product: {result.allocation_share:.4g} of the batch's emissions"
    for note in result.notes:
        yield f"note: {note}"
    yield "factors cited:"
    for factor in result.factors:
        yield f"  {factor.key} = {factor.value:g} {factor.unit}: {factor.source}, {factor.source_table}"
