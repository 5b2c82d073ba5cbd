"""The HTML leaderboard: one self-contained page (inline CSS and JS, pictures as data URIs).

Each table is sortable by clicking a column head, shows each entry's final sample picture (2-D
samples over the true modes for ring / grid), and comes with plots of every score against
training time: one line per run through the scores recorded during training (runs trained with
``eval_every`` under the table's protocol) ending at its final score, or the final score alone.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from ganzoo.benchmarking.leaderboard import Board, Row, Table, arrow, mean_std, number, protocol_text, settings_text

THUMBNAIL_CSS_PX = 144

STYLE = """
:root { --fg: #1d232b; --muted: #5b6470; --line: #d9dde3; --head: #f2f4f7; --best: #1a7f37; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: #fff; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 36px 0 4px; font-size: 20px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
p.lead, p.protocol, figcaption, footer { color: var(--muted); }
p.protocol { margin: 4px 0 12px; font-size: 13px; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; background: var(--head); padding: 1px 4px; border-radius: 3px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: middle; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
th.sortable { cursor: pointer; user-select: none; }
th.sortable::after { content: " \\2195"; color: #9aa3ad; font-weight: normal; }
th[aria-sort="ascending"]::after { content: " \\2191"; color: var(--fg); }
th[aria-sort="descending"]::after { content: " \\2193"; color: var(--fg); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
div.small { font-size: 12px; color: var(--muted); max-width: 240px; font-weight: normal; }
span.rank { display: inline-block; min-width: 20px; margin-left: 6px; padding: 0 5px; border-radius: 9px;
            font-size: 11px; text-align: center; background: #e6e9ee; color: var(--muted); }
span.rank.r1 { background: var(--best); color: #fff; }
img.thumb { width: 144px; height: 144px; object-fit: contain; border: 1px solid var(--line); background: #fff;
            display: block; transition: transform .15s; transform-origin: left center; }
img.thumb:hover { transform: scale(2); position: relative; z-index: 2; box-shadow: 0 4px 18px rgba(0,0,0,.25); }
pre.text-sample { margin: 0; max-width: 300px; font-size: 11px; white-space: pre-wrap; }
figure { margin: 8px 0 0; }
figure img { max-width: 100%; border: 1px solid var(--line); }
.missing { color: var(--muted); font-size: 12px; }
"""

SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("th.sortable");
  heads.forEach(function (th) {
    th.addEventListener("click", function () {
      var column = Array.prototype.indexOf.call(th.parentNode.children, th);
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var numeric = th.dataset.type === "num";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
        var order;
        if (numeric) {
          x = x === "" ? NaN : parseFloat(x); y = y === "" ? NaN : parseFloat(y);
          if (isNaN(x) || isNaN(y)) { return isNaN(x) - isNaN(y); }
          order = x - y;
        } else {
          order = String(x).localeCompare(String(y));
        }
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def data_uri(payload: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def _sample_cell(row: Row, out: Path) -> str:
    if row.sample is None or not (out / row.sample).is_file():
        return '<td><span class="missing">no sample</span></td>'
    path = out / row.sample
    if path.suffix == ".png":
        alt = f"final samples of {row.entry}"
        return (f'<td><img class="thumb" src="{data_uri(path.read_bytes(), "image/png")}" alt="{_e(alt)}" '
                f'width="{THUMBNAIL_CSS_PX}" height="{THUMBNAIL_CSS_PX}"></td>')
    lines = path.read_text(encoding="utf-8").splitlines()[:4]
    return f'<td><pre class="text-sample">{_e(chr(10).join(lines))}</pre></td>'


def _num_cell(value: float | None, text: str | None = None) -> str:
    data = "" if value is None or value != value else repr(float(value))
    return f'<td class="num" data-value="{data}">{_e(text if text is not None else number(value))}</td>'


def _table_html(table: Table, out: Path) -> str:
    heads = [("#", "num"), ("sample", None), ("entry · settings", "text"), ("model · loss", "text"), ("steps", "num"),
             ("seeds", "num")]
    heads += [(f"{k} {arrow(table.better[k])}", "num") for k in table.keys]
    heads += [("train s", "num"), ("steps/s", "num"), ("peak RSS MB", "num")]
    head_html = "".join(
        f'<th class="sortable" data-type="{kind}" scope="col">{_e(name)}</th>' if kind else f'<th scope="col">{_e(name)}</th>'
        for name, kind in heads
    )
    body = []
    for r in table.rows:
        settings = settings_text({**r.settings, "weights": r.weights} if r.weights != "raw" else r.settings)
        cells = [_num_cell(r.position, str(r.position)), _sample_cell(r, out),
                 f'<td data-value="{_e(r.entry)}"><strong>{_e(r.entry)}</strong>'
                 + (f'<div class="small">{_e(settings)}</div>' if settings else "") + "</td>",
                 f'<td data-value="{_e(r.model)}" title="{_e(r.model_source)}">{_e(r.model)}'
                 f'<div class="small">{_e(r.loss)}</div></td>',
                 _num_cell(r.steps, str(r.steps)), _num_cell(len(r.runs), f"{len(r.runs)}/{r.seeds_total}")]
        for key in table.keys:
            stat = r.scores[key]
            rank = r.ranks.get(key)
            badge = f'<span class="rank r{rank}" title="rank">{rank}</span>' if rank is not None else ""
            data = "" if stat.n == 0 else repr(float(stat.mean))
            cells.append(f'<td class="num" data-value="{data}">{_e(mean_std(stat))}{badge}</td>')
        cells += [_num_cell(r.stat("train_seconds").mean), _num_cell(r.stat("steps_per_second").mean),
                  _num_cell(r.peak_rss_mb)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="sortable"><thead><tr>{head_html}</tr></thead>\n<tbody>\n' + "\n".join(body)
            + "\n</tbody></table>")


def score_plot(table: Table) -> bytes:
    """PNG: each score key against training seconds, a line per run, a colour per entry (deterministic bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    keys = table.keys
    metric_of = {key: name for row in table.rows for run in row.runs
                 for name, names in run["protocol"].get("keys", {}).items() for key in names}
    colours = plt.get_cmap("tab10")
    with plt.rc_context({"font.size": 9, "axes.titlesize": 10, "svg.hashsalt": "ganzoo"}):
        fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.0), dpi=100, squeeze=False)
        for ax, key in zip(axes[0], keys, strict=True):
            metric = metric_of.get(key)
            for i, row in enumerate(table.rows):
                colour = colours(i % 10)
                for run in row.runs:
                    if run["scores"].get(key) is None:
                        continue
                    points = [(h["train_seconds"], h["scores"][key]) for h in run.get("history", [])
                              if h.get("protocol_ids", {}).get(metric) == table.protocol_id and key in h["scores"]]
                    if points:
                        ax.plot([p[0] for p in points], [p[1] for p in points], color=colour, linewidth=1.2, alpha=0.8)
                    ax.plot([run["train_seconds"]], [run["scores"][key]], marker="o", markersize=5, color=colour,
                            markeredgecolor="white", linestyle="none")
            ax.set_title(f"{key} ({arrow(table.better[key])} better)")
            ax.set_xlabel("training time (s)")
            ax.grid(True, alpha=0.3)
        handles = [Line2D([], [], color=colours(i % 10), marker="o", label=row.entry) for i, row in enumerate(table.rows)]
        columns = max(1, min(len(handles), int(3.6 * len(keys) / 1.9)))  # about 1.9 inches per entry name
        fig.legend(handles=handles, loc="lower center", ncol=columns, frameon=False, bbox_to_anchor=(0.5, 0.0))
        fig.tight_layout(rect=(0, 0.08 + 0.07 * ((len(handles) - 1) // columns), 1, 1))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
        plt.close(fig)
    return buffer.getvalue()


def to_html(board: Board, out: Path) -> str:
    """The whole page."""
    suites = ", ".join(board.suites) or "-"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ganzoo leaderboard: {_e(suites)}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header><h1>ganzoo leaderboard</h1>",
        f'<p class="lead">Suites: {_e(suites)}; {board.runs_total} runs. Scores are mean ± std over seeds; the badge is '
        "the rank in its table (1 = best; ↑ higher is better, ↓ lower is better). Each table holds one dataset under "
        "one evaluation protocol; rows of different tables are never ranked together. Click a column head to sort.</p>",
    ]
    if board.tables:
        links = "".join(f'<a href="#{_e(t.anchor)}">{_e(t.dataset)} · {_e(", ".join(t.protocols))}</a>'
                        for t in board.tables)
        parts.append(f"<nav>{links}</nav>")
    parts.append("</header><main>")
    for t in board.tables:
        plot = data_uri(score_plot(t), "image/png")
        parts += [
            f'<section id="{_e(t.anchor)}"><h2>{_e(t.dataset)} · {_e(", ".join(t.protocols))} '
            f'<small>protocol {_e(t.protocol_id)}</small></h2>',
            f'<p class="protocol">{_e(protocol_text(t))}</p>',
            _table_html(t, out),
            f'<figure><img src="{plot}" alt="{_e(t.dataset)}: scores against training time">'
            "<figcaption>Scores against training time: a line per run through the scores recorded while it trained "
            "(when it was trained with eval_every under this protocol), a dot at its final score.</figcaption></figure>",
            "</section>",
        ]
    if board.unranked:
        rows = "".join(f"<tr><td>{_e(u['run_id'])}</td><td>{_e(u['status'])}</td><td>{_e(u.get('error') or '')}</td></tr>"
                       for u in board.unranked)
        parts.append('<section id="unranked"><h2>Runs without scores</h2><table><thead><tr><th>run</th><th>status</th>'
                     f"<th>error</th></tr></thead><tbody>{rows}</tbody></table></section>")
    parts += ["</main>", "<footer><p>Made by <code>ganzoo leaderboard DIR --format html</code> from DIR/results.jsonl "
              "and DIR/samples/.</p></footer>", f"<script>{SCRIPT}</script>", "</body></html>", ""]
    return "\n".join(parts)
