// The app's root: one store for the app's life, started with the key and node saved on this device; a pairing
// link the app was opened with (a scanned QR code, or ?link= on the web build) pairs it.
import { useEffect, useMemo } from 'react';
import { Linking, Platform } from 'react-native';
import { SafeAreaProvider } from 'react-native-safe-area-context';
import { pairingLinkOfUrl } from './pairing-url.js';
import { PhoneApp } from './PhoneApp.js';
import { PhoneStore } from './phone-store.js';
import { expoNotifier, secureStorage } from './platform.js';

export default function App() {
  const store = useMemo(() => new PhoneStore(secureStorage, expoNotifier), []);
  useEffect(() => {
    const opened = async (url: string | null) => {
      const link = pairingLinkOfUrl(url);
      if (link) await store.pair(link).catch(() => undefined);
    };
    const subscription = Linking.addEventListener('url', ({ url }) => void opened(url));
    void store.start().then(async () => opened(Platform.OS === 'web' ? globalThis.location?.href ?? null : await Linking.getInitialURL()));
    return () => {
      subscription.remove();
      store.stop();
    };
  }, [store]);
  return (
    <SafeAreaProvider>
      <PhoneApp store={store} />
    </SafeAreaProvider>
  );
}
