// torch.save files: the zip format (PyTorch ≥ 1.6: <archive>/data.pkl + <archive>/data/<key> records)
// and the legacy format (magic-number pickle, protocol version, sys_info, main pickle, storage keys,
// then each storage as an 8-byte element count and its bytes). Storages saved from CUDA load to the CPU.
import { Tensor } from '@robusta/torch';
import { checkInput, concatBytes, withSource, type ByteSource } from './byte-source.js';
import { CheckpointError, withCheckpointErrors } from './errors.js';
import { ELEMENT_SIZE, tensorBytes } from './dtypes.js';
import { detectFormat } from './format.js';
import { Materialiser, collectTensors, replaceInGraph, type StorageReader } from './materialise.js';
import { unpickle } from './pickle.js';
import { TorchPickler } from './pickle-writer.js';
import { readSafetensorsFrom } from './safetensors.js';
import { findStateDict, type FindStateDictOptions } from './state-dict.js';
import { StorageRef, TensorRef, storageClassDtype, torchGlobals, type UnknownGlobals } from './torch-pickle.js';
import { ZipReader, ZipWriter } from './zip.js';
import { writeFileAtomic } from './atomic-write.js';

export interface LoadOptions {
  /**
   * What to do with Python classes outside the allow-list: 'reject' (default) throws a CheckpointError
   * naming the class; 'placeholder' records them as inert PickledObject values (nothing is ever executed).
   */
  unknownGlobals?: UnknownGlobals;
  /** Verify zip CRC-32 checksums (default true). */
  verifyChecksums?: boolean;
}

export interface LoadStateDictOptions extends LoadOptions, FindStateDictOptions {}

export interface SaveOptions {
  /** The top-level folder inside the zip (default 'archive', as torch.save ≥ 2.0 writes). */
  archiveName?: string;
  /** @internal ZIP64 threshold, lowered by tests. */
  zip64Threshold?: number;
}

/** An unpickled checkpoint: values with TensorRef/StorageRef where tensors go, and a way to read storages. */
interface ParsedCheckpoint {
  root: unknown;
  readStorage: StorageReader;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

function fail(message: string, code: 'corrupt' | 'unsupported' | 'bad-magic' | 'truncated' = 'corrupt'): CheckpointError {
  return new CheckpointError(message, { code });
}

function asText(v: unknown): unknown {
  return v instanceof Uint8Array ? new TextDecoder('latin1').decode(v) : v; // Python 2 pickles may give bytes
}
function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** persistent_load for both formats: ('storage', StorageClass, key, location, numel[, view_metadata]). */
function storageResolver(format: 'zip' | 'legacy'): { load: (pid: unknown) => StorageRef; refs: Map<string, StorageRef> } {
  const refs = new Map<string, StorageRef>();
  const load = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || pid.length < 1) throw fail('a persistent id that is not a tuple');
    const kind = asText(pid[0]);
    if (kind === 'module') throw fail('the checkpoint pickles module source code (a whole nn.Module saved by PyTorch < 1.0); save its state_dict instead', 'unsupported');
    if (kind !== 'storage') throw fail(`unknown persistent id type '${String(kind)}'`);
    const expected = format === 'zip' ? 5 : 6;
    if (pid.length !== expected) throw fail(`a storage persistent id of ${pid.length} fields (expected ${expected})`);
    const dtype = storageClassDtype(pid[1]);
    const key = asText(pid[2]);
    const location = asText(pid[3]);
    const numel = pid[4];
    if (dtype === undefined) throw fail('a storage persistent id without a storage class');
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) throw fail('a storage persistent id with a bad key');
    if (typeof location !== 'string') throw fail(`storage '${key}' has no location`);
    if (!isCount(numel)) throw fail(`storage '${key}' has an invalid element count`);
    let ref = refs.get(key);
    if (ref === undefined) {
      ref = new StorageRef(key, dtype, numel, location);
      refs.set(key, ref);
    } else if (ref.dtype !== dtype || ref.numel !== numel) {
      throw fail(`storage '${key}' is named twice with different types or sizes`);
    }
    const view = format === 'legacy' ? pid[5] : null;
    if (view === null || view === undefined) return ref;
    // Legacy storage views: (view_key, offset, size) in elements of the root storage.
    if (!Array.isArray(view) || view.length !== 3 || typeof asText(view[0]) !== 'string' || !isCount(view[1]) || !isCount(view[2])) {
      throw fail(`storage '${key}' has malformed view metadata`);
    }
    const viewKey = `view:${String(asText(view[0]))}`;
    let v = refs.get(viewKey);
    if (v === undefined) {
      v = new StorageRef(viewKey, dtype, view[2], location, { root: ref, offset: view[1] });
      refs.set(viewKey, v);
    }
    return v;
  };
  return { load, refs };
}

function parseZip(src: ByteSource, options: LoadOptions): ParsedCheckpoint {
  const zip = new ZipReader(src, { verifyChecksums: options.verifyChecksums });
  let prefix: string | undefined;
  for (const name of zip.entries.keys()) {
    const m = /^([^/]+)\/data\.pkl$/.exec(name);
    if (m) {
      prefix = m[1]!;
      break;
    }
  }
  if (prefix === undefined) {
    throw fail('a zip archive without <archive>/data.pkl: not a torch.save file', 'bad-magic');
  }
  if (zip.has(`${prefix}/constants.pkl`) || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}/code/`))) {
    throw fail('this is a TorchScript archive (torch.jit.save); robusta reads torch.save files — save the state_dict instead', 'unsupported');
  }
  const { load } = storageResolver('zip');
  const { value } = unpickle(zip.read(`${prefix}/data.pkl`), {
    findGlobal: torchGlobals(options.unknownGlobals ?? 'reject'),
    persistentLoad: load,
    what: 'data.pkl',
  });
  return {
    root: value,
    readStorage: (ref) => {
      const name = `${prefix}/data/${ref.key}`;
      if (!zip.has(name)) throw fail(`the archive has no record '${name}' for storage '${ref.key}'`);
      return zip.read(name);
    },
  };
}

function parseLegacy(src: ByteSource, options: LoadOptions): ParsedCheckpoint {
  const bytes = src.read(0, src.size, 'legacy checkpoint');
  const refuse = (module: string, name: string): never => {
    throw fail(`the legacy header names the Python global '${module}.${name}'`);
  };
  const magic = unpickle(bytes, { findGlobal: refuse, what: 'magic number' });
  if (magic.value !== LEGACY_MAGIC) {
    throw fail('a pickle, but not a PyTorch checkpoint: the magic number is wrong (corrupt file?)', 'bad-magic');
  }
  const protocol = unpickle(bytes, { findGlobal: refuse, what: 'protocol version' }, magic.end);
  if (protocol.value !== LEGACY_PROTOCOL) throw fail(`legacy checkpoint protocol ${String(protocol.value)} (only ${LEGACY_PROTOCOL} is known)`, 'unsupported');
  const sysInfo = unpickle(bytes, { findGlobal: refuse, what: 'sys_info' }, protocol.end);
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) {
    throw fail('the checkpoint was saved on a big-endian machine', 'unsupported');
  }
  const { load, refs } = storageResolver('legacy');
  const main = unpickle(bytes, {
    findGlobal: torchGlobals(options.unknownGlobals ?? 'reject'),
    persistentLoad: load,
    what: 'main pickle',
  }, sysInfo.end);
  const keys = unpickle(bytes, { findGlobal: refuse, what: 'storage key list' }, main.end);
  if (!Array.isArray(keys.value)) throw fail('the storage key list is not a list');
  // Storages follow in key-list order, each as an int64 element count then the elements.
  const data = new Map<string, Uint8Array>();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const k of keys.value) {
    const key = asText(k);
    const ref = typeof key === 'string' ? refs.get(key) : undefined;
    if (ref === undefined) throw fail(`the storage list names '${String(key)}', which the pickle never used`);
    if (pos + 8 > bytes.length) throw fail(`storage '${ref.key}' is missing: the file ends at ${bytes.length}`, 'truncated');
    const count = dv.getBigInt64(pos, true);
    if (count !== BigInt(ref.numel)) throw fail(`storage '${ref.key}' holds ${count} elements, the pickle says ${ref.numel}`);
    const nbytes = ref.numel * ELEMENT_SIZE[ref.dtype];
    if (pos + 8 + nbytes > bytes.length) throw fail(`storage '${ref.key}' is truncated (needs ${nbytes} bytes at ${pos + 8}, file has ${bytes.length})`, 'truncated');
    data.set(ref.key, bytes.subarray(pos + 8, pos + 8 + nbytes));
    pos += 8 + nbytes;
  }
  return {
    root: main.value,
    readStorage: (ref) => {
      const d = data.get(ref.key);
      if (d === undefined) throw fail(`storage '${ref.key}' is used but not stored in the file`);
      return d;
    },
  };
}

function parse(src: ByteSource, options: LoadOptions): ParsedCheckpoint {
  const format = detectFormat(src);
  if (format === 'safetensors') {
    throw fail('this is a safetensors file: read it with loadSafetensors (or loadStateDict, which reads both)', 'unsupported');
  }
  return format === 'zip' ? parseZip(src, options) : parseLegacy(src, options);
}

const isTensor = (v: unknown): v is Tensor => v instanceof Tensor;
const isTensorRef = (v: unknown): v is TensorRef => v instanceof TensorRef;

function label(input: string | Uint8Array): string | undefined {
  return typeof input === 'string' ? input : undefined;
}

/**
 * Reads a torch.save file (zip or legacy format) without executing any of it. Dicts come back as Maps
 * (insertion order kept), lists and tuples as arrays, tensors as CPU Tensors (views of a shared storage
 * where PyTorch shared one); the caller owns the tensors (dispose them, or load inside tidy()).
 */
export function loadTorchFile(input: string | Uint8Array, options: LoadOptions = {}): unknown {
  checkInput(input);
  return withCheckpointErrors(label(input), 'cannot load', () => withSource(input, (src) => {
    const parsed = parse(src, options);
    const m = new Materialiser(parsed.readStorage);
    try {
      const result = replaceInGraph(parsed.root, (v) => {
        if (v instanceof TensorRef) return m.tensor(v);
        if (v instanceof StorageRef) return m.storage(v); // a bare storage: a 1-D tensor
        return undefined;
      });
      m.releaseStorages(collectTensors(result, isTensor));
      return result;
    } catch (err) {
      m.disposeAll();
      throw err;
    }
  }));
}

/**
 * The model weights in a checkpoint as a Map from parameter name to tensor: from a torch.save file
 * (bare state_dict, nested under 'state_dict'/'model'/... or `options.key`, or a whole pickled module
 * with unknownGlobals: 'placeholder') or a safetensors file. Non-tensor entries are dropped and
 * 'module.' prefixes stripped; only the selected tensors are read into memory.
 */
export function loadStateDict(input: string | Uint8Array, options: LoadStateDictOptions = {}): Map<string, Tensor> {
  checkInput(input);
  return withCheckpointErrors(label(input), 'cannot load a state dict from', () => withSource(input, (src) => {
    if (detectFormat(src) === 'safetensors') {
      const { tensors } = readSafetensorsFrom(src);
      const picked = findStateDict(tensors, isTensor, options);
      const keep = new Set(picked.map(([, t]) => t));
      for (const t of tensors.values()) if (!keep.has(t)) t.dispose();
      return new Map(picked);
    }
    const parsed = parse(src, options);
    const entries = findStateDict(parsed.root, isTensorRef, options);
    const m = new Materialiser(parsed.readStorage);
    try {
      const out = new Map<string, Tensor>();
      for (const [k, ref] of entries) out.set(k, m.tensor(ref, false));
      m.releaseStorages(new Set());
      return out;
    } catch (err) {
      m.disposeAll();
      throw err;
    }
  }));
}

/** Writes a torch.save zip archive into a sink; returns nothing, the sink has it all. */
function writeTorchArchive(value: unknown, sink: (chunk: Uint8Array) => void, options: SaveOptions): void {
  const archive = options.archiveName ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(archive)) throw new TypeError(`archiveName '${archive}' must be a plain folder name`);
  const pickler = new TorchPickler();
  const pkl = pickler.dump(value);
  const zip = new ZipWriter(sink, { alignment: 64, zip64Threshold: options.zip64Threshold });
  zip.add(`${archive}/data.pkl`, pkl);
  zip.add(`${archive}/byteorder`, new TextEncoder().encode('little'));
  for (const s of pickler.storages) zip.add(`${archive}/data/${s.key}`, tensorBytes(s.tensor));
  zip.add(`${archive}/version`, new TextEncoder().encode('3\n'));
  zip.finish();
}

/** The bytes of a torch.save zip archive holding `value` (see saveTorchFile for what values may hold). */
export function encodeTorchFile(value: unknown, options: SaveOptions = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  writeTorchArchive(value, (c) => chunks.push(c), options);
  return concatBytes(chunks);
}

/**
 * Saves `value` in torch.save's zip format, which torch.load reads: tensors (any device, saved as CPU
 * contiguous copies), numbers (integers become Python int), strings, booleans, null, arrays (list),
 * Maps (OrderedDict: a state_dict Map loads as an OrderedDict of tensors) and plain objects (dict).
 * The write is atomic: a temporary file is fsynced and renamed over `path`.
 */
export function saveTorchFile(path: string, value: unknown, options: SaveOptions = {}): void {
  writeFileAtomic(path, (write) => writeTorchArchive(value, write, options));
}
