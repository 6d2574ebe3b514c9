// `npx jest` from apps/mobile: component and flow tests of every screen (jest-expo, Testing Library).
module.exports = {
  preset: 'jest-expo',
  testMatch: ['<rootDir>/test/**/*.test.ts?(x)'],
  // NodeNext-style `./x.js` specifiers (shared with the node's TypeScript) name `./x.ts` files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1', '^pocketbase$': '<rootDir>/node_modules/pocketbase/dist/pocketbase.cjs.js' },
  moduleDirectories: ['node_modules', '<rootDir>/node_modules'],
  transformIgnorePatterns: ['node_modules/(?!((jest-)?react-native|@react-native(-community)?|expo(nent)?|@expo(nent)?/.*|expo-.*|@noble/.*|@scure/.*|nostr-tools|pocketbase|zod|react-native-web)/)'],
};
