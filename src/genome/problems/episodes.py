"""The episodes of one evaluation request on the Gymnasium path, and the slots running them.

Both Gymnasium loops -- the slot loop over real ``gymnasium.Env``s (``problems/gym.py``)
and EnvPool's batches (``problems/envpool.py``) -- keep their books here, so each rule is
written once:

* a step adds one frame; a non-finite reward fails the member; otherwise the reward adds
  to the episode's return, and an episode that terminates or truncates records it;
* an episode still running after ``step_limit`` steps fails the member;
* a non-finite observation (at reset or after a step) fails the member; a finite one
  goes to the slot's policy input and to the member's observation statistics;
* an exception from ``reset`` or ``step`` fails the member (the loops catch it);
* a failed member's other episodes stop, its returns are NaN (it ranks last), and the
  first reason is kept (``EvalResult.failures``).

A slot holds one (member, episode) task at a time, with its step count, return,
observation and recurrent state (``state_size`` columns; none without memory).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from genome.policies.heads import ARGMAX, continuous_actions
from genome.problems.base import EvalResult
from genome.problems.gym_env import record_observation

#: what a step did to an episode (``absorb``'s codes)
RUNNING, ENDED, BAD_REWARD, STEP_LIMIT, BAD_OBS = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True, boundscheck=False)
def _absorb(ids, o, r, terminated, truncated, member, episode, steps, ret, active, frames, returns, obs, check,
            obs_count, obs_sum, obs_sumsq, step_limit, codes):
    """One batch of step results into the episodes' state (rows in ``ids`` order: row
    ``row`` belongs to slot ``ids[row]``); ``codes[row]`` says what happened (RUNNING, ENDED
    or a failure the caller records)."""
    for row in range(ids.shape[0]):
        j = ids[row]
        m, e = member[j], episode[j]
        steps[j] += 1
        frames[m, e] += 1
        if not np.isfinite(r[row]):
            codes[row] = BAD_REWARD
            active[j] = False
            continue
        ret[j] += r[row]
        if terminated[row] or truncated[row]:
            returns[m, e] = ret[j]
            active[j] = False
            codes[row] = ENDED
            continue
        if steps[j] >= step_limit:
            codes[row] = STEP_LIMIT
            active[j] = False
            continue
        ok = True
        if check:
            for d in range(o.shape[1]):
                if not np.isfinite(o[row, d]):
                    ok = False
        if not ok:
            codes[row] = BAD_OBS
            active[j] = False
            continue
        codes[row] = RUNNING
        obs_count[m] += 1
        for d in range(o.shape[1]):
            obs[j, d] = o[row, d]
        if obs_sum.shape[0] > 0:
            for d in range(o.shape[1]):
                v = np.float64(o[row, d])
                obs_sum[m, d] += v
                obs_sumsq[m, d] += v * v


class EpisodeSlots:
    """The results of ``n`` members x ``episodes`` episodes and the slots that run them.

    ``open_slots(k)`` (re)makes ``k`` idle slots (EnvPool opens one set per chunk of
    tasks); ``begin`` puts a task in a slot; ``first_observation``, ``absorb`` and ``stop``
    apply the rules above; ``actions`` runs the policy on the busy slots; ``result`` is the
    :class:`EvalResult`."""

    def __init__(self, n: int, episodes: int, dims: int, raw: bool, state_size: int, gather: bool, step_limit: int):
        self.episodes, self.dims, self.raw, self.state_size, self.step_limit = episodes, dims, raw, state_size, step_limit
        self.returns = np.zeros((n, episodes))
        self.frames = np.zeros((n, episodes), dtype=np.int64)
        self.failures: dict[int, str] = {}
        self.gather = gather
        self.obs_count = np.zeros(n)
        self.obs_sum = np.zeros((n, dims)) if gather else np.zeros((0, 0))
        self.obs_sumsq = np.zeros((n, dims)) if gather else np.zeros((0, 0))
        self._dropped = 0
        self.open_slots(0)

    def open_slots(self, k: int) -> None:
        self.member = np.full(k, -1, dtype=np.int64)  # -1: no task
        self.episode = np.zeros(k, dtype=np.int64)
        self.steps = np.zeros(k, dtype=np.int64)
        self.ret = np.zeros(k)
        self.active = np.zeros(k, dtype=bool)
        self.obs = np.zeros((k, self.dims), dtype=np.uint8 if self.raw else np.float64)
        self.state = np.zeros((k, self.state_size))
        self._codes = np.zeros(k, dtype=np.int64)

    def begin(self, slot: int, m: int, e: int) -> None:
        """Slot ``slot`` starts episode ``e`` of member ``m`` (state zero, nothing observed yet)."""
        self.member[slot], self.episode[slot] = m, e
        self.steps[slot], self.ret[slot] = 0, 0.0
        self.state[slot] = 0.0
        self.active[slot] = True

    def idle(self, slot: int) -> None:
        """No task left for ``slot``."""
        self.member[slot], self.active[slot] = -1, False

    def fail(self, m: int, reason: str) -> None:
        self.failures.setdefault(int(m), reason)

    def stop(self, slot: int, reason: str) -> None:
        """The slot's episode fails its member."""
        self.fail(self.member[slot], reason)
        self.active[slot] = False

    def first_observation(self, slot: int, o) -> bool:
        """The reset's observation into the slot; False (the member failed) if not finite."""
        arr = np.asarray(o).reshape(-1)
        if record_observation(self.obs[slot], arr, arr.dtype.kind == "f", int(self.member[slot]), self.obs_count, self.obs_sum, self.obs_sumsq):
            return True
        self.stop(slot, "reset returned a non-finite observation")
        return False

    def busy(self) -> np.ndarray:
        """The slots whose episodes go on: active, and their member has not failed (in any
        slot, or in an earlier chunk)."""
        if len(self.failures) != self._dropped:
            self._dropped = len(self.failures)
            self.active &= ~np.isin(self.member, np.fromiter(self.failures, dtype=np.int64))
        return np.flatnonzero(self.active)

    def actions(self, family, arrays, head_arrays, slots: np.ndarray):
        """The policy's actions for ``slots`` (each its member's network, its own recurrent
        state): integers for a discrete head, a float32 row each for a continuous one."""
        rows = self.state[slots]
        scores = family.forward_indexed(arrays, self.member[slots], self.obs[slots], rows)
        self.state[slots] = rows
        kind, bins, low, high, scale = head_arrays
        if kind == ARGMAX:
            return np.argmax(scores, axis=1)  # ties to the lowest index
        actions = np.empty((slots.size, family.head.action_dim), dtype=np.float32)
        continuous_actions(scores, kind, bins, low, high, scale, actions)
        return actions

    def absorb(self, slots: np.ndarray, o: np.ndarray, r: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> None:
        """Step results (row ``i`` for slot ``slots[i]``): frames, rewards, returns, the
        next observations, and a failure for each broken rule."""
        slots = np.asarray(slots, dtype=np.int64)
        o = np.ascontiguousarray(o).reshape(slots.size, -1)
        r = np.asarray(r, dtype=np.float64)
        codes = self._codes[: slots.size]
        _absorb(slots, o, r, np.asarray(terminated), np.asarray(truncated), self.member, self.episode, self.steps, self.ret, self.active,
                self.frames, self.returns, self.obs, o.dtype.kind == "f", self.obs_count, self.obs_sum, self.obs_sumsq, self.step_limit, codes)
        for row in np.flatnonzero(codes >= BAD_REWARD).tolist():
            j, code = int(slots[row]), codes[row]
            self.fail(self.member[j], f"non-finite reward {r[row]} at step {self.steps[j]}" if code == BAD_REWARD else
                      f"episode did not end within the step limit of {self.step_limit} steps" if code == STEP_LIMIT else
                      f"non-finite observation at step {self.steps[j]}")

    def result(self) -> EvalResult:
        for m in self.failures:
            self.returns[m] = np.nan
        return EvalResult(self.returns, self.frames, self.failures, self.obs_count, self.obs_sum if self.gather else None,
                          self.obs_sumsq if self.gather else None)
