"""The local broker's storage is formatted whatever its random cluster id looks like."""

from deploy.local.kafka import format_arguments


def test_a_cluster_id_starting_with_a_dash_is_passed_as_the_options_value() -> None:
    # Kafka's StorageTool failed with "--cluster-id/-t: expected one argument" on such an id.
    arguments = format_arguments("-Zy1fZkSRJ6PpAcoG8kqVw")
    assert "--cluster-id=-Zy1fZkSRJ6PpAcoG8kqVw" in arguments
    assert "-Zy1fZkSRJ6PpAcoG8kqVw" not in arguments
