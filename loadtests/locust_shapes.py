"""The load profiles, chosen with `--shape`. Locust runs the one LoadTestShape a locustfile
has, so `ChosenShape` is that one and delegates each tick to the chosen profile.

Every profile reads Locust's own `-u` (the baseline users), `-r` (their spawn rate per
second) and `--run-time` (`use_common_options`); a profile returns None to end the run.
A buyer is a person who comes back as a new one once done, so N users is a steady flow
of buyers, about N per journey-and-think time.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable

from locust import LoadTestShape

__all__ = ["ChosenShape", "soak", "spike", "steady"]

# (users, spawn rate) now, or None: the run is over.
Tick = tuple[int, float] | None


def steady(options: Namespace, elapsed_s: float) -> Tick:
    """`-u` buyers at once (spawned at `-r`/s), held until `--run-time` (or Ctrl+C)."""
    if options.run_time and elapsed_s >= options.run_time:
        return None
    return options.num_users, options.spawn_rate


def soak(options: Namespace, elapsed_s: float) -> Tick:
    """The steady flow held for a long time: `--run-time`, else `--soak-for` (an hour),
    to show what only time shows (leaks, a table that grows, a lag that creeps)."""
    if elapsed_s >= (options.run_time or options.soak_for):
        return None
    return options.num_users, options.spawn_rate


def spike(options: Namespace, elapsed_s: float) -> Tick:
    """A calm baseline of `-u`, then `--spike-factor` (10-50) times it from `--spike-at`
    for `--spike-for` seconds (the sale opens), then calm again until `--run-time`
    (default: as long again as the calm before the burst)."""
    burst_ends = options.spike_at + options.spike_for
    if elapsed_s >= (options.run_time or burst_ends + options.spike_at):
        return None
    if options.spike_at <= elapsed_s < burst_ends:
        burst = round(options.num_users * options.spike_factor)
        # Every buyer of the burst arrives within its first second or two.
        return burst, max(options.spawn_rate, burst / 2)
    # Back to calm at once: the burst's buyers leave as fast as they came.
    return options.num_users, max(options.spawn_rate, options.num_users * options.spike_factor)


PROFILES: dict[str, Callable[[Namespace, float], Tick]] = {
    "steady": steady,
    "soak": soak,
    "spike": spike,
}


class ChosenShape(LoadTestShape):
    use_common_options = True

    def tick(self) -> Tick:
        assert self.runner is not None  # noqa: S101 (Locust sets it before the first tick)
        options = self.runner.environment.parsed_options
        return PROFILES[options.shape](options, self.get_run_time())
