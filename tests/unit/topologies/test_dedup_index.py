from __future__ import annotations

from topologies.dedup import SeenBuckets


def test_a_repeated_id_is_a_duplicate_until_its_bucket_expires() -> None:
    seen = SeenBuckets(horizon_ms=1000, bucket_ms=100)
    assert seen.add("a", 50) is True
    assert seen.add("a", 50) is False
    seen.add("b", 1_000)
    seen.flush("o1")
    assert seen.add("a", 50) is False  # watermark 1000 - horizon 1000 = 0: bucket [0, 100) is kept
    seen.add("c", 1_100)
    _, deletes = seen.flush("o2")
    assert deletes == ["0:o1"] and "a" not in seen._bucket_of  # bucket end 100 <= cutoff 100: forgotten
    assert seen.add("a", 1_150) is True
    assert len(seen) == 3  # b, c and the new a: bounded by the horizon


def test_flush_writes_one_chunk_per_touched_bucket_with_only_the_new_ids() -> None:
    seen = SeenBuckets(horizon_ms=10_000, bucket_ms=100)
    for event_id, t in [("a", 10), ("b", 20), ("c", 150), ("a", 10)]:
        seen.add(event_id, t)
    writes, deletes = seen.flush("7")
    assert writes == {"0:7": ["a", "b"], "100:7": ["c"]} and deletes == []
    seen.add("d", 30)
    writes, _ = seen.flush("9")
    assert writes == {"0:9": ["d"]}  # only what is new since the last flush
    assert seen.flush("10") == ({}, [])


def test_expiry_deletes_every_chunk_of_a_bucket_and_unstored_ids_are_not_written() -> None:
    seen = SeenBuckets(horizon_ms=1000, bucket_ms=100)
    seen.add("a", 10)
    seen.flush("1")
    seen.add("b", 20)
    seen.flush("2")
    seen.add("late", 30)  # bucket [0, 100) again, expires in the same flush: nothing to write
    seen.add("now", 5_000)
    writes, deletes = seen.flush("3")
    assert deletes == ["0:1", "0:2"] and writes == {"5000:3": ["now"]}


def test_restored_chunks_keep_ids_seen_and_expire_like_stored_ones() -> None:
    seen = SeenBuckets(horizon_ms=1000, bucket_ms=100)
    seen.restore(200, "200:5", ["x", "y"])
    assert seen.add("x", 250) is False and seen.add("z", 260) is True
    seen.add("w", 2_000)
    _, deletes = seen.flush("6")
    assert deletes == ["200:5"]  # the restored chunk; z was never stored
