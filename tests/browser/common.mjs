// SPDX-License-Identifier: Apache-2.0
// What the browser tests share: their environment, their checks, and
// Debian's Chromium driven by playwright-core from YIMA_NODE_MODULES.
import { createRequire } from 'node:module';
import path from 'node:path';

export const env = (k) => {
  if (!process.env[k]) throw new Error(k + ' is not set');
  return process.env[k];
};

const require = createRequire(path.join(env('YIMA_NODE_MODULES'), 'x.js'));
export const { chromium } = require('playwright-core');

/* One line per check; the first failure ends the run (exit 1). */
export function check(ok, what, detail) {
  if (!ok) {
    console.log('FAIL ' + what + (detail === undefined ? '' : ': ' + JSON.stringify(detail)));
    process.exit(1);
  }
  console.log('ok   ' + what);
}

/* Equal as JSON: arrays and plain objects compared by value. */
export const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);
