"""PostHog-compatible capture: request bodies of ``/capture/``, ``/batch/``, ``/i/v0/e/`` into events.

Accepted bodies (JSON, optionally gzip: ``Content-Encoding: gzip`` or ``?compression=gzip``/``gzip-js``;
or a form field ``data=<base64 JSON>`` as older posthog-js sends): a single event
``{"event", "distinct_id" | properties.distinct_id, "properties", "timestamp", "uuid"}``, a list of them,
or ``{"api_key", "batch": [...]}``. Mapping to the Worldloom taxonomy:

* ``player`` = ``distinct_id``; ``session`` = ``properties.$session_id``; ``variant`` = ``properties.variant``;
* an ``event`` named like a taxonomy kind (``progression_complete``...) keeps that kind, with ``name`` and
  ``value`` from its properties; any other event is kind ``custom`` with ``name`` = the event name;
* ``ts`` = ``timestamp`` (ISO-8601; no offset = UTC), else ``sent_at - offset`` ms, else arrival time;
* the event id is ``uuid``; without one it is a UUIDv5 of the event's content, so a re-sent batch
  without uuids still adds nothing;
* properties not starting with ``$`` (SDK metadata) are kept as ``props`` JSON.

lz64 bodies (very old posthog-js) are refused with a reason asking for gzip.
"""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse
import uuid
from typing import Any

from .errors import BatchRefused
from .events import DEFAULT_POLICY, TimePolicy, Validated, parse_ts, validate_generic
from .taxonomy import KIND_CODE, MAX_BATCH_EVENTS

MAX_BODY_BYTES = 5 << 20
"""Largest (decompressed) body accepted, bytes."""
_NAMESPACE = uuid.UUID("8e5b3c1a-77c4-4e0b-9a53-9d7c2f3d0b11")


def decode_body(body: bytes, content_type: str, content_encoding: str, compression: str) -> Any:
    """Raw request body to its JSON value. Raises ``BatchRefused`` naming the problem."""
    if compression == "lz64":
        raise BatchRefused("lz64 compression is not supported; configure the SDK to send gzip")
    # the HTTP layer may already have undone Content-Encoding; trust the gzip magic bytes, not the header
    gzipped = body[:2] == b"\x1f\x8b"
    if (content_encoding.lower() == "gzip" or compression in ("gzip", "gzip-js")) and not gzipped and \
            body[:1] not in (b"{", b"[", b" ", b"\n", b"d"):
        raise BatchRefused("body is marked gzip but is neither gzip nor JSON")
    if gzipped:
        try:
            with gzip.GzipFile(fileobj=__import__("io").BytesIO(body)) as fh:
                body = fh.read(MAX_BODY_BYTES + 1)
        except (OSError, EOFError):
            raise BatchRefused("body is not valid gzip") from None
    if len(body) > MAX_BODY_BYTES:
        raise BatchRefused(f"body larger than {MAX_BODY_BYTES} bytes after decompression; send smaller batches")
    if content_type.startswith("application/x-www-form-urlencoded") and body[:5] == b"data=":
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        data = (fields.get("data") or [""])[0]
        try:
            body = base64.b64decode(data + "=" * (-len(data) % 4))
        except ValueError:
            raise BatchRefused("form field 'data' is not base64") from None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchRefused(f"body is not JSON ({exc})") from None


def events_of(payload: Any) -> tuple[list[Any], str]:
    """The list of raw PostHog events in a decoded body and the body-level api key ('' if none)."""
    if isinstance(payload, list):
        return payload, ""
    if not isinstance(payload, dict):
        raise BatchRefused("body must be a JSON object or list of events")
    key = payload.get("api_key") or payload.get("token") or ""
    for field in ("batch", "data"):
        if isinstance(payload.get(field), list):
            return payload[field], str(key)
        if isinstance(payload.get(field), dict):
            return [payload[field]], str(key)
    if "event" in payload:
        return [payload], str(key)
    raise BatchRefused("body has no 'event', 'batch' or 'data'")


def to_generic(raw: Any, received_us: int, sent_at_us: int | None) -> dict[str, Any] | str:
    """One PostHog event as a generic Worldloom event map, or a reason string when it cannot be one."""
    if not isinstance(raw, dict):
        return "event must be a JSON object"
    name = raw.get("event")
    if not isinstance(name, str) or not name:
        return "event name ('event') is required"
    props = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    distinct = raw.get("distinct_id", props.get("distinct_id", raw.get("$distinct_id")))
    if distinct is None or distinct == "":
        return "distinct_id is required"
    ts: Any = raw.get("timestamp")
    if ts is None and isinstance(raw.get("offset"), int | float):
        ts = (sent_at_us or received_us) - int(raw["offset"] * 1000)
    if ts is None:
        ts = received_us
    kind = name if name in KIND_CODE and name != "custom" else "custom"
    kept = {k: v for k, v in props.items() if isinstance(k, str) and not k.startswith("$")}
    event: dict[str, Any] = {
        "ts": ts, "player": str(distinct), "session": str(props.get("$session_id", "") or ""),
        "kind": kind, "variant": str(props.get("variant", "") or ""),
    }
    if kind == "custom":
        event["name"] = name[:128]
    else:
        event["name"] = str(kept.pop("name", "") or "")
        value = kept.pop("value", 0.0)
        event["value"] = value if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
    event["props"] = kept or None
    raw_id = raw.get("uuid")
    if isinstance(raw_id, str) and raw_id:
        event["id"] = raw_id
    else:
        content = json.dumps([name, event["player"], str(ts), props], sort_keys=True, default=str)
        event["id"] = str(uuid.uuid5(_NAMESPACE, content))
    return event


def validate_posthog(payload: Any, received_us: int, policy: TimePolicy = DEFAULT_POLICY) -> tuple[Validated, str]:
    """Decoded body to validated events (per-event reasons) and the api key it carried."""
    raws, key = events_of(payload)
    if len(raws) > MAX_BATCH_EVENTS:
        raise BatchRefused(f"batch of {len(raws)} events exceeds {MAX_BATCH_EVENTS}; split it")
    sent_at_us = None
    if isinstance(payload, dict) and payload.get("sent_at"):
        try:
            sent_at_us = parse_ts(payload["sent_at"])
        except ValueError:
            sent_at_us = None
    events: list[Any] = []
    pre_rejected: dict[int, str] = {}
    for index, raw in enumerate(raws):
        converted = to_generic(raw, received_us, sent_at_us)
        if isinstance(converted, str):
            pre_rejected[index] = converted
            events.append(None)
        else:
            events.append(converted)
            if not key and isinstance(raw, dict) and raw.get("api_key"):
                key = str(raw["api_key"])
    keep = [i for i, e in enumerate(events) if e is not None]
    out = validate_generic([events[i] for i in keep], received_us, policy)
    rejected = sorted([(keep[i], reason) for i, reason in out.rejected] + list(pre_rejected.items()))
    return Validated(out.table, rejected[:100], out.rejected_total + len(pre_rejected)), key
