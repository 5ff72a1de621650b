"""Demo history: a few dozen cases per seed SOP over the past weeks, run through the real engine.

Every case is submitted, acted on, paused and resumed through :class:`CaseEngine` on a
:class:`VirtualClock`, and the :class:`Sweeper` runs at every moment a warning, breach,
escalation or missed obligation falls due, so the stored visits, events, escalation tasks and
notifications are exactly what the platform would have written had it been running all along.
Paths through each SOP are random but seeded: every action is taken now and then (steps not yet
seen are favoured), some visits are on time and some late (each unit has its own habit, so the
monthly ranking has something to rank), a few are paused, recent cases are still open (some
already late), and closed cases are sometimes rated by the reporter.

The history is written once: a database that already holds it (cases whose idempotency key
starts with ``demo-history:``) is left alone.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from rules import expr as ex
from rules.limits import Clock as ClockKind
from rules.loader import LoadedSop
from rules.model import FieldType, RoleKind, Sop
from sop_platform.cases import Actor, CaseView, Grant, NewCase, Offer, ReporterInfo
from sop_platform.engine import CaseEngine
from sop_platform.feedback import RATABLE_STATUSES, Feedback
from sop_platform.models import CaseRow, ObligationClock, StepVisit
from sop_platform.obligations import fulfil, start_clocks
from sop_platform.registry import Registry
from sop_platform.sweeper import Sweeper
from sop_platform.timekeeping import VirtualClock, WorkingCalendar

KEY_PREFIX = "demo-history:"
WEEKS = 8
CASES_PER_SOP = 44
SEED = 2025

_C = CaseRow.__table__  # type: ignore[attr-defined]
_V = StepVisit.__table__  # type: ignore[attr-defined]
_OC = ObligationClock.__table__  # type: ignore[attr-defined]

_NAMES = (
    "Budi Santoso", "Siti Rahayu", "Agus Setiawan", "Dewi Lestari", "Rina Wulandari",
    "Joko Prasetyo", "Sri Handayani", "Andi Saputra", "Nur Aini", "Hendra Gunawan",
    "Wahyu Hidayat", "Fitri Anggraini", "Bambang Sutrisno", "Yuli Astuti", "Eko Purnomo",
)  # fmt: skip
_REPORTS = (
    "Jalan di depan rumah kami berlubang dan membahayakan pengendara.",
    "Sampah menumpuk di pinggir jalan sudah lebih dari seminggu.",
    "Lampu penerangan jalan mati sejak beberapa hari.",
    "Antrean pelayanan sangat panjang dan petugas tidak memberi kepastian waktu.",
    "Saluran air tersumbat sehingga jalan tergenang saat hujan.",
    "Mohon informasi syarat pengurusan dokumen kependudukan.",
    "Puskesmas tutup lebih awal dari jadwal yang diumumkan.",
    "Pohon tumbang menghalangi jalan kampung.",
    "Saran: jadwal pelayanan keliling diumumkan lebih awal.",
    "Aplikasi tidak dapat dibuka sejak pagi, muncul pesan galat.",
    "Bau menyengat dari saluran pembuangan di dekat pasar.",
    "Pertanyaan tentang jadwal pengambilan KTP elektronik.",
)  # fmt: skip
_ENTRIES = {
    "jawaban": (
        "Terima kasih atas laporan Anda; petugas telah menindaklanjuti di lokasi.",
        "Permohonan Anda sudah kami proses; silakan cek kembali dalam dua hari kerja.",
        "Informasi yang Anda minta kami lampirkan pada jawaban ini.",
        "Laporan telah diteruskan dan ditangani oleh unit teknis terkait.",
    ),
    "alasan": (
        "Laporan bukan kewenangan unit ini.",
        "Data laporan belum lengkap.",
        "Salah kategori; dialihkan ke unit yang menangani.",
    ),
    "catatan": (
        "Sudah dikonfirmasi dengan pelapor melalui telepon.",
        "Petugas dijadwalkan ke lokasi.",
        "Menunggu koordinasi dengan vendor.",
    ),
    "laporan": (
        "Penanganan selesai, dokumentasi terlampir.",
        "Perbaikan sementara dilakukan, perbaikan permanen dijadwalkan.",
        "Tindak lanjut sudah dilakukan sesuai prosedur.",
    ),
}
_COMMENTS = (
    "Terima kasih, cepat ditangani.",
    "Jawaban jelas.",
    "Terlalu lama menunggu.",
    "Masalah belum benar-benar selesai.",
    None,
)


@dataclass
class HistoryResult:
    cases: int = 0
    actions: int = 0
    pauses: int = 0
    ratings: int = 0
    fulfilments: int = 0
    sweeps: int = 0
    per_sop: dict[str, int] = field(default_factory=dict)
    skipped: bool = False


def has_history(engine: Engine) -> bool:
    """Whether this database already holds the demo history."""
    with engine.connect() as conn:
        found = conn.execute(
            select(func.count()).select_from(_C).where(_C.c.idempotency_key.like(f"{KEY_PREFIX}%"))
        ).scalar_one()
    return bool(found)


def build_history(
    engine: Engine,
    registry: Registry,
    now: datetime,
    *,
    seed: int = SEED,
    weeks: int = WEEKS,
    cases_per_sop: int = CASES_PER_SOP,
) -> HistoryResult:
    """Write the demo history ending at ``now`` (once: a database that has it is left alone)."""
    if has_history(engine):
        return HistoryResult(skipped=True)
    return _History(engine, registry, now, seed, weeks, cases_per_sop).run()


class _History:
    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        now: datetime,
        seed: int,
        weeks: int,
        cases_per_sop: int,
    ) -> None:
        self.db = engine
        self.registry = registry
        self.now = now.astimezone(UTC)
        self.start = self.now - timedelta(weeks=weeks)
        self.rng = random.Random(seed)
        self.clock = VirtualClock(self.start)
        self.engine = CaseEngine(engine, registry, self.clock)
        self.sweeper = Sweeper(engine, registry, self.clock)
        self.feedback = Feedback(engine, self.clock)
        self.cases_per_sop = cases_per_sop
        self.result = HistoryResult()
        self._queue: list[tuple[datetime, int, Iterator[datetime]]] = []
        self._seq = 0
        # per (sop, step): closed visits planned on time / late, so every limited step gets both
        self._planned: dict[tuple[str, str], list[int]] = {}
        self._seen: dict[str, set[str]] = {}
        self._lateness: dict[tuple[str, str | None], float] = {}

    # --- the timeline -------------------------------------------------------------------

    def _schedule(self, task: Iterator[datetime]) -> None:
        when = next(task, None)
        if when is not None and when <= self.now:
            self._seq += 1
            heapq.heappush(self._queue, (when, self._seq, task))

    def run(self) -> HistoryResult:
        start_clocks(self.db, self.registry, self.start)
        for sop_id, loaded in sorted(self.registry.catalog.latest().items()):
            self._seen[sop_id] = {loaded.sop.start}
            for i in range(self.cases_per_sop):
                self._schedule(self._case(loaded, i))
            self.result.per_sop[sop_id] = self.cases_per_sop
            for name, ob in sorted(loaded.sop.obligations.items()):
                units: list[str | None] = (
                    list(sorted(self.registry.region(loaded.sop.region).units))
                    if ob.per_unit
                    else [None]
                )
                for unit in units:
                    self._schedule(self._obligation(loaded.sop, name, unit))
        while self._queue:
            when, _, task = heapq.heappop(self._queue)
            self._sweep_until(when)
            self.clock.set(max(when, self.clock.now()))
            self._schedule(task)
        self._sweep_until(self.now)
        self.clock.set(self.now)
        return self.result

    def _sweep_until(self, until: datetime) -> None:
        """Run the sweeper at each moment something falls due, up to ``until``."""
        for _ in range(100_000):
            with self.db.connect() as conn:
                visit = conn.execute(
                    select(func.min(_V.c.next_check_at)).where(
                        _V.c.left_at.is_(None), _V.c.paused_at.is_(None)
                    )
                ).scalar()
                obligation = conn.execute(select(func.min(_OC.c.due_at))).scalar()
            due = [_utc(d) for d in (visit, obligation) if d is not None]
            nxt = min(due, default=None)
            if nxt is None or nxt > until:
                return
            self.clock.set(max(nxt, self.clock.now()))
            self.sweeper.tick()
            self.result.sweeps += 1

    # --- one case -------------------------------------------------------------------------

    def _late_share(self, sop_id: str, unit: str | None) -> float:
        """Each unit's habit: how often its staff let a step run late."""
        key = (sop_id, unit)
        if key not in self._lateness:
            self._lateness[key] = self.rng.uniform(0.08, 0.45)
        return self._lateness[key]

    def _submitted_at(self, sop: Sop) -> datetime:
        calendar = self.registry.calendar(sop.region)
        span = (self.now - self.start).total_seconds()
        day = self.start + timedelta(seconds=self.rng.uniform(0, span - 3600))
        if self.rng.random() < 0.12:  # the last day or so: still being worked on now
            day = self.now - timedelta(hours=self.rng.uniform(1, 30))
        if _round_the_clock(sop):
            return day
        local = day.astimezone(calendar.tz)
        hour = self.rng.choice((7, 8, 8, 9, 9, 10, 10, 11, 13, 14, 15, 16, 19, 20, 21))
        moment = datetime.combine(local.date(), time(hour, self.rng.randrange(60)), calendar.tz)
        return max(self.start, min(moment.astimezone(UTC), self.now - timedelta(minutes=30)))

    def _new_case(self, sop: Sop, i: int) -> NewCase:
        rng = self.rng
        fields: dict[str, Any] = {}
        for name, spec in sop.fields.items():
            if spec.required:
                fields[name] = self._value(sop, name, None, routing=True)
        sub = sop.submission
        anonymous = sub.anonymous_allowed and rng.random() < 0.15
        reporter = None
        if not anonymous:
            name = rng.choice(_NAMES)
            handle = name.lower().replace(" ", ".")
            extra = {
                k: f"{handle}{rng.randrange(100)}"
                for k in sub.identity_any_of
                if k not in ("nama", "nik", "nomor_identitas", "email", "telepon")
            }
            reporter = ReporterInfo(
                name=name,
                email=f"{handle}@example.org",
                phone=f"08{rng.randrange(10**9, 10**10)}",
                extra=extra,
            )
        submitter = None
        role = sop.roles.get(sub.by)
        if role is not None and role.kind is not RoleKind.citizen:
            submitter = Actor(f"{role.title or sub.by} (demo)", (Grant(sop.region, sub.by),))
        return NewCase(
            sop_id=sop.sop,
            channel=rng.choice(sub.channels) if sub.channels else "web",
            text=rng.choice(_REPORTS),
            fields=fields,
            reporter=reporter,
            anonymous=anonymous,
            confidential=sub.confidential_allowed and rng.random() < 0.05,
            idempotency_key=f"{KEY_PREFIX}{sop.sop}:{i}",
            submitted_by=submitter,
        )

    def _case(self, loaded: LoadedSop, i: int) -> Iterator[datetime]:
        sop = loaded.sop
        calendar = self.registry.calendar(sop.region)
        yield self._submitted_at(sop)
        view = self.engine.submit(self._new_case(sop, i))
        self.result.cases += 1
        late_any = False
        # A few cases are forgotten at a step with a limit: still open now, late, escalated.
        forgotten = self.rng.random() < 0.07
        moves = 0
        visits: dict[str, int] = {sop.start: 1}
        while not sop.steps[view.step].terminal and moves < 14:
            step = sop.steps[view.step]
            entered = self.clock.now()
            visit = view.open_visit
            due = visit.due_at if visit else None
            if forgotten and due is not None and moves > 0:
                return
            late = False
            if due is not None:
                late = self._plan_late(sop, view.step, view.unit)
                if step.pauses and self.rng.random() < 0.3:
                    kind = step.effective_clock
                    total = calendar.elapsed_minutes(entered, due, kind)
                    yield calendar.advance(entered, total * self.rng.uniform(0.1, 0.5), kind)
                    reason = self.rng.choice(sorted(step.pauses))
                    view = self.engine.pause(view.id, self._actor(sop, step.by, view), reason)
                    self.result.pauses += 1
                    yield self.clock.now() + timedelta(hours=self.rng.uniform(2, 40))
                    view = self.engine.resume(view.id, self._actor(sop, step.by, view))
                    reopened = view.open_visit
                    due = reopened.due_at if reopened else due
                    entered = self.clock.now()
            when = self._act_at(sop, calendar, step.effective_clock, entered, due, late)
            offers = self._offers(sop, view)
            staying = [o for o in offers if not o.moves]
            if staying and self.rng.random() < 0.25:
                yield entered + (when - entered) * self.rng.uniform(0.2, 0.8)
                offer = self.rng.choice(staying)
                view = self._take(sop, view, offer)
            yield max(when, self.clock.now() + timedelta(minutes=1))
            moving = [o for o in self._offers(sop, view) if o.moves]
            if not moving:
                return
            offer = self._choose(sop, view.step, moving, visits)
            view = self._take(sop, view, offer)
            late_any = late_any or late
            moves += 1
            visits[view.step] = visits.get(view.step, 0) + 1
            self._seen[sop.sop].add(view.step)
        by_citizen = sop.roles[sop.submission.by].kind is RoleKind.citizen
        closed = view.status in RATABLE_STATUSES and by_citizen and not view.anonymous
        if closed and self.rng.random() < 0.45:
            yield self.clock.now() + timedelta(hours=self.rng.uniform(1, 30))
            scores = (1, 2, 3, 3, 4) if late_any else (3, 4, 4, 5, 5)
            self.feedback.rate(view.id, self.rng.choice(scores), self.rng.choice(_COMMENTS))
            self.result.ratings += 1

    def _plan_late(self, sop: Sop, step: str, unit: str | None) -> bool:
        """Late or on time: the unit's habit, but every limited step gets some of each."""
        counts = self._planned.setdefault((sop.sop, step), [0, 0])
        if counts[1] == 0 and counts[0] >= 2:
            late = True
        elif counts[0] == 0 and counts[1] >= 1:
            late = False
        else:
            late = self.rng.random() < self._late_share(sop.sop, unit)
        counts[1 if late else 0] += 1
        return late

    def _act_at(
        self,
        sop: Sop,
        calendar: WorkingCalendar,
        kind: ClockKind,
        entered: datetime,
        due: datetime | None,
        late: bool,
    ) -> datetime:
        """When the step's role acts: within the limit, past it, or (no limit) after a while
        counted on the step's own clock."""
        rng = self.rng
        if due is None:
            scale = max(60.0, _longest_limit(sop, calendar, entered))
            return calendar.advance(entered, scale * rng.uniform(0.3, 2.5), kind)
        total = max(calendar.elapsed_minutes(entered, due, kind), 1.0)
        if not late:
            return calendar.advance(entered, total * rng.uniform(0.1, 0.92), kind)
        over = total * (rng.uniform(2.0, 6.0) if rng.random() < 0.1 else rng.uniform(0.1, 1.2))
        return calendar.advance(due, max(over, 2.0), kind)

    def _choose(self, sop: Sop, step_id: str, offers: list[Offer], visits: dict[str, int]) -> Offer:
        """Mostly the main path; loops and rejections now and then; unseen steps favoured."""
        step = sop.steps[step_id]
        weights: list[float] = []
        for offer in offers:
            action = step.actions[offer.action]
            targets = [action.to] if action.to else [b.to for b in action.branches]
            weight = 1.0
            if offer.reroute:
                weight = 0.15
            for target in targets:
                if target is None:
                    continue
                if visits.get(target, 0) >= 2:
                    weight = min(weight, 0.02)
                elif visits.get(target, 0) == 1:
                    weight = min(weight, 0.2)
                if sop.steps[target].status.value in ("rejected", "cancelled"):
                    weight = min(weight, 0.25)
                if target not in self._seen[sop.sop]:
                    weight *= 4
            weights.append(weight)
        return self.rng.choices(offers, weights=weights)[0]

    def _offers(self, sop: Sop, view: CaseView) -> list[Offer]:
        """What the step offers on this case now (as ``CaseEngine.available_actions`` with
        every role, from the view in hand instead of reading the case again)."""
        compiled = self.registry.by_hash(view.content_hash)
        roles = self._everyone(sop, view).roles_for(view.region, view.unit, sop, view.id)
        step = sop.steps[view.step]
        offers = []
        for name, decision in self.registry.evaluator.available(
            compiled, view.step, roles, view.fields
        ).items():
            if decision.allowed or decision.reason == "missing_fields":
                action = step.actions[name]
                requires = list(action.requires)
                if action.reroute and "unit" not in requires:
                    requires.append("unit")
                moves = bool(action.to or action.branches)
                offers.append(Offer(name, name, tuple(requires), action.reroute, moves))
        return offers

    def _take(self, sop: Sop, view: CaseView, offer: Offer) -> CaseView:
        step = sop.steps[view.step]
        action = step.actions[offer.action]
        roles = list(action.by) or ([step.by] if step.by else [])
        role = self.rng.choice(roles) if roles else step.by
        entries = {name: self._value(sop, name, view) for name in offer.requires}
        branch_fields = {
            name
            for b in action.branches
            if b.when is not None
            for name in ex.fields_of(b.when)
            if name in entries
        }
        for name in branch_fields:
            entries[name] = self._value(sop, name, view, branch=True)
        actor = self._actor(sop, role, view)
        self.result.actions += 1
        return self.engine.act(view.id, actor, offer.action, entries)

    def _value(
        self,
        sop: Sop,
        name: str,
        view: CaseView | None,
        *,
        routing: bool = False,
        branch: bool = False,
    ) -> Any:
        rng = self.rng
        region = self.registry.region(sop.region)
        if name == "unit":
            units = sorted(u for u in region.units if view is None or u != view.unit)
            return rng.choice(units)
        spec = sop.fields.get(name)
        if spec is None or spec.type is FieldType.text:
            return rng.choice(_ENTRIES.get(name, _ENTRIES["catatan"]))
        if spec.type is FieldType.choice:
            options = list(spec.options)
            if branch:  # a decision: the first option (ya, the usual outcome) most of the time
                weights = [3.0] + [1.0] * (len(options) - 1)
            elif routing:  # some categories are far more common, so some units get more cases
                weights = [1.0 / (k + 1) for k in range(len(options))]
            else:
                weights = [1.0] * len(options)
            return rng.choices(options, weights=weights)[0]
        if spec.type is FieldType.unit:
            return rng.choice(sorted(region.units))
        if spec.type is FieldType.number:
            return rng.randint(1, 5)
        if spec.type is FieldType.boolean:
            return rng.random() < 0.5
        return self.clock.now().astimezone(UTC).date().isoformat()

    def _actor(self, sop: Sop, role: str | None, view: CaseView) -> Actor:
        """One person acting in one role, for the case's unit (or the case, for a citizen)."""
        if role is None or role not in sop.roles:
            return self._everyone(sop, view)
        kind = sop.roles[role].kind
        unit = view.unit if kind is RoleKind.unit_staff else None
        case_id = view.id if kind is RoleKind.citizen else None
        name = sop.roles[role].title or role
        if kind is RoleKind.citizen:
            name = "Pelapor"
        return Actor(name, (Grant(sop.region, role, unit, case_id),))

    def _everyone(self, sop: Sop, view: CaseView) -> Actor:
        """Every role of the SOP on this case: to list every action a step offers."""
        grants = tuple(self._actor(sop, role, view).grants[0] for role in sorted(sop.roles))
        return Actor("demo", grants)

    # --- obligations ----------------------------------------------------------------------

    def _obligation(self, sop: Sop, name: str, unit: str | None) -> Iterator[datetime]:
        """A unit's weekly duty: met most weeks (each unit its own habit), sometimes missed,
        in which case the sweeper records the miss."""
        ob = sop.obligations[name]
        diligence = self.rng.uniform(0.5, 0.95)
        role = sop.roles[ob.by]
        actor = Actor(
            f"{role.title or ob.by} (demo)",
            (Grant(sop.region, ob.by, unit if role.kind is RoleKind.unit_staff else None),),
        )
        for _ in range(200):
            due = self._obligation_due(sop, name, unit)
            if due is None:
                return
            if self.rng.random() < diligence:
                at = max(
                    due - timedelta(days=self.rng.uniform(0.3, 5)),
                    self.clock.now() + timedelta(minutes=5),
                )
                if at >= due:
                    at = due + timedelta(minutes=1)  # too late this week: missed
                    yield at
                    continue
                yield at
                fulfil(
                    self.db,
                    self.registry,
                    self.clock.now(),
                    sop_id=sop.sop,
                    obligation=name,
                    unit=unit,
                    actor=actor,
                    note="Data diperbarui.",
                )
                self.result.fulfilments += 1
            else:
                yield due + timedelta(minutes=1)

    def _obligation_due(self, sop: Sop, name: str, unit: str | None) -> datetime | None:
        with self.db.connect() as conn:
            due = conn.execute(
                select(_OC.c.due_at).where(
                    _OC.c.region_id == sop.region,
                    _OC.c.sop_id == sop.sop,
                    _OC.c.obligation == name,
                    _OC.c.unit_key.is_(None) if unit is None else _OC.c.unit_key == unit,
                )
            ).scalar()
        return None if due is None else _utc(due)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _round_the_clock(sop: Sop) -> bool:
    """Emergency lines: every limit on the calendar clock and none longer than a day."""
    limits = [s for s in sop.steps.values() if s.limit is not None]
    return bool(limits) and all(
        s.effective_clock is ClockKind.calendar
        and s.limit is not None
        and (s.limit.minutes if s.limit.minutes is not None else 1440 * s.limit.amount) <= 1440
        for s in limits
    )


def _longest_limit(sop: Sop, calendar: WorkingCalendar, at: datetime) -> float:
    """The SOP's longest step limit in minutes on its own clock (how long "a while" is)."""
    longest = 0.0
    for step in sop.steps.values():
        if step.limit is not None:
            due = calendar.due(at, step.limit, step.effective_clock)
            longest = max(longest, calendar.elapsed_minutes(at, due, step.effective_clock))
    return min(longest, 8 * 60.0)
