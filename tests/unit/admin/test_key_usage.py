"""Keys' last use is noted in memory at most once a minute per key, bounded, and taken in
batches for one UPDATE."""

from gateway.key_usage import KeyUsage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_noted_once_per_resolution() -> None:
    clock = Clock()
    usage = KeyUsage(resolution_s=60, clock=clock)
    for _ in range(3):
        usage.touch(b"a")
    usage.touch(b"b")
    assert sorted(usage.take()) == [b"a", b"b"]
    usage.touch(b"a")
    assert usage.take() == []
    clock.now += 61
    usage.touch(b"a")
    assert usage.take() == [b"a"]


def test_waiting_digests_are_bounded() -> None:
    usage = KeyUsage(pending_max=2, clock=Clock())
    for digest in (b"a", b"b", b"c"):
        usage.touch(digest)
    assert len(usage.take()) == 2
    usage.touch(b"c")  # dropped while full, noted again once there is room
    assert usage.take() == [b"c"]
