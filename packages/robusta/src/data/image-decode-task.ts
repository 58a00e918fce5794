// Worker-side half of ImageFolder: reads and decodes image files to RGB bytes. Runs in worker
// threads, so it imports only pure-JS modules (never @robusta/torch).
import type { WorkerTaskResult } from './dataset.js';
import { readImage, type RgbImage } from './image.js';

export interface DecodeTask {
  paths: string[];
}

export function runTask(task: DecodeTask): WorkerTaskResult {
  const images: RgbImage[] = task.paths.map((p) => readImage(p));
  return { result: images, transfer: images.map((img) => img.data.buffer as ArrayBuffer) };
}
