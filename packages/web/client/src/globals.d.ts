// The globals of the UMD bundles the pages load from node_modules (vega, vega-lite, vega-embed): only
// what the pages use.
interface VegaChangeset {
  insert(rows: object[]): VegaChangeset;
  remove(predicate: (d: unknown) => boolean): VegaChangeset;
}

interface VegaScenegraphItem {
  datum?: Record<string, unknown>;
}

interface VegaView {
  change(name: string, changeset: VegaChangeset): VegaView;
  run(): VegaView;
  runAsync(): Promise<VegaView>;
  data(name: string): object[];
  addEventListener(type: string, handler: (event: Event, item: VegaScenegraphItem | null | undefined) => void): VegaView;
  finalize(): void;
}

interface VegaEmbedResult {
  view: VegaView;
  finalize(): void;
}

declare const vega: { changeset(): VegaChangeset };
declare function vegaEmbed(el: HTMLElement, spec: object, options?: object): Promise<VegaEmbedResult>;
