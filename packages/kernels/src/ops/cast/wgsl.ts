/**
 * WebGPU launcher of the cast op (cast.wgsl.ts): returns the dispatch of one call. The engine's
 * `castToAct(src, dst, n)` on WebGPU: dst (act) = src (float32) rounded to act, the CUDA
 * launcher's cudaCastToBf16 for f16 storage.
 */
import type { BindingKind, WgslProgram } from '../../wgsl/program.js';
import type { Step } from '../../wgsl/runner.js';
import { Binder, checkInt, opBindings, type WgslAct, type WgslView } from '../wgsl-view.js';
import {
  CAST_BUFFERS,
  CAST_FIELDS,
  CAST_ONE_BUFFERS,
  CAST_ONE_FIELDS,
  CAST_PER_THREAD,
  CAST_WORKGROUP,
  castOneBufferWGSL,
  castWGSL,
} from './cast.wgsl.js';

/** dst (act_t) [n] = src (float32) [n], rounded to nearest even for f16. */
export class CastProgram implements WgslProgram {
  readonly key: string;
  readonly workgroupSize = CAST_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(CAST_BUFFERS);
  readonly paramFields = CAST_FIELDS;
  constructor(readonly act: WgslAct = 'f32') {
    this.key = `cast/${act}`;
  }
  code(): string {
    return castWGSL(this.act);
  }
}

/** f16 dst = src (float32) over disjoint ranges of one buffer, bound once as read_write words. */
export class CastOneBufferProgram implements WgslProgram {
  readonly key = 'cast/f16/one-buffer';
  readonly workgroupSize = CAST_WORKGROUP;
  readonly bindings: readonly BindingKind[] = opBindings(CAST_ONE_BUFFERS);
  readonly paramFields = CAST_ONE_FIELDS;
  code(): string {
    return castOneBufferWGSL();
  }
}

/** Arguments of {@link wgslCastToAct}. */
export interface WgslCastToActArgs {
  /** float32 [n]. */
  src: WgslView;
  /**
   * [n] out, of `act` (elements of act: 2 bytes for f16); must not overlap src. With f16 it may lie
   * in src's buffer (no 4-byte word shared with src's range).
   */
  dst: WgslView;
  n: number;
  /** Storage of dst: 'f32' (default: a copy) or 'f16' (needs 'shader-f16'; round to nearest even, as packF16). */
  act?: WgslAct;
}

/** dst = act(src) over n elements: the cast's dispatch (none for n = 0). */
export function wgslCastToAct(device: GPUDevice, a: WgslCastToActArgs): Step[] {
  const op = 'wgslCastToAct';
  checkInt(op, 'n', a.n, 0, 2 ** 32 - 4);
  const act = a.act ?? 'f32';
  if (act !== 'f32' && act !== 'f16') {
    throw new RangeError(`${op}: act must be 'f32' or 'f16', got ${JSON.stringify(act)}`);
  }
  if (act === 'f16' && a.src.buffer === a.dst.buffer) return castOneBuffer(device, a);
  const b = new Binder(device, op, CAST_BUFFERS, act).view('src', a.src, a.n).view('dst', a.dst, a.n);
  if (a.n === 0) return [];
  return [
    {
      program: new CastProgram(act),
      params: b.with({ n: a.n }),
      buffers: b.buffers,
      units: Math.ceil(a.n / CAST_PER_THREAD / CAST_WORKGROUP),
    },
  ];
}

/** The f16 cast within one buffer: the words from src's first to dst's last bound once, read_write. */
function castOneBuffer(device: GPUDevice, a: WgslCastToActArgs): Step[] {
  const op = 'wgslCastToAct';
  const [s, d] = [a.src.offset ?? 0, a.dst.offset ?? 0]; // src in f32 words, dst in f16 halves
  const [dFirst, dEnd] = [Math.floor(d / 2), Math.ceil((d + a.n) / 2)]; // dst's words
  if (a.n > 0 && s < dEnd && dFirst < s + a.n) {
    throw new RangeError(
      `${op}: src words [${s}, ${s + a.n}) and f16 dst [${d}, ${d + a.n}) share a word of their buffer`,
    );
  }
  if (a.n === 0) return [];
  const lo = Math.min(s, dFirst);
  const b = new Binder(device, op, CAST_ONE_BUFFERS).view(
    'buf',
    { buffer: a.src.buffer, offset: lo },
    Math.max(s + a.n, dEnd) - lo,
  );
  // src_o (words) and dst_o (halves) count from word `lo`, which the kernel reads at buf_o
  return [
    {
      program: new CastOneBufferProgram(),
      params: b.with({ n: a.n, src_o: s - lo, dst_o: d - 2 * lo }),
      buffers: b.buffers,
      units: Math.ceil((dEnd - dFirst) / CAST_WORKGROUP),
    },
  ];
}
