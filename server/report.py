"""Plots and human-readable reports for headless runs and sweeps (PNG, Markdown, self-contained HTML).

A report is a list of blocks (heading, paragraph, table, image) rendered twice: to Markdown and to an HTML
page with inline CSS and images referenced by relative path, so the output directory can be zipped,
moved or served as is. Plots are drawn with matplotlib's Agg backend (no display needed) and written
atomically; a plot whose metrics the world does not have (a scenario without settlements has no prices)
is skipped, not drawn empty.

Metric names follow ``world.metrics()``: ``population.<species>``, ``flora.<name>``,
``price.<settlement>.<good>``, ``stock.<settlement>.<good>``, ``resources.<good>``, ``weather``,
``daylight``. Plots group by these prefixes; any other metric is still in ``metrics.csv``.

Rejected: a Markdown library to produce the HTML (one more dependency for four block types), Jinja
templates (same), embedding PNGs as base64 (doubles the size; relative links work from disk and a server).
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .headless import SimResult

FloatArray = npt.NDArray[np.float64]


# ------------------------------------------------------------------------------------------- the blocks
@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Image:
    path: str
    """Relative to the report file."""
    alt: str


Block = Heading | Paragraph | Table | Image

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%;margin:.5em 0}
code{background:#f3f3f3;padding:0 .2em}"""


def render_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as Markdown (GitHub tables)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            def line(cells: Sequence[str]) -> str:
                return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
            out.append("\n".join([line(block.header), line(["---"] * len(block.header)),
                                  *(line(r) for r in block.rows)]))
        else:
            out.append(f"![{block.alt}]({block.path})")
    return "\n\n".join(out) + "\n"


def render_html(blocks: Sequence[Block], title: str) -> str:
    """The blocks as one self-contained HTML page (inline CSS, images by relative path)."""
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            text = html.escape(block.text)
            parts = text.split("`")  # `code` spans, the only inline markup the reports use
            body.append("<p>" + "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)) + "</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in block.header)
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                           for r in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            body.append(f'<figure><img src="{html.escape(block.path)}" alt="{html.escape(block.alt)}">'
                        f"<figcaption>{html.escape(block.alt)}</figcaption></figure>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(directory: Path, stem: str, blocks: Sequence[Block], title: str) -> list[str]:
    """Write ``stem.md`` and ``stem.html`` atomically into ``directory``; returns the file names."""
    from .headless import atomic_write_text

    atomic_write_text(directory / f"{stem}.md", render_markdown(blocks))
    atomic_write_text(directory / f"{stem}.html", render_html(blocks, title))
    return [f"{stem}.md", f"{stem}.html"]


def fmt(value: float) -> str:
    """A figure for a table: integers plainly, other numbers with 4 significant digits."""
    if not np.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.4g}"


# ------------------------------------------------------------------------------------------------ plots
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> None:
    """Render ``fig`` to PNG and write it atomically; closes the figure."""
    from .headless import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    atomic_write_bytes(path, buffer.getvalue())


@dataclass(frozen=True)
class MetricSeries:
    """Sampled metrics read back from ``metrics.csv``: ``time_s`` (rows,), ``values`` (rows, metrics)."""

    names: list[str]
    tick: npt.NDArray[np.int64]
    time_s: FloatArray
    values: FloatArray

    def column(self, name: str) -> FloatArray:
        return self.values[:, self.names.index(name)]

    def with_prefix(self, prefix: str) -> list[str]:
        return [n for n in self.names if n.startswith(prefix)]


def read_metrics(path: Path) -> MetricSeries:
    """Read a ``metrics.csv`` written by ``worldloom sim`` (header: tick, time_s, metrics...)."""
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split(",")
        data = np.loadtxt(f, delimiter=",", ndmin=2, dtype=np.float64)
    if data.size == 0:
        data = np.zeros((0, len(header)))
    return MetricSeries(header[2:], data[:, 0].astype(np.int64), data[:, 1], data[:, 2:])


def _scale_time(time_s: FloatArray) -> tuple[FloatArray, str]:
    """Simulated seconds in the largest unit that spans at least 3 of it, with the axis label."""
    span = float(time_s[-1]) if len(time_s) else 0.0
    for unit, seconds in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if span >= 3 * seconds:
            return time_s / seconds, f"simulated time ({unit})"
    return time_s, "simulated time (s)"


def _time_axis(series: MetricSeries) -> tuple[FloatArray, str]:
    return _scale_time(series.time_s)


def plot_lines(series: MetricSeries, names: list[str], path: Path, title: str, ylabel: str,
               strip: str) -> None:
    """One line per metric in ``names`` over simulated time; labels drop ``strip`` from the name."""
    plt = _pyplot()
    t, xlabel = _time_axis(series)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name in names:
        ax.plot(t, series.column(name), label=name.removeprefix(strip), linewidth=1.2)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small", ncol=max(1, len(names) // 8))
    save_figure(fig, path)


def plot_panels(series: MetricSeries, names: list[str], path: Path, title: str) -> None:
    """One stacked panel per metric (each with its own y scale), sharing the time axis."""
    plt = _pyplot()
    t, xlabel = _time_axis(series)
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 1.9 * len(names) + 0.8), squeeze=False, sharex=True)
    for ax, name in zip(axes[:, 0], names, strict=True):
        ax.plot(t, series.column(name), linewidth=1.2)
        ax.set_ylabel(name, fontsize="small")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(xlabel)
    fig.suptitle(title)
    save_figure(fig, path)


def _by_good(names: list[str], prefix: str) -> dict[str, list[str]]:
    """``prefix.<settlement>.<good>`` names grouped by good (the last dotted part)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    return groups


def plot_market(series: MetricSeries, prefix: str, path: Path, title: str, ylabel: str) -> None:
    """One panel per good, one line per settlement, for ``price.`` or ``stock.`` metrics."""
    plt = _pyplot()
    groups = _by_good(series.with_prefix(prefix), prefix)
    t, xlabel = _time_axis(series)
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False, sharex=True)
    for ax, (good, names) in zip(axes.flat, sorted(groups.items()), strict=False):
        for name in names:
            settlement = name.removeprefix(prefix).rsplit(".", 1)[0]
            ax.plot(t, series.column(name), label=settlement, linewidth=1.1)
        ax.set_title(good)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_density_map(density: FloatArray, biome: npt.NDArray[Any] | None, height: FloatArray | None,
                     biome_names: list[str], path: Path, biome_colors: Sequence[str | None] = ()) -> None:
    """Biomes (with height contours) beside the mean creature density per tile. Arrays are (H, W).

    ``biome_colors`` are the scenario's colours per biome index (matplotlib colour strings); missing or
    invalid ones fall back to the tab20 palette.
    """
    plt = _pyplot()
    from matplotlib.colors import BoundaryNorm, ListedColormap, is_color_like, to_rgba

    panels = 2 if biome is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.4 * panels, 5.4), squeeze=False, layout="constrained")
    ax_density = axes[0, -1]
    if biome is not None:
        ax = axes[0, 0]
        count = max(int(biome.max()) + 1, len(biome_names), 1)
        colours = plt.get_cmap("tab20")(np.arange(count) % 20)
        for i, colour in enumerate(list(biome_colors)[:count]):
            if colour and is_color_like(colour):
                colours[i] = to_rgba(colour)
        cmap = ListedColormap(colours)
        image = ax.imshow(biome, cmap=cmap, norm=BoundaryNorm(np.arange(count + 1) - 0.5, count),
                          origin="lower", interpolation="nearest")
        if height is not None and np.ptp(height) > 0:
            ax.contour(height, levels=8, colors="k", linewidths=0.4, alpha=0.5)
        present = sorted(int(b) for b in np.unique(biome))
        bar = fig.colorbar(image, ax=ax, ticks=present, fraction=0.046)
        bar.ax.set_yticklabels([biome_names[b] if b < len(biome_names) else str(b) for b in present])
        ax.set_title("terrain: biomes" + (" and height contours" if height is not None else ""))
        ax.set(xlabel="tile x", ylabel="tile y")
    image = ax_density.imshow(density, cmap="magma", origin="lower", interpolation="nearest")
    if biome is not None and biome.shape == density.shape:
        ax_density.contour(biome, levels=np.arange(int(biome.max())) + 0.5, colors="w", linewidths=0.4,
                           alpha=0.6)
    fig.colorbar(image, ax=ax_density, fraction=0.046, label="creatures per tile")
    ax_density.set_title("creature density (mean over samples)")
    ax_density.set(xlabel="tile x", ylabel="tile y")
    save_figure(fig, path)


def write_run_plots(out: Path, series: MetricSeries, density: FloatArray, biome: npt.NDArray[Any] | None,
                    height: FloatArray | None, biome_names: list[str],
                    biome_colors: Sequence[str | None] = ()) -> list[tuple[str, str]]:
    """Every plot a run's metrics allow; returns (file name, caption) pairs in report order."""
    made: list[tuple[str, str]] = []
    if len(series.tick) == 0:
        return made
    populations = series.with_prefix("population.")
    if populations:
        plot_lines(series, populations, out / "populations.png", "Populations per species", "individuals",
                   "population.")
        made.append(("populations.png", "Populations per species over time"))
    if series.with_prefix("price."):
        plot_market(series, "price.", out / "prices.png", "Prices per settlement and good", "price")
        made.append(("prices.png", "Prices per settlement and good"))
    if series.with_prefix("stock."):
        plot_market(series, "stock.", out / "stock.png", "Stock per settlement and good", "units in stock")
        made.append(("stock.png", "Stock per settlement and good"))
    resources = series.with_prefix("resources.")
    if resources:
        plot_lines(series, resources, out / "resources.png", "Resources left in nodes", "units", "resources.")
        made.append(("resources.png", "Resources left in nodes per good"))
    flora = series.with_prefix("flora.")
    environment: list[str] = [n for n in ("weather", "daylight") if n in series.names]
    if flora:
        plot_panels(series, flora + environment, out / "flora.png",
                    "Flora" + (" with weather (state index) and daylight" if environment else ""))
        made.append(("flora.png", "Flora over time" + (" with weather and daylight" if environment else "")))
    social = [n for n in ("npc.rumour_reach", "npc.social_density", "npc.alive") if n in series.names]
    if social:
        plot_panels(series, social, out / "npc_social.png", "NPCs: rumour reach, relationship density, alive")
        made.append(("npc_social.png", "Share of the town that heard the seeded rumour, relationship-graph "
                                       "density and NPCs alive"))
    needs = series.with_prefix("npc.need.")
    if needs:
        plot_lines(series, needs, out / "npc_needs.png", "NPC needs (mean satisfaction)", "0..1", "npc.need.")
        made.append(("npc_needs.png", "Mean satisfaction of each NPC need"))
    actions = series.with_prefix("npc.action.")
    if actions:
        plot_lines(series, actions, out / "npc_actions.png", "What NPCs are doing", "NPCs", "npc.action.")
        made.append(("npc_actions.png", "NPCs per current action"))
    if density.size:
        plot_density_map(density, biome, height, biome_names, out / "density_map.png", biome_colors)
        made.append(("density_map.png", "Creature density over terrain"))
    return made


# ----------------------------------------------------------------------------------------- run report
def npc_curve_rows(series: MetricSeries, points: int = 13) -> list[list[str]]:
    """The NPC social curve as table rows (time, hour, rumour reach, relationship density) at ``points``
    evenly spaced samples; empty when the run has no NPC system."""
    if "npc.rumour_reach" not in series.names or len(series.tick) == 0:
        return []
    picks = np.unique(np.linspace(0, len(series.tick) - 1, points).round().astype(int))
    hour = series.column("hour") if "hour" in series.names else np.full(len(series.tick), np.nan)
    reach, dens = series.column("npc.rumour_reach"), series.column("npc.social_density")
    return [[str(int(series.tick[i])), f"{hour[i]:.1f}", f"{100 * reach[i]:.0f} %", f"{dens[i]:.3f}"]
            for i in picks]


def run_report_blocks(result: SimResult, plots: list[tuple[str, str]],
                      npc_curve: list[list[str]] | None = None) -> list[Block]:
    """The report of one ``sim`` run: what ran, how fast, the final hash, key figures and plots."""
    blocks: list[Block] = [Heading(f"Worldloom run: {Path(result.scenario).stem}, seed {result.seed}", 1)]
    status = (f"Interrupted after {result.ticks_run} of {result.ticks_requested} ticks."
              if result.interrupted else f"Completed {result.ticks_run} ticks.")
    blocks.append(Paragraph(status))
    overrides = ", ".join(f"{k}={v}" for k, v in result.overrides.items()) or "none"
    blocks.append(Table(["item", "value"], [
        ["scenario", result.scenario], ["seed", str(result.seed)], ["overrides", overrides],
        ["ticks", f"{result.ticks_run} (dt {result.dt:g} s, {result.ticks_run * result.dt:g} s simulated)"],
        ["wall time", f"{result.wall_s:.3f} s"], ["speed", f"{result.ticks_per_s:,.1f} ticks/s"],
        ["final world hash", result.world_hash],
        ["metrics", f"{len(result.metric_names)} metrics, {result.rows} samples (every {result.every} ticks)"],
        ["events", f"{result.events} logged"],
    ]))
    names = result.metric_names
    populations = [n for n in names if n.startswith("population.")]
    if populations:
        blocks.append(Heading("Populations"))
        blocks.append(Table(["species", "min", "max", "mean", "final"], [
            [n.removeprefix("population."), fmt(result.minimum[n]), fmt(result.maximum[n]), fmt(result.mean[n]),
             fmt(result.final[n])] for n in populations]))
    blocks.append(Heading("Extinctions"))
    if result.extinctions:
        blocks.append(Table(["species", "tick"], [[e["species"], str(e["tick"])] for e in result.extinctions]))
    else:
        blocks.append(Paragraph("No species went extinct" + (" (sampled)." if populations else
                                                              "; the scenario has no population metrics.")))
    if npc_curve:
        blocks.append(Heading("NPCs: rumour and relationships"))
        blocks.append(Paragraph("How far the scenario's seeded rumour has travelled by gossip (share of the "
                                "peaceful townsfolk who know it) and the density of the relationship graph "
                                "(ties with affinity >= 0.3 among all possible pairs)."))
        blocks.append(Table(["tick", "hour", "rumour reach", "density"], npc_curve))
    prices = [n for n in names if n.startswith("price.")]
    if prices:
        blocks.append(Heading("Prices"))
        blocks.append(Table(["settlement.good", "min", "max", "mean", "final"], [
            [n.removeprefix("price."), fmt(result.minimum[n]), fmt(result.maximum[n]), fmt(result.mean[n]),
             fmt(result.final[n])] for n in prices]))
    others = [n for n in names if not n.startswith(("population.", "price."))]
    if others:
        blocks.append(Heading("Other metrics"))
        blocks.append(Table(["metric", "min", "max", "mean", "final"], [
            [n, fmt(result.minimum[n]), fmt(result.maximum[n]), fmt(result.mean[n]), fmt(result.final[n])]
            for n in others]))
    if result.event_kinds:
        blocks.append(Heading("Events by kind"))
        blocks.append(Table(["kind", "count"], [[k, str(v)] for k, v in
                                                sorted(result.event_kinds.items(), key=lambda kv: -kv[1])]))
    if plots:
        blocks.append(Heading("Plots"))
        blocks.extend(Image(file, caption) for file, caption in plots)
    blocks.append(Paragraph("Files: `metrics.csv` (one row per sample), `events.jsonl` (one event per line), "
                            "`result.json` (these figures, machine-readable)."))
    return blocks


def write_run_report(out: Path, result: SimResult, density: FloatArray, biome: npt.NDArray[Any] | None,
                     height: FloatArray | None, biome_names: list[str], plots: bool,
                     biome_colors: Sequence[str | None] = ()) -> list[str]:
    """Plots (if ``plots``) and ``report.md``/``report.html`` for a finished run; returns file names."""
    series = read_metrics(out / "metrics.csv")
    made = write_run_plots(out, series, density, biome, height, biome_names, biome_colors) if plots else []
    title = f"Worldloom run: {Path(result.scenario).stem}, seed {result.seed}"
    blocks = run_report_blocks(result, made, npc_curve_rows(series))
    return [f for f, _ in made] + write_report(out, "report", blocks, title)


# ------------------------------------------------------------------------------------ sweep comparisons
def plot_comparison(curves: dict[str, dict[str, tuple[FloatArray, FloatArray, FloatArray]]], path: Path,
                    title: str, ylabel: str) -> None:
    """One panel per metric; per combination its mean over seeds with a ±1 sd band.

    Args:
        curves: metric -> combination label -> (time_s (rows,), mean (rows,), sd (rows,)).
    """
    plt = _pyplot()
    cols = min(2, len(curves))
    rows = -(-len(curves) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.8 * rows), squeeze=False)
    for ax, (metric, per_combo) in zip(axes.flat, curves.items(), strict=False):
        xlabel = "simulated time (s)"
        for label, (time_s, mean, sd) in per_combo.items():
            t, xlabel = _scale_time(time_s)
            (line,) = ax.plot(t, mean, label=label, linewidth=1.2)
            ax.fill_between(t, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_title(metric)
        ax.set(xlabel=xlabel, ylabel=ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    for ax in axes.flat[len(curves):]:
        ax.axis("off")
    fig.suptitle(title)
    save_figure(fig, path)
