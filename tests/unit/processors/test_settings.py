"""The worker's settings as the environment gives them."""

import pytest

from processors.settings import ProcessorSettings


@pytest.mark.parametrize(
    ("given", "compression"),
    [
        ("none", None),
        ("None", None),
        ("lz4", "lz4"),
        ("zstd", "zstd"),
        ("snappy", "snappy"),
        ("gzip", "gzip"),
    ],
)
def test_the_producer_compression_is_named_or_none(
    monkeypatch: pytest.MonkeyPatch, given: str, compression: str | None
) -> None:
    monkeypatch.setenv("LOYALTY_PRODUCER_COMPRESSION", given)
    assert ProcessorSettings().producer_compression == compression


def test_an_unknown_compression_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALTY_PRODUCER_COMPRESSION", "brotli")
    with pytest.raises(ValueError, match="producer_compression"):
        ProcessorSettings()
