"""Holes in acknowledged offsets: never committed past, sought back once they last."""

from faust.types import TP
from prometheus_client import REGISTRY

from processors.holes import HoleMender, count_from_zero, head_hole, tail_hole

MENDED = "loyalty_processor_holes_mended_total"


def nothing_filled(offset: int) -> bool:
    return False


def test_a_hole_of_one_record_at_the_committed_offset_is_a_hole() -> None:
    # faust's own test (min(acked) - committed > 1) misses exactly this one.
    assert head_hole(157, [158, 159], nothing_filled)


def test_a_longer_hole_is_a_hole() -> None:
    assert head_hole(157, [170, 168], nothing_filled)


def test_acks_from_the_committed_offset_are_no_hole() -> None:
    assert not head_hole(157, [157, 158, 160], nothing_filled)


def test_nothing_acked_or_nothing_committed_is_no_hole() -> None:
    assert not head_hole(157, [], nothing_filled)
    assert not head_hole(None, [3, 4], nothing_filled)


def test_an_offset_with_no_record_is_no_hole() -> None:
    assert not head_hole(157, [158], lambda offset: offset == 157)


def test_a_hole_is_rewound_only_once_it_has_lasted() -> None:
    mender = HoleMender(wait_s=5.0)
    assert mender.to_rewind({"p2": 157}, now=100.0) == []
    assert mender.to_rewind({"p2": 157}, now=104.9) == []
    assert mender.to_rewind({"p2": 157}, now=105.0) == ["p2"]
    # Rewound: the clock starts again if the hole is still there.
    assert mender.to_rewind({"p2": 157}, now=106.0) == []


def test_a_hole_that_closes_or_moves_starts_its_wait_again() -> None:
    mender = HoleMender(wait_s=5.0)
    mender.to_rewind({"p2": 157}, now=100.0)
    assert mender.to_rewind({}, now=103.0) == []
    assert mender.to_rewind({"p2": 157}, now=106.0) == []
    assert mender.to_rewind({"p2": 170}, now=111.0) == []
    assert mender.to_rewind({"p2": 170}, now=116.0) == ["p2"]


def test_the_partitions_held_are_counted_from_zero() -> None:
    # Partitions no other test uses: the registry is the process's.
    count_from_zero([TP("events-x", 97), TP("previews-x", 98)], "events-x")
    assert REGISTRY.get_sample_value(MENDED, {"partition": "97"}) == 0
    assert REGISTRY.get_sample_value(MENDED, {"partition": "98"}) is None


def test_records_fetched_past_the_committed_offset_are_a_hole_at_the_tail() -> None:
    # Asked only when none of the partition's records is acked or held by the agent.
    assert tail_hole(171, 448)


def test_a_position_at_the_committed_offset_or_unknown_is_no_hole() -> None:
    assert not tail_hole(171, 171)
    assert not tail_hole(171, None)
    assert not tail_hole(None, 448)
