// A rump kernel in-process: boot, mount a tmpfs, write and read a file, meet a permission
// check, halt. Run it from the repository after a build:  npm run build && node examples/hello.mjs
// (Within this repository 'rumpkernel' resolves to the package itself, through its exports map.)

import { Kernel, vfs, tmpfs, O_CREAT, O_RDWR, O_RDONLY } from 'rumpkernel';
import { memoryHost } from 'rumpkernel/rumpuser/memory';

const k = await Kernel.boot({ host: memoryHost(), components: [vfs, tmpfs] });
const l = k.initLwp; // the calling lwp of process 1, root
try {
  await k.sys.mkdir(l, '/tmp', 0o755);
  await k.sys.mount(l, 'tmpfs', '/tmp', 0, { size: '16m' });

  const fd = await k.sys.open(l, '/tmp/hello', O_CREAT | O_RDWR, 0o600);
  await k.sys.write(l, fd, new TextEncoder().encode('hello, rump kernel\n'));
  await k.sys.close(l, fd);

  const st = await k.sys.stat(l, '/tmp/hello');
  const buf = new Uint8Array(st.size);
  const rfd = await k.sys.open(l, '/tmp/hello', O_RDONLY, 0);
  await k.sys.read(l, rfd, buf);
  await k.sys.close(l, rfd);
  console.log(`read ${st.size} bytes: ${new TextDecoder().decode(buf).trim()}`);

  // A second process with its own credentials: the file is 0600 and owned by root.
  const user = k.newProc({ uid: 1000, gid: 1000 });
  try {
    await k.sys.open(user, '/tmp/hello', O_RDONLY, 0);
    console.log('uid 1000 opened the file?!');
    process.exitCode = 1;
  } catch (e) {
    console.log(`uid 1000: ${e.code} (${e.message})`);
  }
} finally {
  await k.halt();
}
