"""Reading the real-time stream workers' consumer lag for `--speed auto` (see agents_sim.pacing).

- `KafkaLagProbe(settings, group_id)`: one admin-client reading of the group's committed and end offsets.
  The composition root passes the real-time group's id (`streams.app.app_id_for(settings)`); a second
  group (bronze) is never counted.
- `LagWatcher(probe, pacer, ...)`: a daemon thread that reads the probe once per interval and updates the
  pacer. It never touches the simulation or its lock: an admin request that waits on a broker blocks
  only this thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from agents_sim.pacing import AutoPacer, LagSample
from core.consumer_lag import ConsumerLagError, RenewingAdmin, group_lag
from core.settings import Settings

__all__ = ["KafkaLagProbe", "LagProbe", "LagWatcher"]

log = logging.getLogger(__name__)


class LagProbe(Protocol):
    group_id: str

    def read(self) -> LagSample | None:
        """The group's lag now, or None when it cannot be read (no commits yet, broker unavailable)."""
        ...


class KafkaLagProbe:
    def __init__(self, settings: Settings, group_id: str, *, timeout_s: float = 2.0) -> None:
        self.group_id = group_id
        self.timeout_s = timeout_s
        self._admin = RenewingAdmin(settings.bootstrap_servers, timeout_s=timeout_s)

    def read(self) -> LagSample | None:
        try:
            lag = group_lag(self._admin.client, self.group_id, timeout_s=self.timeout_s)
        except ConsumerLagError as exc:
            log.debug("no lag reading for %s: %s", self.group_id, exc)
            self._admin.renew()  # after a broker restart the old client may never be answered again
            return None
        if not lag.committed:
            return None  # no worker has committed yet: nothing to pace by
        return LagSample(time.monotonic(), lag.total, lag.committed_total)


class LagWatcher:
    """Feeds `pacer` a sample every `interval_s` while `achieved()` returns a number (the run is going)."""

    def __init__(self, probe: LagProbe, pacer: AutoPacer, achieved: Callable[[], float | None], *, interval_s: float = 1.0) -> None:
        self.probe = probe
        self.pacer = pacer
        self._achieved = achieved
        self.interval_s = interval_s
        self.readable: bool | None = None  # did the last reading answer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            achieved = self._achieved()
            if achieved is None:
                continue  # paused or stopped: no decision from a backlog that is not being produced
            try:
                sample = self.probe.read()
            except Exception:  # a failing reading must not end pacing: hold and retry next interval
                log.exception("reading the consumer lag of %s failed", self.probe.group_id)
                sample = None
            self.readable = sample is not None
            self.pacer.update(sample, achieved)
