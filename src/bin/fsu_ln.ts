#!/usr/bin/env node
/** fsu_ln: see src/bin/fsu/ (the tool) and src/bin/fsu/common.ts (the common command line). */
import { main } from './fsu/common.js';

await main('ln');
