// robusta/report: a study's report — Vega-Lite charts rendered to SVG/PNG on the server, a
// self-contained HTML page, report.json, and the τ table as text and JSON.
export type { ReportMeasure, ReportModel, ReportTauRow, StudyReportData, TauCell } from './types.js';
export { writeReport, type PlotFiles, type ReportFiles, type WriteReportOptions } from './write.js';
export { renderTauTableText, tauTableJson, type TauCellJson, type TauRowJson, type TauTableJson } from './tau-table.js';
export {
  reportCharts, measureScatterSpec, robustAccuracySpec, tauHeatmapSpec, slug, settingKeys, defenseOrder,
  VEGA_LITE_SCHEMA_URL, type ChartDefinition,
} from './charts.js';
export { validateSpec, SpecValidationError } from './validate.js';
export { renderSvg, svgToPng, withHoverTitles, type RenderedChart, type PngOptions } from './render.js';
export { renderHtml, escapeHtml, scopeSvgIds, type HtmlChart } from './html.js';
export { defenseColors } from './palette.js';
export { formatTau, formatInterval, formatPercent, formatValue, expectedTauSign, signDisagrees, directionText } from './format.js';
export { prettyJson, pointerSegment, type PrettyJson } from './json-lines.js';
