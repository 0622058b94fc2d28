"""Quest titles, summaries, objectives and NPC barks from designer-editable grammars
(``narrative/templates/text.toml``), expanded deterministically from a seed.

Template syntax (Tracery-like): ``#rule#`` expands a random alternative of ``[grammar].rule`` (recursively,
at most ``MAX_DEPTH`` deep), ``#rule.capitalize#`` / ``#rule.a#`` apply a modifier, ``{var}`` inserts a
variable bound to a world fact (the giver's name, the threatening species, the town short of food...).

Why validate at load: a designer who types ``{thretа}`` must hear about it when the file is read, naming
the file and the field, not when a player meets a quest with a hole in its title. Every template is
checked against the variables its context guarantees: a motivation-level template may use the variables
every strategy of that motivation binds; a strategy-level one (key ``"protection.attack_threats"``) those
of that strategy; grammar rules only the global ones. Rejected: Jinja (logic in designer data, no
static check of variables), Python format strings on dicts (no alternatives, no seed).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DesignDataError
from .quest_taxonomy import ACTIONS, MOTIVATIONS, Taxonomy

TEXT_PATH = Path(__file__).with_name("templates") / "text.toml"
MAX_DEPTH = 8
GLOBAL_VARS = frozenset({"giver", "home", "giver_role", "giver_faction", "objective"})
"""Variables every quest binds (besides its strategy's slots)."""
SECTION_VARS = {"failed": frozenset({"reason"})}
"""Extra variables available in one bark section."""
BARK_SECTIONS = ("offer", "accepted", "progress", "done", "failed")
ACTION_VARS = frozenset({"target", "item"})
_RULE = re.compile(r"#([a-z_][a-z0-9_]*)((?:\.[a-z]+)*)#")
_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_]*)((?:\.[a-z]+)*)\}")
_MODIFIERS = {"capitalize", "a", "upper"}


@dataclass(frozen=True)
class TextBank:
    """Validated templates: grammar rules, action phrases, titles, summaries and barks."""

    grammar: dict[str, tuple[str, ...]]
    actions: dict[str, tuple[str, ...]]
    titles: dict[str, tuple[str, ...]]
    summaries: dict[str, tuple[str, ...]]
    barks: dict[str, dict[str, tuple[str, ...]]]
    source: str

    def expand(self, template: str, variables: Mapping[str, str], rng: np.random.Generator, depth: int = 0) -> str:
        """Expand ``#rules#`` with ``rng`` then substitute ``{variables}``."""
        def rule(match: re.Match[str]) -> str:
            name, mods = match.group(1), match.group(2)
            if depth >= MAX_DEPTH:
                return name
            options = self.grammar[name]
            text = self.expand(options[int(rng.integers(len(options)))], variables, rng, depth + 1)
            for mod in mods.split(".")[1:]:
                text = _modify(text, mod)
            return text

        def variable(match: re.Match[str]) -> str:
            text = str(variables[match.group(1)])
            for mod in match.group(2).split(".")[1:]:
                text = _modify(text, mod)
            return text

        return _VARIABLE.sub(variable, _RULE.sub(rule, template))

    def pick(self, table: Mapping[str, tuple[str, ...]], keys: tuple[str, ...], variables: Mapping[str, str],
             rng: np.random.Generator) -> str:
        """Expand a random template of the first key of ``keys`` present in ``table``."""
        for key in keys:
            if key in table:
                options = table[key]
                return self.expand(options[int(rng.integers(len(options)))], variables, rng)
        raise KeyError(keys[-1])

    def title(self, motivation: str, strategy: str, variables: Mapping[str, str], rng: np.random.Generator) -> str:
        return self.pick(self.titles, (f"{motivation}.{strategy}", motivation), variables, rng)

    def summary(self, motivation: str, strategy: str, variables: Mapping[str, str], rng: np.random.Generator) -> str:
        return self.pick(self.summaries, (f"{motivation}.{strategy}", motivation), variables, rng)

    def bark(self, section: str, motivation: str, strategy: str, variables: Mapping[str, str],
             rng: np.random.Generator) -> str:
        return self.pick(self.barks[section], (f"{motivation}.{strategy}", motivation), variables, rng)

    def objective(self, action: str, target: str, item: str | None, rng: np.random.Generator) -> str:
        """One step as a phrase (``kill`` the wolf -> "put down the wolf")."""
        options = self.actions[action]
        return self.expand(options[int(rng.integers(len(options)))], {"target": target, "item": item or "it"}, rng)


def _modify(text: str, mod: str) -> str:
    if mod == "capitalize":
        return text[:1].upper() + text[1:]
    if mod == "upper":
        return text.upper()
    if mod == "a":
        return ("an " if text[:1].lower() in "aeiou" else "a ") + text
    return text


def load_text(path: str | Path = TEXT_PATH, taxonomy: Taxonomy | None = None) -> TextBank:
    """Read and validate a text file against ``taxonomy`` (default: the bundled strategies).

    Raises:
        DesignDataError: unreadable file, unknown section, unknown motivation or strategy key, a missing
            motivation, an unknown ``#rule#`` or modifier, or a ``{variable}`` that is not bound in that
            template's context -- naming the file and the field (e.g. ``titles.protection[1]``).
    """
    from .quest_taxonomy import load_taxonomy

    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DesignDataError(source, "(file)", f"a readable TOML file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignDataError(source, "(syntax)", f"valid TOML ({exc})") from None
    return parse_text(data, source, taxonomy or load_taxonomy())


def parse_text(data: dict[str, Any], source: str, taxonomy: Taxonomy) -> TextBank:
    """Validate parsed text data (see ``load_text``)."""
    for key in data:
        if key not in ("grammar", "actions", "titles", "summaries", "barks"):
            raise DesignDataError(source, key, "one of grammar, actions, titles, summaries, barks")
    grammar = _strings_table(data.get("grammar", {}), source, "grammar")
    actions = _strings_table(data.get("actions", {}), source, "actions")
    for action in ACTIONS:
        if action not in actions:
            raise DesignDataError(source, f"actions.{action}", "phrases for every atomic action")
    for name in actions:
        if name not in ACTIONS:
            raise DesignDataError(source, f"actions.{name}", f"an atomic action, one of {', '.join(sorted(ACTIONS))}")
    contexts = _contexts(taxonomy)
    for name, options in grammar.items():
        _check(options, GLOBAL_VARS, grammar, source, f"grammar.{name}")
    for name, options in actions.items():
        _check(options, ACTION_VARS, grammar, source, f"actions.{name}")
    titles = _keyed(data.get("titles"), contexts, grammar, source, "titles", frozenset())
    summaries = _keyed(data.get("summaries"), contexts, grammar, source, "summaries", frozenset())
    raw_barks = data.get("barks", {})
    if not isinstance(raw_barks, dict):
        raise DesignDataError(source, "barks", f"a table with sections {', '.join(BARK_SECTIONS)}")
    for section in raw_barks:
        if section not in BARK_SECTIONS:
            raise DesignDataError(source, f"barks.{section}", f"one of {', '.join(BARK_SECTIONS)}")
    barks = {}
    for section in BARK_SECTIONS:
        barks[section] = _keyed(raw_barks.get(section), contexts, grammar, source, f"barks.{section}",
                                SECTION_VARS.get(section, frozenset()))
    return TextBank(grammar, actions, titles, summaries, barks, source)


def _contexts(taxonomy: Taxonomy) -> dict[str, frozenset[str]]:
    """Template key -> variables guaranteed there (motivation: slots common to all its strategies)."""
    out: dict[str, frozenset[str]] = {}
    for motivation in MOTIVATIONS:
        strategies = taxonomy.strategies[motivation]
        common = frozenset.intersection(*(frozenset(s.slots) for s in strategies))
        out[motivation] = GLOBAL_VARS | common
        for s in strategies:
            out[s.key] = GLOBAL_VARS | frozenset(s.slots)
    return out


def _strings_table(raw: Any, source: str, field: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise DesignDataError(source, field, "a table of name -> list of strings")
    out = {}
    for name, options in raw.items():
        if isinstance(options, str):
            options = [options]
        if not isinstance(options, list) or not options or not all(isinstance(o, str) for o in options):
            raise DesignDataError(source, f"{field}.{name}", "a non-empty list of strings")
        out[name] = tuple(options)
    return out


def _keyed(raw: Any, contexts: dict[str, frozenset[str]], grammar: dict[str, tuple[str, ...]], source: str,
           field: str, extra: frozenset[str]) -> dict[str, tuple[str, ...]]:
    if raw is None:
        raise DesignDataError(source, field, "a table with templates for every motivation")
    table = _strings_table(raw, source, field)
    for key, options in table.items():
        if key not in contexts:
            motivation = key.split(".")[0]
            if motivation not in MOTIVATIONS:
                raise DesignDataError(source, f"{field}.{key}", f"a motivation, one of {', '.join(MOTIVATIONS)}")
            raise DesignDataError(source, f"{field}.{key}", "a strategy of the bundled taxonomy (motivation.strategy)")
        _check(options, contexts[key] | extra, grammar, source, f"{field}.{key}")
    for motivation in MOTIVATIONS:
        if motivation not in table:
            raise DesignDataError(source, f"{field}.{motivation}", "templates for every motivation")
    return table


def _check(options: tuple[str, ...], allowed: frozenset[str], grammar: dict[str, tuple[str, ...]], source: str,
           field: str) -> None:
    for i, text in enumerate(options):
        where = f"{field}[{i}]"
        if "{" in _VARIABLE.sub("", text) or "}" in _VARIABLE.sub("", text):
            raise DesignDataError(source, where, "{variable} or {variable.modifier} with a lower_snake_case name")
        for var, mods in _VARIABLE.findall(text):
            for mod in mods.split(".")[1:]:
                if mod not in _MODIFIERS:
                    raise DesignDataError(source, where, f"a modifier of {', '.join(sorted(_MODIFIERS))}, not .{mod}")
            if var not in allowed:
                raise DesignDataError(source, where, f"variables bound here ({', '.join(sorted(allowed))}); "
                                                     f"{{{var}}} is not bound")
        for name, mods in _RULE.findall(text):
            if name not in grammar:
                raise DesignDataError(source, where, f"a grammar rule defined in [grammar]; #{name}# is not")
            for mod in mods.split(".")[1:]:
                if mod not in _MODIFIERS:
                    raise DesignDataError(source, where, f"a modifier of {', '.join(sorted(_MODIFIERS))}, not .{mod}")
