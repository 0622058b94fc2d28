"""Player analytics: event ingestion, store and queries, as a protocol service (issue: analytics)."""
