"""Export a quest's dialogue as Yarn Spinner (``.yarn``) text, the format narrative designers already open
in Yarn Spinner's editor, Unity/Godot plugins and Flame's Jenny.

One quest becomes one node per graph node that talks: ``<Q>_Offer`` (offer bark, summary, Accept/Decline
options), ``<Q>_s0``.. (the giver explains each step; options to report it done), ``<Q>_alt_*`` (branches),
``<Q>_turn_in`` and ``<Q>_fail_*``. A ``$<Q>_status`` string variable is declared and set as the player
moves through it, so a game can drive the same state from Yarn. Text is escaped (``\\{``, ``\\#``...) so
world facts can never be read as Yarn markup, expressions, hashtags or comments.
"""

from __future__ import annotations

import re

from .quest_graph import Quest

_SPECIAL = re.compile(r"([\\{}\[\]<>#/])")
_ID = re.compile(r"[^A-Za-z0-9_]")


def escape_line(text: str) -> str:
    """``text`` as one safe Yarn line: no newlines, every special character backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def yarn_id(text: str) -> str:
    """A valid Yarn identifier (letters, digits, underscores; starts with a letter)."""
    out = _ID.sub("_", text)
    return out if out[:1].isalpha() else f"Q_{out}"


def quest_to_yarn(quest: Quest, failed_line: str = "It does not matter any more.") -> str:
    """The whole dialogue of ``quest`` as ``.yarn`` text (nodes separated by blank lines)."""
    q = yarn_id(quest.id)
    speaker = yarn_id(quest.bindings["giver"].label)
    status = f"${q}_status"
    g = quest.graph
    nodes: list[str] = []

    def node(name: str, body: list[str], tags: str = "") -> None:
        head = [f"title: {q}_{name}", f"tags: quest {quest.motivation} {tags}".rstrip(), "---"]
        nodes.append("\n".join(head + body + ["==="]))

    def say(text: str) -> str:
        return f"{speaker}: {escape_line(text)}"

    node("Offer", [f'<<declare {status} = "offered">>', say(quest.text.get("offer", "")),
                   say(quest.text.get("summary", "")),
                   "-> Accept", f'    <<set {status} to "active">>', f"    {say(quest.text.get('accepted', ''))}",
                   f"    <<jump {q}_s0>>",
                   "-> Decline", f'    <<set {status} to "declined">>'], "offer")
    for name, data in g.nodes(data=True):
        if data["kind"] == "step":
            nxt = next((t for _, t, e in g.out_edges(name, data=True) if e["when"] == "done"), "turn_in")
            target = quest.bindings.get(data["target"])
            text = data["text"] or (f"{data['action']} {target.label}" if target else data["action"])
            node(name, [say(f"Next: {text}."), "-> Done", f"    <<jump {q}_{nxt}>>", "-> Not yet",
                        f"    {say('Come back when it is done.')}"], "step")
        elif data["kind"] == "turn_in":
            node(name, [f'<<set {status} to "completed">>', say(quest.text.get("done", ""))], "turn_in")
        elif data.get("outcome") == "failed":
            reason = str(data.get("reason", "")).replace("_", " ")
            node(name, [f'<<set {status} to "failed">>', say(f"{failed_line} ({reason})")], "failed")
    return "\n\n".join(nodes) + "\n"
