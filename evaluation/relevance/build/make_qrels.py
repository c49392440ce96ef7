"""Write qrels.tsv and qrels_unfiltered.tsv from the graders' topical grades, and report their agreement.

    .venv/bin/python evaluation/relevance/build/make_qrels.py

Inputs: grades/g*.tsv (the first grading: one grader per need, every pool candidate graded 0-3, topically,
ignoring the hard filters) and grades/blind.tsv (a second, blind grading of some of the same needs).

A need is answerable only when some offer is what it asks for or a close substitute (grade >= 2): a need
whose pool holds only neighbours of the product (grade 1) has an empty right answer, in both views, and is
left out of both files (so the scorer expects an empty list, and a list of neighbours earns nothing).
For an answerable need:
- qrels_unfiltered.tsv: every offer graded >= 1;
- qrels.tsv: those that pass every hard filter of the need (the scorer's `filter_failures`), an
  out-of-region 3 lowered to 2 (the need's region is a preference), as in eval-dev; a need whose
  grade >= 2 offers all fail a filter is left out of qrels.tsv (its filtered answer is empty).
"""

from __future__ import annotations

import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from dataset import load_jsonl, load_scorer  # noqa: E402

OUT = HERE.parent
GRADES = OUT / "grades"
Grades = dict[str, dict[str, int]]  # need id -> offer id -> grade


def read_grades(path: Path) -> Grades:
    """One grader's file; a candidate graded twice keeps its last grade (a grader's own correction)."""
    grades: Grades = defaultdict(dict)
    with path.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 3 or row[0] == "need_id":
                continue
            need_id, offer_id, grade = (cell.strip() for cell in row[:3])
            if grade in {"0", "1", "2", "3"}:
                grades[need_id][offer_id] = int(grade)
    return grades


def answerable(judged: dict[str, int]) -> bool:
    return any(grade >= 2 for grade in judged.values())


def write_qrels(path: Path, rows: list[tuple[str, str, int]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("need_id\toffer_id\tgrade\n")
        handle.writelines(f"{n}\t{o}\t{g}\n" for n, o, g in sorted(rows))


def quadratic_kappa(pairs: list[tuple[int, int]], levels: int = 4) -> float:
    """Cohen's kappa with quadratic weights, for two graders' grades of the same items."""
    observed = [[0.0] * levels for _ in range(levels)]
    for a, b in pairs:
        observed[a][b] += 1
    total = len(pairs)
    rows = [sum(row) for row in observed]
    columns = [sum(observed[i][j] for i in range(levels)) for j in range(levels)]
    weight = [[(i - j) ** 2 / (levels - 1) ** 2 for j in range(levels)] for i in range(levels)]
    disagreement = sum(weight[i][j] * observed[i][j] for i in range(levels) for j in range(levels)) / total
    expected = (
        sum(weight[i][j] * rows[i] * columns[j] for i in range(levels) for j in range(levels)) / total**2
    )
    return 1.0 - disagreement / expected if expected else 1.0


def cohen_kappa(pairs: list[tuple[bool, bool]]) -> float:
    total = len(pairs)
    agree = sum(a == b for a, b in pairs) / total
    first, second = sum(a for a, _ in pairs) / total, sum(b for _, b in pairs) / total
    chance = first * second + (1 - first) * (1 - second)
    return (agree - chance) / (1 - chance) if chance < 1 else 1.0


def agreement(first: Grades, blind: Grades) -> dict[str, float]:
    """How the blind second grading agrees with the first, on the needs both graded."""
    pairs = [
        (first[need][offer], grade)
        for need, judged in blind.items()
        if need in first
        for offer, grade in judged.items()
        if offer in first[need]
    ]
    needs = [need for need in blind if need in first]
    relevant = [(a >= 2, b >= 2) for a, b in pairs]
    empty = [(answerable(first[n]), answerable(blind[n])) for n in needs]
    return {
        "needs": len(needs),
        "candidates": len(pairs),
        "exact": sum(a == b for a, b in pairs) / len(pairs),
        "within_one": sum(abs(a - b) <= 1 for a, b in pairs) / len(pairs),
        "kappa_quadratic": quadratic_kappa(pairs),
        "kappa_relevant": cohen_kappa(relevant),
        "answerable_agree": sum(a == b for a, b in empty) / len(empty),
    }


def main() -> None:
    scorer = load_scorer()
    offers = {offer["id"]: offer for offer in load_jsonl(OUT / "offers.jsonl")}
    needs = {need["id"]: need for need in load_jsonl(OUT / "needs.jsonl")}
    first: Grades = {}
    for path in sorted(GRADES.glob("g*.tsv")):
        for need_id, judged in read_grades(path).items():
            first.setdefault(need_id, {}).update(judged)
    missing = sorted(set(needs) - set(first))
    if missing:
        sys.exit(f"not graded yet: {len(missing)} needs ({', '.join(missing[:10])} ...)")
    filtered: list[tuple[str, str, int]] = []
    unfiltered: list[tuple[str, str, int]] = []
    empty_filtered = empty_unfiltered = 0
    for need_id, judged in first.items():
        need = needs[need_id]
        if not answerable(judged):
            empty_unfiltered += 1
            empty_filtered += 1
            continue
        unfiltered += [(need_id, offer, grade) for offer, grade in judged.items() if grade >= 1]
        eligible = {o: g for o, g in judged.items() if g >= 1 and not scorer.filter_failures(offers[o], need)}
        if not answerable(eligible):
            empty_filtered += 1
            continue
        for offer, grade in eligible.items():
            if grade == 3 and not scorer.in_region(need.get("region_preference"), offers[offer]["region"]):
                grade = 2
            filtered.append((need_id, offer, grade))
    write_qrels(OUT / "qrels.tsv", filtered)
    write_qrels(OUT / "qrels_unfiltered.tsv", unfiltered)
    counts = Counter(grade for judged in first.values() for grade in judged.values())
    print(
        f"{len(first)} needs, {sum(counts.values())} graded candidates, grades {dict(sorted(counts.items()))}"
    )
    print(f"empty right answer: {empty_unfiltered} unfiltered, {empty_filtered} filtered")
    blind_path = GRADES / "blind.tsv"
    if blind_path.exists():
        figures = agreement(first, read_grades(blind_path))
        print("blind second grading: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
