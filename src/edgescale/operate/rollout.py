"""Rolling updates with a health gate per step and automatic rollback (as Argo Rollouts does).

A new template is a new revision. While a rollout runs, the reconcile pass asks this tracker how many
replicas of the new revision to place (:meth:`RolloutTracker.target`: at most ``replicas + max_surge``
in total) and which replicas of old revisions to retire (:meth:`RolloutTracker.retire`: keeping at
least ``replicas - max_unavailable`` ready). The gate: every new replica must be running and ready
(its HTTP probe, if any, passing) for ``min_ready_s``. A new replica restarting more than
``max_restarts`` times, or no progress for ``progress_deadline_s``, fails the rollout: the previous
revision's spec becomes the desired state again and is rolled out the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgescale.operate.controller import Controller, DepRec, Rep

__all__ = ["RolloutTracker"]


@dataclass
class _Rollout:
    id: int
    deployment: str
    from_revision: int
    to_revision: int
    started: float
    progress_at: float
    rollback: bool = False
    best: int = -1


class RolloutTracker:
    """The rollouts in progress of one controller."""

    def __init__(self, controller: Controller) -> None:
        self.c = controller
        self.active: dict[str, _Rollout] = {}
        self.ready_since: dict[str, float] = {}

    def load(self) -> None:
        """Resume the rollouts that were in progress when the controller stopped."""
        now = self.c.clock()
        for r in self.c.store.rollouts():
            if r["state"] == "progressing":
                ro = _Rollout(r["id"], r["deployment"], r["from_revision"], r["to_revision"], now, now)
                ro.rollback = r["message"] == "rollback"
                self.active[r["deployment"]] = ro

    def begin(self, name: str, from_rev: int, to_rev: int, *, rollback: bool = False) -> None:
        """Start rolling *name* from *from_rev* to *to_rev* (an older rollout of it is superseded)."""
        old = self.active.pop(name, None)
        if old is not None:
            self.c.store.finish_rollout(old.id, "superseded")
        rid = self.c.store.add_rollout(name, from_rev, to_rev)
        if rollback:
            self.c.store.db.execute("UPDATE rollouts SET message = 'rollback' WHERE id = ?", (rid,))
        now = self.c.clock()
        self.active[name] = _Rollout(rid, name, from_rev, to_rev, now, now, rollback)

    def forget(self, name: str) -> None:
        """The deployment was deleted."""
        ro = self.active.pop(name, None)
        if ro is not None:
            self.c.store.finish_rollout(ro.id, "superseded", "deployment deleted")

    def status(self, name: str) -> dict[str, Any]:
        """The rollout in progress (if any) and the history of *name*."""
        ro = self.active.get(name)
        return {
            "in_progress": None
            if ro is None
            else {"from_revision": ro.from_revision, "to_revision": ro.to_revision, "rollback": ro.rollback},
            "history": self.c.store.rollouts(name),
        }

    # --- what the reconcile pass asks -------------------------------------------------------------

    def _split(self, d: DepRec) -> tuple[list[Rep], list[Rep]]:
        reps = list(self.c.by_dep.get(d.spec.name, {}).values())
        return [r for r in reps if r.revision != d.revision], [r for r in reps if r.revision == d.revision]

    def _ready(self, r: Rep, now: float, min_ready_s: float) -> bool:
        rep = self.c.report_of(r)
        ok = rep is not None and rep.get("state") == "running" and rep.get("ready") is True
        if not ok:
            self.ready_since.pop(r.uid, None)
            return False
        since = self.ready_since.setdefault(r.uid, now)
        return now - since >= min_ready_s

    def target(self, d: DepRec) -> int:
        """Replicas of the current revision to place now."""
        if d.spec.name not in self.active:
            return d.spec.replicas
        old, _ = self._split(d)
        room = d.spec.replicas + d.spec.strategy.max_surge - len(old)
        return max(0, min(d.spec.replicas, room))

    def retire(self, now: float) -> list[Rep]:
        """Old-revision replicas to remove in this pass; also checks gates, completes and rolls back."""
        out: list[Rep] = []
        for d in self.c.deployments.values():  # no rollout: old revisions have nothing to wait for
            if d.spec.name not in self.active:
                out += self._split(d)[0]
        for name in list(self.active):
            dep = self.c.deployments.get(name)
            if dep is None:
                self.forget(name)
                continue
            out += self._step(self.active[name], dep, now)
        return out

    def observe(self) -> None:
        """New reports arrived: let the next pass look at them."""
        if self.active:
            self.c._wake.set()

    def _step(self, ro: _Rollout, d: DepRec, now: float) -> list[Rep]:
        st = d.spec.strategy
        old, new = self._split(d)
        ready_new = [r for r in new if self._ready(r, now, st.min_ready_s)]
        failing = [r for r in new if (self.c.report_of(r) or {}).get("restarts", 0) > st.max_restarts]
        if len(ready_new) > ro.best:
            ro.best, ro.progress_at = len(ready_new), now
        if failing or now - ro.progress_at > st.progress_deadline_s:
            if failing:
                n = (self.c.report_of(failing[0]) or {}).get("restarts", 0)
                why = f"replica {failing[0].uid} restarted {n} times (more than {st.max_restarts})"
            else:
                why = f"no progress for {st.progress_deadline_s:g} s"
            self._fail(ro, d, why)
            return []
        if not old and len(ready_new) >= d.spec.replicas:
            self.c.store.finish_rollout(ro.id, "complete")
            del self.active[ro.deployment]
            self.c.event("rollout.complete", d.spec.name, f"revision {ro.to_revision} ready")
            return []
        ready_old = [r for r in old if self._ready(r, now, 0.0)]
        # old replicas that are not ready count for nothing: they go at once; ready ones while the
        # ready total stays at least replicas - max_unavailable
        out = [r for r in old if r not in ready_old]
        budget = len(ready_old) + len(ready_new) - (d.spec.replicas - st.max_unavailable)
        return out + ready_old[: max(budget, 0)]

    def _fail(self, ro: _Rollout, d: DepRec, why: str) -> None:
        del self.active[ro.deployment]
        if ro.rollback:
            self.c.store.finish_rollout(ro.id, "failed", why)
            self.c.event(
                "rollout.failed", d.spec.name, f"rollback to revision {ro.to_revision} failed: {why}"
            )
            return
        self.c.store.finish_rollout(ro.id, "rolled-back", why)
        self.c.event(
            "rollout.rolled-back", d.spec.name, f"revision {ro.to_revision} failed its health gate: {why}"
        )
        spec = self.c.store.revision_spec(d.spec.name, ro.from_revision)
        if spec is None:
            return
        from edgescale.operate.spec import Deployment

        prev = Deployment.model_validate(spec)
        prev = prev.model_copy(update={"replicas": d.spec.replicas})
        with self.c.store.transaction():
            self.c.store.put_deployment(
                d.spec.name, prev.model_dump(), ro.from_revision, prev.template_hash()
            )
            self.begin(d.spec.name, ro.to_revision, ro.from_revision, rollback=True)
        from edgescale.operate.controller import DepRec as _DepRec

        self.c.deployments[d.spec.name] = _DepRec(prev, ro.from_revision, prev.template_hash())
