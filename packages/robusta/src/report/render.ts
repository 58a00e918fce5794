// Spec → picture on the server: Vega-Lite compiles the (schema-checked) spec to Vega, a headless
// vega View (renderer 'none') writes SVG, and resvg rasterises the SVG to PNG with the system fonts.
// The static SVG cannot run vega's tooltip handler, so each data mark's description (its aria-label,
// which the specs set to the hover text) is also given as the mark's SVG <title>, which browsers show
// on hover; the picture itself is vega's.
import { Resvg } from '@resvg/resvg-js';
import { type LoggerInterface, parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { validateSpec } from './validate.js';

export interface RenderedChart {
  svg: string;
  /** Vega-Lite's compile warnings (a dropped encoding, an unsupported combination, ...). */
  warnings: string[];
}

/** Schema check, Vega-Lite → Vega, Vega → SVG string. */
export async function renderSvg(spec: TopLevelSpec, name = 'spec'): Promise<RenderedChart> {
  const checked = validateSpec(spec, name);
  const logger = new CollectingLogger();
  const vg = compile(checked, { logger }).spec;
  const warnings = logger.messages;
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return { svg: withHoverTitles(svg), warnings };
  } finally {
    view.finalize();
  }
}

/** Keeps Vega-Lite's warnings and errors instead of printing them. */
class CollectingLogger implements LoggerInterface {
  readonly messages: string[] = [];
  private current = 2; // vega's Warn level
  level(level?: number): number | LoggerInterface {
    if (level === undefined) return this.current;
    this.current = level;
    return this;
  }
  error(...args: unknown[]): this { this.messages.push(args.map(String).join(' ')); return this; }
  warn(...args: unknown[]): this { this.messages.push(args.map(String).join(' ')); return this; }
  info(): this { return this; }
  debug(): this { return this; }
}

/** <path aria-label="T" role="graphics-symbol" .../> → the same path with <title>T</title> inside. */
export function withHoverTitles(svg: string): string {
  return svg.replace(/<path ([^>]*?)\/>/g, (tag: string, attrs: string) => {
    if (!/\brole="graphics-symbol"/.test(attrs)) return tag;
    const label = /\baria-label="([^"]*)"/.exec(attrs);
    // The attribute value is already escaped by vega (&lt; &amp; &quot;), which is valid element text too.
    return label ? `<path ${attrs}><title>${label[1]}</title></path>` : tag;
  });
}

export interface PngOptions {
  /** Pixels per SVG unit. Default 2 (crisp on high-density screens and in papers). */
  scale?: number;
}

/** SVG → PNG bytes, text in the system's fonts (DejaVu Sans where the SVG's families are missing). */
export function svgToPng(svg: string, options: PngOptions = {}): Buffer {
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
