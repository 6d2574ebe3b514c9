// nostr-tools draws keys and nonces from crypto.getRandomValues, which React Native lacks: expo-crypto's.
import { getRandomValues } from 'expo-crypto';
import { registerRootComponent } from 'expo';

if (!globalThis.crypto?.getRandomValues) globalThis.crypto = { ...(globalThis.crypto ?? {}), getRandomValues };

const App = require('./src/ui/App.tsx').default;
registerRootComponent(App);
