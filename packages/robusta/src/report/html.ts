// The report as one self-contained HTML page: it opens offline from any folder — the SVGs are inlined,
// the CSS is inlined, there is no script and no external font or image, and a Content-Security-Policy
// forbids loading anything at all, so nothing a user-named model or measure could smuggle in can run.
// All text is escaped (labels, settings and measure names come from user specs).
//
// Layout: title and notes; the τ table (Kendall τ between each measure and the robust generalization
// gap overall with its bootstrap interval, within each defense method, granulated per setting axis,
// and their mean Ψ — Kim et al., NeurIPS 2023, after Jiang et al., ICLR 2020); the plots; the models.
import { defenseOrder, settingKeys } from './charts.js';
import { directionText, formatInterval, formatPercent, formatTau, formatValue, signDisagrees } from './format.js';
import { defenseColors } from './palette.js';
import type { ReportMeasure, StudyReportData, TauCell } from './types.js';

/** A rendered chart as the page shows it. */
export interface HtmlChart {
  name: string;
  kind: string;
  measure?: string;
  title: string;
  caption: string;
  svg: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text → HTML text or attribute value. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/**
 * Several SVGs inlined in one document share one id space: vega numbers clip paths and gradients per
 * process, so ids are prefixed per picture to keep every url(#…) pointing into its own picture.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/\b((?:xlink:)?href)="#([^"]+)"/g, (_m, attr: string, id: string) => `${attr}="#${prefix}-${id}"`);
}

const CSS = `
:root { color-scheme: light; --pos: 33,102,172; --neg: 178,24,43; }
body { font: 14px/1.45 "DejaVu Sans", Verdana, system-ui, sans-serif; margin: 24px auto; max-width: 1400px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
.meta { color: #555; margin: 0 0 8px; } .notes { color: #444; margin: 4px 0 12px; padding-left: 20px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; vertical-align: top; white-space: nowrap; }
th { background: #f6f6f6; font-weight: 600; } th[scope=row], th.text, td.text { text-align: left; }
.family, .ci, .n { display: block; color: #666; font-size: 11px; font-weight: normal; }
.pos .v { color: rgb(var(--pos)); } .neg .v { color: rgb(var(--neg)); } .na { color: #999; }
.sig .v { font-weight: 700; }
.flag { color: #b35806; font-weight: 700; margin-left: 2px; cursor: help; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 5px; vertical-align: baseline; }
.legend { color: #555; font-size: 12px; margin: 6px 0; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
figure.plot { margin: 0; border: 1px solid #eee; padding: 8px; background: #fff; flex: 1 1 480px; max-width: 760px; }
figure.plot svg { display: block; width: 100%; height: auto; }
figcaption { max-width: 520px; font-size: 12px; color: #444; margin-top: 4px; white-space: normal; }
`;

function tauCellHtml(col: string, cell: TauCell | undefined, measure: ReportMeasure | undefined, withInterval: boolean): string {
  const tau = cell?.tau ?? NaN;
  return tauValueHtml(col, tau, measure, cell && withInterval ? cell : undefined);
}

function tauValueHtml(col: string, tau: number, measure: ReportMeasure | undefined, cell?: TauCell): string {
  if (!Number.isFinite(tau)) {
    return `<td class="tau na" data-col="${escapeHtml(col)}" data-tau="NaN"><span class="v">${formatTau(tau)}</span></td>`;
  }
  const classes = ['tau', tau > 0 ? 'pos' : tau < 0 ? 'neg' : 'zero'];
  // An interval that excludes 0 marks a sign the bootstrap is sure of.
  if (cell && Number.isFinite(cell.low) && Number.isFinite(cell.high) && (cell.low > 0 || cell.high < 0)) classes.push('sig');
  const disagrees = signDisagrees(tau, measure);
  if (disagrees) classes.push('disagrees');
  const rgb = tau > 0 ? '33,102,172' : '178,24,43';
  const style = `background: rgba(${rgb},${(0.3 * Math.min(1, Math.abs(tau))).toFixed(3)})`;
  const flag = disagrees ? `<span class="flag" title="sign disagrees with the measure's paper">≠</span>` : '';
  const interval = cell ? formatInterval(cell) : '';
  const extra = (interval ? `<span class="ci">${escapeHtml(interval)}</span>` : '') + (cell ? `<span class="n">n = ${cell.n}</span>` : '');
  return `<td class="${classes.join(' ')}" style="${style}" data-col="${escapeHtml(col)}" data-tau="${tau}">` +
    `<span class="v">${formatTau(tau)}</span>${flag}${extra}</td>`;
}

function tauTableHtml(data: StudyReportData): string {
  const defenses = defenseOrder(data).filter((d) => data.tau.some((r) => r.perDefense[d]));
  const axes = [...data.axes];
  for (const r of data.tau) for (const a of Object.keys(r.granulated)) if (!axes.includes(a)) axes.push(a);
  const colors = defenseColors(defenseOrder(data));
  const measures = new Map(data.measures.map((m) => [m.name, m]));
  const head1 = ['<th rowspan="2" scope="col" class="text">measure</th>', '<th rowspan="2" scope="col" class="text">paper</th>',
    '<th rowspan="2" scope="col">τ overall<span class="family">interval, models</span></th>'];
  if (defenses.length) head1.push(`<th colspan="${defenses.length}" scope="colgroup">τ per defense</th>`);
  if (axes.length) head1.push(`<th colspan="${axes.length}" scope="colgroup">granulated τ per axis</th>`);
  head1.push('<th rowspan="2" scope="col">Ψ<span class="family">mean over axes</span></th>');
  const head2 = [
    ...defenses.map((d) => `<th scope="col"><span class="swatch" style="background:${colors.get(d)}"></span>${escapeHtml(d)}</th>`),
    ...axes.map((a) => `<th scope="col">${escapeHtml(a)}</th>`),
  ];
  const rows = data.tau.map((r) => {
    const m = measures.get(r.measure);
    const cells = [
      `<th scope="row">${escapeHtml(r.measure)}${m ? `<span class="family">${escapeHtml(m.family)}${m.unit ? ` · ${escapeHtml(m.unit)}` : ''}</span>` : ''}</th>`,
      `<td class="text dir">${m ? escapeHtml(directionText(m)) : ''}</td>`,
      tauCellHtml('overall', r.overall, m, true),
      ...defenses.map((d) => tauCellHtml(`defense:${d}`, r.perDefense[d], m, true)),
      ...axes.map((a) => tauValueHtml(`axis:${a}`, r.granulated[a] ?? NaN, m)),
      tauValueHtml('psi', r.granulatedMean, m),
    ];
    return `<tr data-measure="${escapeHtml(r.measure)}">${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table class="tau-table" id="tau-table">
<thead><tr>${head1.join('')}</tr>${head2.length ? `<tr>${head2.join('')}</tr>` : ''}</thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>
<p class="legend"><span style="color:rgb(var(--pos))">blue</span>: τ &gt; 0 (larger value ↔ larger gap) ·
<span style="color:rgb(var(--neg))">red</span>: τ &lt; 0 (larger value ↔ smaller gap) · <b>bold</b>: the interval excludes 0 ·
<span class="flag">≠</span> the sign disagrees with the direction the measure's paper predicts · — not computed.</p>`;
}

function modelsTableHtml(data: StudyReportData): string {
  // A 'defense' setting that only repeats the defense column is not shown twice.
  const keys = settingKeys(data).filter((k) => k !== 'defense' || data.models.some((m) => k in m.settings && String(m.settings[k]) !== m.defense));
  const colors = defenseColors(defenseOrder(data));
  const measureNames = data.measures.map((m) => m.name);
  const head = ['model', 'id', 'defense', ...keys].map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('') +
    '<th scope="col">train robust acc.</th><th scope="col">test robust acc.</th><th scope="col">gap</th>' +
    measureNames.map((n) => `<th scope="col">${escapeHtml(n)}</th>`).join('');
  const rows = data.models.map((m) => {
    const cells = [
      `<td class="text label">${escapeHtml(m.label)}</td>`,
      `<td class="text id">${escapeHtml(m.id)}</td>`,
      `<td class="text"><span class="swatch" style="background:${colors.get(m.defense)}"></span>${escapeHtml(m.defense)}</td>`,
      ...keys.map((k) => `<td class="text">${k in m.settings ? escapeHtml(String(m.settings[k])) : ''}</td>`),
      `<td>${formatPercent(m.trainRobustAccuracy)}</td>`,
      `<td>${formatPercent(m.testRobustAccuracy)}</td>`,
      `<td>${Number.isFinite(m.gap) ? `${(100 * m.gap).toFixed(2)} pp` : '—'}</td>`,
      ...measureNames.map((n) => `<td>${escapeHtml(formatValue(m.measures[n]))}</td>`),
    ];
    return `<tr data-model-id="${escapeHtml(m.id)}">${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table class="models-table" id="models-table">
<thead><tr>${head}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function chartHtml(c: HtmlChart): string {
  const measure = c.measure !== undefined ? ` data-measure="${escapeHtml(c.measure)}"` : '';
  return `<figure class="plot" id="plot-${escapeHtml(c.name)}" data-plot="${escapeHtml(c.name)}" data-kind="${escapeHtml(c.kind)}"${measure}>
${scopeSvgIds(c.svg, `p-${c.name}`)}
<figcaption><strong>${escapeHtml(c.title)}.</strong> ${escapeHtml(c.caption)}
<a href="plots/${encodeURIComponent(c.name)}.svg">SVG</a> · <a href="plots/${encodeURIComponent(c.name)}.png">PNG</a></figcaption>
</figure>`;
}

/** The whole page. */
export function renderHtml(data: StudyReportData, charts: readonly HtmlChart[]): string {
  const s = data.study;
  const meta = [
    `study <b>${escapeHtml(s.name)}</b>`, `dataset ${escapeHtml(s.dataset)}`, `${data.models.length} models`,
    `${data.measures.length} measures`, `made ${escapeHtml(data.createdAt)}`,
    ...(s.specHash ? [`spec ${escapeHtml(s.specHash)}`] : []),
  ].join(' · ');
  const notes = data.notes?.length ? `<ul class="notes">${data.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="robusta report">
<title>${escapeHtml(data.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(data.title)}</h1>
<p class="meta">${meta}</p>
${s.description ? `<p class="description">${escapeHtml(s.description)}</p>` : ''}
${notes}
</header>
<section id="tau">
<h2>Kendall τ between each measure and the robust generalization gap</h2>
${tauTableHtml(data)}
</section>
<section id="plots">
<h2>Plots</h2>
<div class="plots">
${charts.map(chartHtml).join('\n')}
</div>
</section>
<section id="models">
<h2>Models</h2>
${modelsTableHtml(data)}
</section>
</body>
</html>
`;
}
