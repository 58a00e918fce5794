// Recognising a checkpoint file by its first bytes.
import type { ByteSource } from './byte-source.js';
import { CheckpointError } from './errors.js';

/** 'zip': torch.save ≥ 1.6; 'legacy': torch.save(_use_new_zipfile_serialization=False) or PyTorch < 1.6; 'safetensors'. */
export type CheckpointFormat = 'zip' | 'legacy' | 'safetensors';

export function detectFormat(src: ByteSource): CheckpointFormat {
  const head = src.read(0, Math.min(src.size, 16), 'file header');
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) return 'zip';
  if (head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return 'legacy';
  if (head.length >= 9) {
    const n = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
    if (n >= 2n && n <= BigInt(src.size - 8) && head[8] === 0x7b) return 'safetensors';
  }
  if (src.size >= 262) {
    const magic = new TextDecoder('latin1').decode(src.read(257, 5, 'tar header'));
    if (magic === 'ustar') {
      throw new CheckpointError('this is the tar-based format of PyTorch < 0.4, which robusta does not read; re-save it with a recent PyTorch', { code: 'unsupported' });
    }
  }
  const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new CheckpointError(`not a PyTorch checkpoint or safetensors file (it starts with ${hex || 'nothing'})`, { code: 'bad-magic' });
}
