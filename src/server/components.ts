/**
 * The components a server (rump_server -l) boots with, resolved against the build's one list
 * (src/components.ts); the vfs is always included (rump_server needs it for -d and the file tools).
 */

import type { Component } from '../kern/component.js';
import { AVAILABLE_COMPONENTS, componentsByName } from '../components.js';

export { AVAILABLE_COMPONENTS };

/** The components for `-l` names (comma lists allowed); ENOENT names an unknown component. */
export function serverComponents(names: readonly string[]): Component[] {
  return componentsByName(['vfs', ...names]);
}
