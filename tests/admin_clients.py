"""One librdkafka admin client per cluster for the whole test run: destroying clients while their requests are
outstanding (polls during a broker outage time out) can crash the interpreter, so none is dropped."""

from __future__ import annotations

import functools

from confluent_kafka.admin import AdminClient


@functools.cache
def admin_for(bootstrap_servers: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap_servers})
