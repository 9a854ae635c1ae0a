"""Topic metadata as every broker of the cluster sees it.

A topic created a moment ago is listed by the broker that created it before the others learn of it.
Faust's group leader asks whichever broker it likes for the metadata it assigns partitions from, and
leaves out a topic that broker does not list yet ("Ignoring missing topic"), so "listed" has to mean
listed by every broker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import aiokafka
from aiokafka.protocol.metadata import MetadataRequest

__all__ = ["unlisted_topics", "wait_until_listed"]

log = logging.getLogger(__name__)


async def unlisted_topics(client: aiokafka.AIOKafkaClient, topics: Sequence[str]) -> dict[str, list[int]]:
    """The topics of `topics` some broker does not list (with partitions) yet, with the ids of those brokers.

    A broker that does not answer counts as not listing them: it may answer the group leader next."""
    unlisted: dict[str, list[int]] = {}
    request = MetadataRequest(list(topics), allow_auto_topic_creation=False)
    for broker in sorted(client.cluster.brokers(), key=lambda b: b.nodeId):
        try:
            response = await client.send(broker.nodeId, request)
        except (aiokafka.errors.KafkaError, TimeoutError) as exc:
            log.debug("broker %s did not answer a metadata request (%r)", broker.nodeId, exc)
            listed: set[str] = set()
        else:
            # (error_code, topic, [is_internal,] partitions) in every version of the response
            listed = {entry[1] for entry in response.topics if entry[0] == 0 and entry[-1]}
        for topic in topics:
            if topic not in listed:
                unlisted.setdefault(topic, []).append(broker.nodeId)
    return unlisted


async def wait_until_listed(client: aiokafka.AIOKafkaClient, topics: Sequence[str], *, timeout_s: float,
                            poll_s: float = 0.2) -> dict[str, list[int]]:
    """Wait until every broker lists every one of `topics`, at most `timeout_s`; what is still unlisted then."""
    deadline = time.monotonic() + timeout_s
    if not client.cluster.brokers():
        await client.force_metadata_update()  # a client that has not learnt the cluster yet knows no broker to ask
    while True:
        unlisted = await unlisted_topics(client, topics) if topics else {}
        if not unlisted or time.monotonic() >= deadline:
            return unlisted
        await asyncio.sleep(poll_s)
