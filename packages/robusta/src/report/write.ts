// Writes a study report to a folder: plots/<name>.svg and .png for every chart, report.json (the data
// the report was made from; NaN is written as null, JSON's only choice), and index.html last, so a
// folder with an index.html is always complete. Every file is written under a temporary name and
// renamed into place (atomic on one file system), so a reader never sees a half-written file and a
// crash leaves the previous report intact.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { reportCharts } from './charts.js';
import { type HtmlChart, renderHtml } from './html.js';
import { renderSvg, svgToPng } from './render.js';
import type { StudyReportData } from './types.js';

export interface PlotFiles {
  name: string;
  kind: string;
  measure?: string;
  svg: string;
  png: string;
  /** Vega-Lite's warnings while compiling the chart (empty when all is well). */
  warnings: string[];
}

export interface ReportFiles {
  /** The folder, absolute. */
  outDir: string;
  indexHtml: string;
  reportJson: string;
  plots: PlotFiles[];
  /** Every file written, absolute paths, index.html last. */
  files: string[];
}

export interface WriteReportOptions {
  /** PNG pixels per SVG unit. Default 2. */
  pngScale?: number;
}

async function writeAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, content);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export async function writeReport(data: StudyReportData, outDir: string, options: WriteReportOptions = {}): Promise<ReportFiles> {
  const dir = resolve(outDir);
  const plotsDir = join(dir, 'plots');
  await mkdir(plotsDir, { recursive: true });

  const plots: PlotFiles[] = [];
  const htmlCharts: HtmlChart[] = [];
  for (const chart of reportCharts(data)) {
    const { svg, warnings } = await renderSvg(chart.spec, chart.name);
    const svgPath = join(plotsDir, `${chart.name}.svg`);
    const pngPath = join(plotsDir, `${chart.name}.png`);
    await writeAtomic(svgPath, svg);
    await writeAtomic(pngPath, svgToPng(svg, { scale: options.pngScale }));
    plots.push({ name: chart.name, kind: chart.kind, measure: chart.measure, svg: svgPath, png: pngPath, warnings });
    htmlCharts.push({ name: chart.name, kind: chart.kind, measure: chart.measure, title: chart.title, caption: chart.caption, svg });
  }

  const reportJson = join(dir, 'report.json');
  await writeAtomic(reportJson, `${JSON.stringify(data, null, 2)}\n`);
  const indexHtml = join(dir, 'index.html');
  await writeAtomic(indexHtml, renderHtml(data, htmlCharts));

  return {
    outDir: dir, indexHtml, reportJson, plots,
    files: [...plots.flatMap((p) => [p.svg, p.png]), reportJson, indexHtml],
  };
}
