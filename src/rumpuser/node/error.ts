/**
 * Node errors -> HostError. Node's fs errors carry the errno name in `code` (ENOENT, EACCES,
 * EISDIR, ...); that name is passed through. Node's own argument errors (ERR_OUT_OF_RANGE,
 * ERR_INVALID_ARG_TYPE, ...) become EINVAL, ERR_FS_FILE_TOO_LARGE becomes EFBIG, and anything
 * else unexpected becomes EIO, so a host call only ever throws HostError.
 */

import { HostError } from '../rumpuser.js';

const ERRNO_NAME = /^E[A-Z0-9]+$/;

export function toHostError(err: unknown, context?: string): HostError {
  if (err instanceof HostError) return err;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  let message = err instanceof Error ? err.message : String(err);
  let name: string;
  if (typeof code === 'string' && ERRNO_NAME.test(code)) {
    name = code;
    // Node's messages start with "ENOENT: "; HostError adds the code itself.
    if (message.startsWith(`${code}: `)) message = message.slice(code.length + 2);
  } else if (code === 'ERR_FS_FILE_TOO_LARGE') {
    name = 'EFBIG';
  } else if ((typeof code === 'string' && code.startsWith('ERR_')) || err instanceof RangeError || err instanceof TypeError) {
    name = 'EINVAL';
  } else {
    name = 'EIO';
  }
  if (context !== undefined && !message.includes(context)) message = `${message} (${context})`;
  return new HostError(name, message);
}

/** Run `op`, turning whatever it throws into a HostError. */
export async function hostCall<T>(op: () => Promise<T>, context?: string): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toHostError(err, context);
  }
}
