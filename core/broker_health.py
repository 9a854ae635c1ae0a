"""Is the broker reachable, as one producer sees it: from librdkafka's error and statistics callbacks.

librdkafka reports "all brokers down" at once through its error callback, but never says when a broker
is back; its statistics (every `statistics.interval.ms`) list each broker connection's state. So: down
on the error, up again on a statistics report with a connection `UP` or on a successful delivery.
Pure bookkeeping (the producer feeds it from its callbacks), unit-tested without a broker.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from confluent_kafka import KafkaError

__all__ = ["BrokerHealth"]



@dataclass
class BrokerHealth:
    available: bool | None = None  # None until the first report
    down_since: float | None = None  # monotonic seconds
    last_error: str | None = None

    def on_error(self, code: int, reason: str) -> None:
        self.last_error = reason
        if code == KafkaError._ALL_BROKERS_DOWN:
            self._down()

    def on_stats(self, stats_json: str) -> None:
        try:
            brokers = json.loads(stats_json).get("brokers", {})
        except (ValueError, AttributeError):
            return
        if any(isinstance(b, dict) and b.get("state") == "UP" for b in brokers.values()):
            self._up()
        elif brokers:
            self._down()

    def on_delivered(self) -> None:
        if self.available is not True:
            self._up()

    def _up(self) -> None:
        self.available, self.down_since = True, None

    def _down(self) -> None:
        if self.available is not False:
            self.available, self.down_since = False, time.monotonic()

    def down_for_s(self) -> float | None:
        return None if self.down_since is None else time.monotonic() - self.down_since
