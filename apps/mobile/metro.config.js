// The app shares the node's protocol schemas (../../src/protocol, pure TypeScript with NodeNext `.js`
// specifiers; their errors extend ../../src/errors): Metro watches those folders, resolves every package from
// the app's own node_modules, and maps a relative `./x.js` to the `./x.ts` it names.
const path = require('node:path');
const { getDefaultConfig } = require('expo/metro-config');

const appRoot = __dirname;
const config = getDefaultConfig(appRoot);
config.watchFolders = [path.resolve(appRoot, '../../src/protocol'), path.resolve(appRoot, '../../src/storage'), path.resolve(appRoot, '../../src/errors')];
config.resolver.nodeModulesPaths = [path.resolve(appRoot, 'node_modules')];
config.resolver.disableHierarchicalLookup = true;
config.resolver.resolveRequest = (context, moduleName, platform) => {
  if (/^\.\.?\/.*\.js$/.test(moduleName)) {
    try {
      return context.resolveRequest(context, moduleName.replace(/\.js$/, ''), platform);
    } catch {
      // a real .js file: fall through
    }
  }
  return context.resolveRequest(context, moduleName, platform);
};
module.exports = config;
