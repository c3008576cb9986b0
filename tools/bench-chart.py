#!/usr/bin/env python3
"""Draws the ratios of a bench.exe CSV as an SVG bar chart, one bar per metric.

    tools/bench-chart.py bench.csv bench.svg

The CSV has the columns metric,unit,ours,platform,ratio; a ratio above 1 means our DLL did
better (ours/platform for rates, platform/ours for latencies and call costs).  Rows without
a ratio (the memory figures, the stall count) are left out.  Plain Python, no libraries.
"""

import csv
import sys
from xml.sax.saxutils import escape

BAR_HEIGHT = 18
ROW = 26
LEFT = 250      # room for the metric names
RIGHT = 70      # room for the value after the longest bar
TOP = 70
PLOT_WIDTH = 560


def read_ratios(path):
    rows = []
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            try:
                ratio = float(row.get('ratio') or '')
            except ValueError:
                continue
            rows.append((row['metric'], row.get('unit', ''), ratio))
    return rows


def tick_step(top):
    for step in (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0):
        if top / step <= 10:
            return step
    return 20.0


def chart(rows):
    top = max([1.0] + [r for _, _, r in rows]) * 1.1
    step = tick_step(top)
    top = step * int(top / step + 0.999)
    height = TOP + ROW * len(rows) + 50
    width = LEFT + PLOT_WIDTH + RIGHT

    def x(value):
        return LEFT + PLOT_WIDTH * value / top

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
        'ws2_32 bench: our DLL against the platform</text>',
        f'<text x="{width / 2}" y="42" text-anchor="middle" fill="#444">'
        'ratio &gt; 1: ours is better (rates: ours/platform; latencies, ns/call: platform/ours)</text>',
    ]
    bottom = TOP + ROW * len(rows)
    tick = 0.0
    while tick <= top + 1e-9:
        out.append(f'<line x1="{x(tick):.1f}" y1="{TOP - 6}" x2="{x(tick):.1f}" y2="{bottom}" '
                   'stroke="#e4e4e4"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle" fill="#444">'
                   f'{tick:g}</text>')
        tick += step
    for i, (metric, unit, ratio) in enumerate(rows):
        y = TOP + ROW * i
        colour = '#3c8d40' if ratio >= 1 else '#c0504d'
        label = f'{metric} ({unit})' if unit else metric
        out.append(f'<text x="{LEFT - 8}" y="{y + BAR_HEIGHT - 5}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{LEFT}" y="{y}" width="{max(x(ratio) - LEFT, 0.5):.1f}" '
                   f'height="{BAR_HEIGHT}" fill="{colour}"/>')
        out.append(f'<text x="{x(ratio) + 5:.1f}" y="{y + BAR_HEIGHT - 5}">{ratio:.3f}</text>')
    out.append(f'<line x1="{x(1.0):.1f}" y1="{TOP - 10}" x2="{x(1.0):.1f}" y2="{bottom + 4}" '
               'stroke="black" stroke-width="1.5" stroke-dasharray="5,3"/>')
    out.append(f'<text x="{x(1.0):.1f}" y="{TOP - 14}" text-anchor="middle">1.0</text>')
    out.append(f'<text x="{LEFT + PLOT_WIDTH / 2}" y="{bottom + 36}" text-anchor="middle" fill="#444">'
               'ratio (medians over the rounds)</text>')
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def main(argv):
    if len(argv) != 3:
        sys.stderr.write('usage: bench-chart.py CSV OUT.svg\n')
        return 2
    rows = read_ratios(argv[1])
    if not rows:
        sys.stderr.write(f'{argv[1]}: no rows with a ratio\n')
        return 1
    with open(argv[2], 'w') as f:
        f.write(chart(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
