"""Asset and level generators, as a library and a protocol service (issue: asset generators)."""
