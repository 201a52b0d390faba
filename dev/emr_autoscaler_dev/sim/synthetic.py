"""A second workload, generated: diurnal Poisson arrivals with bursts and heavy-tailed job sizes, from a seed.

It exists so policies are not judged on the FB-2009 trace alone. Model (all parameters of `SyntheticWorkload`):

- arrivals: a Poisson process whose rate follows the day, `jobs_per_hour` × (1 + `diurnal_amplitude` ×
  sin(2π (t − 6 h) / 24 h)): quiet at night, busiest mid-afternoon;
- bursts: each hour, with probability `burst_probability`, `burst_jobs` extra jobs land within `burst_span_s`
  (a scheduled pipeline, a backfill);
- sizes: map input log-normal (median `median_input_bytes`, σ `input_sigma`), capped at `max_input_bytes`;
  a fraction `map_only_fraction` of jobs shuffle nothing, the others shuffle their input times a log-normal
  ratio (median 1, σ 1) and write a log-normal fraction (median 0.3, σ 1) of their shuffle.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from emr_autoscaler_dev.sim.trace import TraceJob

_MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class SyntheticWorkload:
    """SyntheticWorkload generates SWIM-shaped jobs (times in s, sizes in bytes); the same seed, the same jobs."""

    hours: float = 24.0
    jobs_per_hour: float = 150.0
    diurnal_amplitude: float = 0.8
    burst_probability: float = 0.2
    burst_jobs: int = 40
    burst_span_s: float = 300.0
    median_input_bytes: float = 256.0 * _MIB
    input_sigma: float = 2.5
    max_input_bytes: float = 2e12
    map_only_fraction: float = 0.4

    def rate_per_s(self, t_s: float) -> float:
        """Rate_per_s is the expected arrivals per second at `t_s` (diurnal)."""
        phase = 2.0 * math.pi * (t_s - 6 * 3600.0) / 86400.0
        return self.jobs_per_hour / 3600.0 * max(0.0, 1.0 + self.diurnal_amplitude * math.sin(phase))

    def generate(self, seed: int) -> list[TraceJob]:
        """Generate draws the jobs for `seed`, sorted by submit time."""
        rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
        end_s = self.hours * 3600.0
        peak = self.jobs_per_hour / 3600.0 * (1.0 + abs(self.diurnal_amplitude))
        submits: list[float] = []
        t = 0.0
        # Thinning (Lewis-Shedler): draw at the peak rate, keep each arrival with probability rate/peak.
        while True:
            t += rng.expovariate(peak)
            if t >= end_s:
                break
            if rng.random() < self.rate_per_s(t) / peak:
                submits.append(t)
        for hour in range(math.ceil(self.hours)):
            if rng.random() < self.burst_probability:
                start = hour * 3600.0 + rng.uniform(0.0, 3600.0 - self.burst_span_s)
                submits.extend(start + rng.uniform(0.0, self.burst_span_s) for _ in range(self.burst_jobs))
        submits = sorted(s for s in submits if s < end_s)
        jobs = []
        for index, submit in enumerate(submits):
            size = min(self.max_input_bytes, rng.lognormvariate(math.log(self.median_input_bytes), self.input_sigma))
            shuffle = 0.0
            output = size * rng.lognormvariate(math.log(0.3), 1.0)
            if rng.random() >= self.map_only_fraction:
                shuffle = size * rng.lognormvariate(0.0, 1.0)
                output = shuffle * rng.lognormvariate(math.log(0.3), 1.0)
            jobs.append(
                TraceJob(
                    job_id=f"job{index}",
                    submit_s=float(round(submit)),
                    input_bytes=int(size),
                    shuffle_bytes=int(shuffle),
                    output_bytes=int(output),
                )
            )
        return jobs
