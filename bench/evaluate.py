"""Per-decision latency of the evaluator (durable_rules) against the plain-Python transition table.

For every seed SOP the benchmark builds the questions a running platform asks: every (step, action)
with an allowed role and entries that make its guard and branch hold (one question per branch),
and the usual refusals: a role that may not act, a required entry left empty, a guard that does not
hold, and an action the step does not offer. The same question list is answered three ways in the
same run, in interleaved blocks:

* ``Evaluator.decide``        - normalise fields, post to durable_rules, interpret the fired rule;
* ``TransitionTable.decide``  - the same normalisation and interpretation, lookup in plain Python;
* ``TransitionTable.outcome`` - the bare lookup on already normalised values (no Decision built).

It prints p50/p90/p99 per call, decisions per second (from a loop without per-call timers), the
ratios evaluator/table, and whether the evaluator's p50 meets the target (100 µs). Timings are
reported, never asserted; only the answers are checked (the three must agree).

    .venv/bin/python bench/evaluate.py            # 20 000 decisions per method
    .venv/bin/python bench/evaluate.py --quick    # a short run
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules import expr as ex
from rules.compiler import required_fields
from rules.evaluator import CompiledSop, Evaluator, normalise_fields
from rules.loader import load_catalog
from rules.model import Sop
from rules.table import TransitionTable

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "sop_definitions"
TARGET_P50_US = 100.0

# What each kind of question must be answered with (the reason of a refusal).
EXPECTED = {
    "allowed": {None},
    "wrong_role": {"not_your_role"},
    "missing": {"missing_fields"},
    "condition_false": {"condition_false"},
    "unknown_action": {"not_at_step", "step_ended"},
}


@dataclass(frozen=True)
class Question:
    sop_id: str
    kind: str
    compiled: CompiledSop
    table: TransitionTable
    step: str
    roles: tuple[str, ...]
    action: str
    fields: dict[str, Any]  # as the engine passes them (case fields merged with the payload)
    values: dict[str, Any]  # normalised, for TransitionTable.outcome


# --- building the questions ---------------------------------------------------------------


def _filler(name: str, domains: dict[str, ex.Domain]) -> Any:
    domain = domains.get(name)
    if domain is not None and domain.finite:
        return domain.values()[0]
    if domain is not None and domain.kind == "number":
        return 1
    return f"isi {name}"


def _pool(name: str, expr_list: Sequence[ex.Expr], domains: dict[str, ex.Domain]) -> list[Any]:
    """Candidate values of one field: its options, or the literals used on it and points around."""
    domain = domains.get(name)
    if domain is not None and domain.finite:
        return list(domain.values())
    out: list[Any] = ["lain"] if domain is None or domain.kind != "number" else [0]
    for e in expr_list:
        for conj in ex.dnf(e):
            for atom in conj:
                if atom.field != name:
                    continue
                literals = atom.values if isinstance(atom, ex.In) else (atom.value,)
                for v in literals:
                    out.append(v)
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        out.extend([v - 1, v + 1])
    return out


def _assignments(
    exprs: Sequence[ex.Expr], domains: dict[str, ex.Domain], base: dict[str, Any], limit: int = 5000
) -> Iterator[dict[str, Any]]:
    """``base`` with the fields the conditions mention set to each combination of candidates."""
    names = sorted(set().union(*(ex.fields_of(e) for e in exprs))) if exprs else []
    pools = [_pool(n, exprs, domains) for n in names]
    for combo in itertools.islice(itertools.product(*pools), limit):
        yield {**base, **dict(zip(names, combo, strict=True))}


def _questions_for(sop_id: str, compiled: CompiledSop, units: list[str]) -> list[Question]:
    sop: Sop = compiled.sop
    table = TransitionTable(sop)
    domains = sop.domains(units)
    domains["unit"] = ex.Domain("choice", tuple(units))
    # A case always carries the fields required at submission.
    base = {n: _filler(n, domains) for n, f in sop.fields.items() if f.required}
    out: list[Question] = []

    def add(
        kind: str, step: str, roles: Sequence[str], action: str, fields: dict[str, Any]
    ) -> None:
        values = normalise_fields(sop, fields)
        out.append(
            Question(sop_id, kind, compiled, table, step, tuple(roles), action, fields, values)
        )

    for sid, step in sop.steps.items():
        for aid, action in step.actions.items():
            allowed = sop.action_roles(step, action)
            fields = dict(base)
            for name in required_fields(action):
                fields.setdefault(name, _filler(name, domains))
            if action.when is not None:
                found = ex.witness(action.when, domains)
                if found is None:
                    continue  # the loader rejects such a guard; nothing to ask
                fields.update(found)
            chosen_fields: list[dict[str, Any]] = []
            if not action.branches:
                chosen_fields.append(fields)
            for i, branch in enumerate(action.branches):
                if branch.when is not None:
                    found = ex.witness(branch.when, domains)
                    if found is not None:
                        chosen_fields.append({**fields, **found})
                    continue
                # otherwise: values that no earlier branch accepts (and the guard still holds)
                earlier = [b.when for b in action.branches[:i] if b.when is not None]
                for candidate in _assignments(earlier, domains, fields):
                    if any(ex.evaluate(w, candidate) for w in earlier):
                        continue
                    if action.when is None or ex.evaluate(action.when, candidate):
                        chosen_fields.append(candidate)
                        break
            for chosen in chosen_fields:
                add("allowed", sid, [allowed[0]], aid, chosen)
            # Refusals, asked of the same (step, action).
            others = [r for r in sop.roles if r not in allowed] or ["tamu"]
            add("wrong_role", sid, [others[0]], aid, fields)
            needed = required_fields(action)
            if needed:
                add(
                    "missing",
                    sid,
                    [allowed[0]],
                    aid,
                    {k: v for k, v in fields.items() if k != needed[0]},
                )
            if action.when is not None:
                for candidate in _assignments([action.when], domains, fields):
                    if not ex.evaluate(action.when, candidate):
                        add("condition_false", sid, [allowed[0]], aid, candidate)
                        break
        # An action this step does not offer (on a terminal step: the case has ended).
        role = step.by or next(iter(sop.roles))
        add("unknown_action", sid, [role], "aksi_asing", dict(base))
    return out


def build_questions(evaluator: Evaluator) -> list[Question]:
    catalog = load_catalog([DEFINITIONS])
    if not catalog.ok:
        raise SystemExit("the seed catalog has problems:\n" + "\n".join(map(str, catalog.problems)))
    questions: list[Question] = []
    for sop_id, loaded in sorted(catalog.latest().items()):
        compiled = evaluator.register(loaded)
        units = list(catalog.regions[loaded.sop.region].units)
        questions.extend(_questions_for(sop_id, compiled, units))
    return questions


def check_answers(evaluator: Evaluator, questions: Sequence[Question]) -> list[str]:
    """Every method must answer every question as expected (this is checked, timings are not)."""
    problems: list[str] = []
    for q in questions:
        got = evaluator.decide(q.compiled, q.step, q.roles, q.action, q.fields)
        ref = q.table.decide(q.step, q.roles, q.action, q.fields)
        code = q.table.outcome(q.step, q.roles, q.action, q.values)
        where = f"{q.sop_id}:{q.step}.{q.action} ({q.kind}, roles {list(q.roles)})"
        if got != ref:
            problems.append(f"{where}: evaluator {got.reason!r} != table {ref.reason!r}")
        if got.reason not in EXPECTED[q.kind]:
            problems.append(f"{where}: answered {got.reason or 'allowed'}: {got.message}")
        if got.allowed != code.startswith(("go:", "stay:")):
            problems.append(f"{where}: outcome code {code!r} disagrees with the decision")
        if not evaluator.session_is_clean(q.compiled):
            problems.append(f"{where}: the durable_rules session kept state")
    return problems


# --- timing -------------------------------------------------------------------------------

Call = tuple[Callable[..., Any], tuple[Any, ...]]


def _calls(method: str, evaluator: Evaluator, seq: Sequence[Question]) -> list[Call]:
    if method == "Evaluator.decide":
        decide = evaluator.decide
        return [(decide, (q.compiled, q.step, q.roles, q.action, q.fields)) for q in seq]
    if method == "TransitionTable.decide":
        return [(q.table.decide, (q.step, q.roles, q.action, q.fields)) for q in seq]
    return [(q.table.outcome, (q.step, q.roles, q.action, q.values)) for q in seq]


def _per_call_ns(calls: Sequence[Call]) -> list[int]:
    clock = time.perf_counter_ns
    out = [0] * len(calls)
    for i, (fn, args) in enumerate(calls):
        t0 = clock()
        fn(*args)
        out[i] = clock() - t0
    return out


def _loop_ns(calls: Sequence[Call]) -> int:
    """The whole list without per-call timers (for decisions per second)."""
    t0 = time.perf_counter_ns()
    for fn, args in calls:
        fn(*args)
    return time.perf_counter_ns() - t0


def _timer_overhead_ns(n: int = 20_000) -> int:
    clock = time.perf_counter_ns
    samples = [0] * n
    for i in range(n):
        t0 = clock()
        samples[i] = clock() - t0
    return int(statistics.median(samples))


def pct(sorted_ns: Sequence[int], p: float) -> float:
    """Nearest-rank percentile, in microseconds."""
    if not sorted_ns:
        return float("nan")
    k = max(0, min(len(sorted_ns) - 1, round(p / 100 * len(sorted_ns) + 0.5) - 1))
    return sorted_ns[k] / 1000


METHODS = ("Evaluator.decide", "TransitionTable.decide", "TransitionTable.outcome")


@dataclass
class Result:
    samples: list[int]
    loop_ns: int
    loop_n: int
    by_kind: dict[str, list[int]]

    def p(self, q: float) -> float:
        return pct(self.samples, q)

    @property
    def per_second(self) -> float:
        return self.loop_n / (self.loop_ns / 1e9) if self.loop_ns else float("nan")


def run(
    evaluator: Evaluator, questions: list[Question], total: int, blocks: int, seed: int
) -> dict[str, Result]:
    rng = random.Random(seed)
    rounds = -(-total // len(questions))
    seq: list[Question] = []
    for _ in range(rounds):
        chunk = list(questions)
        rng.shuffle(chunk)
        seq.extend(chunk)
    seq = seq[:total]
    calls = {m: _calls(m, evaluator, seq) for m in METHODS}
    kinds = [q.kind for q in seq]

    # Warm up every method on every question (caches, branch predictors, lazy imports).
    for m in METHODS:
        _loop_ns(_calls(m, evaluator, questions) * 3)

    results = {m: Result([], 0, 0, {}) for m in METHODS}
    size = -(-len(seq) // blocks)
    gc.collect()
    gc.disable()
    try:
        for b in range(blocks):
            lo, hi = b * size, min(len(seq), (b + 1) * size)
            order = METHODS[b % 3 :] + METHODS[: b % 3]  # rotate who goes first
            for m in order:
                part = calls[m][lo:hi]
                ns = _per_call_ns(part)
                res = results[m]
                res.samples.extend(ns)
                for kind, t in zip(kinds[lo:hi], ns, strict=True):
                    res.by_kind.setdefault(kind, []).append(t)
                res.loop_ns += _loop_ns(part)
                res.loop_n += len(part)
    finally:
        gc.enable()
    for res in results.values():
        res.samples.sort()
        for v in res.by_kind.values():
            v.sort()
    return results


# --- report -------------------------------------------------------------------------------


def report(results: dict[str, Result], questions: list[Question], overhead_ns: int) -> None:
    counts: dict[str, int] = {}
    for q in questions:
        counts[q.kind] = counts.get(q.kind, 0) + 1
    sops = sorted({q.sop_id for q in questions})
    n = len(results[METHODS[0]].samples)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"python {platform.python_version()} on {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} CPUs, load average {load} (other work on the machine skews timings)"
    )
    print(
        f"{len(questions)} distinct questions over {len(sops)} SOPs "
        f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
        f"{n} timed decisions per method"
    )
    print(f"timer overhead (perf_counter_ns pair, p50): {overhead_ns} ns, included per call")
    print()
    head = (
        f"{'method':<26}{'p50 µs':>10}{'p90 µs':>10}{'p99 µs':>10}{'max µs':>10}{'decisions/s':>14}"
    )
    print(head)
    print("-" * len(head))
    for m in METHODS:
        r = results[m]
        print(
            f"{m:<26}{r.p(50):>10.2f}{r.p(90):>10.2f}{r.p(99):>10.2f}"
            f"{r.samples[-1] / 1000:>10.1f}{r.per_second:>14,.0f}"
        )
    print()
    ev = results["Evaluator.decide"]
    for base in ("TransitionTable.decide", "TransitionTable.outcome"):
        b = results[base]
        print(
            f"ratio Evaluator.decide / {base}: p50 {ev.p(50) / b.p(50):.1f}x, "
            f"p99 {ev.p(99) / b.p(99):.1f}x, throughput {b.per_second / ev.per_second:.1f}x"
        )
    print()
    print("p50 µs by kind of question:")
    kinds = sorted(ev.by_kind)
    print(f"  {'kind':<18}" + "".join(f"{m:>26}" for m in METHODS))
    for k in kinds:
        cells = "".join(f"{pct(results[m].by_kind[k], 50):>26.2f}" for m in METHODS)
        print(f"  {k:<18}{cells}")
    print()
    p50 = ev.p(50)
    verdict = "met" if p50 <= TARGET_P50_US else "NOT met"
    print(f"target Evaluator.decide p50 <= {TARGET_P50_US:.0f} µs: {verdict} ({p50:.1f} µs)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short run (2 000 decisions)")
    parser.add_argument("--decisions", type=int, default=None, help="timed decisions per method")
    parser.add_argument("--blocks", type=int, default=6, help="interleaved blocks per method")
    parser.add_argument("--seed", type=int, default=1, help="seed of the question order")
    args = parser.parse_args(argv)
    total = args.decisions or (2_000 if args.quick else 20_000)

    evaluator = Evaluator()
    questions = build_questions(evaluator)
    problems = check_answers(evaluator, questions)
    if problems:
        print("the answers disagree; timings would be meaningless:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 2
    overhead = _timer_overhead_ns()
    results = run(evaluator, questions, total, max(1, args.blocks), args.seed)
    report(results, questions, overhead)
    return 0


if __name__ == "__main__":
    sys.exit(main())
