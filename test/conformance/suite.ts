/**
 * The POSIX file-semantics conformance suite, written once and run against every file system
 * component (in the spirit of pjdfstest, with ZenFS-style backends): a backend provides a fresh
 * kernel and an empty directory on the file system under test, plus the features its format
 * lacks; every case file below runs against it.
 *
 *   runConformance({ name: 'tmpfs', setup: async () => ({ k, dir: '/mnt/t', teardown }) });
 *
 * Errors are checked by their exact NetBSD errno; where POSIX allows a choice, the case file
 * names the NetBSD source it follows.
 */

import { describe } from 'node:test';
import type { Backend } from './harness.js';
import { openTests } from './open.js';
import { ioTests } from './io.js';
import { truncateTests } from './truncate.js';
import { dirTests } from './dirs.js';
import { unlinkTests } from './unlink.js';
import { renameTests } from './rename.js';
import { linkTests } from './links.js';
import { permTests } from './perms.js';
import { statTests } from './stat.js';
import { timeTests } from './times.js';
import { getdentsTests } from './getdents.js';
import { atTests } from './at.js';
import { cwdTests } from './cwd.js';
import { fdTests } from './fd.js';
import { specialTests } from './special.js';
import { fsinfoTests } from './fsinfo.js';
import { concurrencyTests } from './concurrency.js';

export type { Backend, BackendInstance, Features, FeatureName } from './harness.js';

/** Register the whole suite for one backend (call at module top level of a test file). */
export function runConformance(backend: Backend): void {
  describe(backend.name, () => {
    openTests(backend);
    ioTests(backend);
    truncateTests(backend);
    dirTests(backend);
    unlinkTests(backend);
    renameTests(backend);
    linkTests(backend);
    permTests(backend);
    statTests(backend);
    timeTests(backend);
    getdentsTests(backend);
    atTests(backend);
    cwdTests(backend);
    fdTests(backend);
    specialTests(backend);
    fsinfoTests(backend);
    concurrencyTests(backend);
  });
}
