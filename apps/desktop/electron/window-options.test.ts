import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { infernetCommand, nodeHomeOf } from './infernet-command.js';
import { isAppNavigation, isExternalWebLink, mainWindowOptions } from './window-options.js';

describe('the main window', () => {
  it('runs the page isolated: no Node, sandboxed, only the preload', () => {
    const { webPreferences } = mainWindowOptions('/app/preload.cjs');
    assert.deepEqual(webPreferences, { preload: '/app/preload.cjs', contextIsolation: true, nodeIntegration: false, sandbox: true, webSecurity: true });
  });

  it("navigates only within the daemon's origin", () => {
    const api = 'http://127.0.0.1:8080';
    assert.equal(isAppNavigation('http://127.0.0.1:8080/#/logs', api), true);
    assert.equal(isAppNavigation('http://127.0.0.1:8081/', api), false);
    assert.equal(isAppNavigation('https://example.com/', api), false);
    assert.equal(isAppNavigation('not a url', api), false);
  });

  it('hands only web links to the system browser', () => {
    assert.equal(isExternalWebLink('https://github.com/'), true);
    assert.equal(isExternalWebLink('file:///etc/passwd'), false);
    assert.equal(isExternalWebLink('javascript:alert(1)'), false);
  });
});

describe('the node home and infernet command of the app', () => {
  it('takes --home=, then INFERNET_HOME, then ~/.infernet, as the CLI does', () => {
    assert.equal(nodeHomeOf(['electron', '.', '--home=/srv/node'], { INFERNET_HOME: '/x' }, '/home/u'), '/srv/node');
    assert.equal(nodeHomeOf(['electron', '.'], { INFERNET_HOME: '/x' }, '/home/u'), '/x');
    assert.equal(nodeHomeOf(['electron', '.'], {}, '/home/u'), '/home/u/.infernet');
  });

  it('runs INFERNET_CLI when set, else the checkout bin under Electron-as-Node, else infernet on the PATH', () => {
    assert.deepEqual(infernetCommand({ env: { INFERNET_CLI: '/opt/infernet' }, execPath: '/app/electron' }).command, '/opt/infernet');
    const checkout = infernetCommand({ env: {}, execPath: '/app/electron', checkoutBin: import.meta.filename });
    assert.deepEqual([checkout.command, checkout.args, checkout.env.ELECTRON_RUN_AS_NODE], ['/app/electron', [import.meta.filename], '1']);
    assert.equal(infernetCommand({ env: {}, execPath: '/app/electron', checkoutBin: '/nowhere/infernet.js' }).command, 'infernet');
  });
});
