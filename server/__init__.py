"""The only asyncio/websockets layer: transport, rooms, interest management, auth, RPC routing, metrics, CLI."""
