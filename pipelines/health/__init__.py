"""Whether the archive falls short, channel by channel: the rules `health` and the metrics share."""
