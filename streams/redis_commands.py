"""Redis commands packed into one RESP buffer and written at once: the live-state writes of a sweep.

redis-py's pipeline encodes every argument through several Python calls; a sweep writes thousands of
small arguments (GEO members, HASH fields), so packing them here halves the CPU of each write. Replies
are read back in order, and a reply that is an error raises like redis-py does.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

__all__ = ["RedisCommands"]


class RedisCommands:
    """A batch of commands; arguments are bytes (encode numbers with `number`)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.count = 0

    @staticmethod
    def number(value: float) -> bytes:
        return repr(value).encode()

    def add(self, *args: bytes) -> None:
        parts = self._parts
        parts.append(b"*%d\r\n" % len(args))
        for arg in args:
            parts.append(b"$%d\r\n" % len(arg))
            parts.append(arg)
            parts.append(b"\r\n")
        self.count += 1

    def add_packed(self, args: list[bytes], packed: bytes, packed_count: int) -> None:
        """A command of `args` followed by `packed_count` more arguments already in RESP form (`bulk` each)."""
        parts = self._parts
        parts.append(b"*%d\r\n" % (len(args) + packed_count))
        for arg in args:
            parts.append(b"$%d\r\n" % len(arg))
            parts.append(arg)
            parts.append(b"\r\n")
        parts.append(packed)
        self.count += 1

    @staticmethod
    def bulk(arg: bytes) -> bytes:
        """One argument in RESP form, for `add_packed`."""
        return b"$%d\r\n%b\r\n" % (len(arg), arg)

    def __bool__(self) -> bool:
        return self.count > 0

    async def execute(self, client: aioredis.Redis) -> list[Any]:
        """Send every command in one write and return the replies in order."""
        if not self.count:
            return []
        pool = client.connection_pool
        connection = await pool.get_connection()
        try:
            await connection.send_packed_command(b"".join(self._parts), check_health=False)
            replies = [await connection.read_response() for _ in range(self.count)]
        except BaseException:
            await connection.disconnect()  # a half-read reply stream must not be reused
            raise
        finally:
            await pool.release(connection)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies
