// The first render of the app loads every React Native module its screens use, and on a cold Jest cache (a fresh
// clone) transforms each one first: about 3 s on an idle machine, past Jest's 5 s test timeout on a loaded one.
// Each file renders the app once in beforeAll, under this set-up timeout, so that no test pays for it.
import { render } from '@testing-library/react-native';
import { PhoneApp } from '../src/ui/PhoneApp';
import { startedStore } from './scripted-node';

export const LOAD_APP_MODULES_TIMEOUT_MS = 120_000;

export async function loadAppModules(): Promise<void> {
  const { store } = await startedStore();
  render(<PhoneApp store={store} />).unmount();
  store.stop();
}
