import { useCallback, useState, useSyncExternalStore } from 'react';
import { Platform, Pressable, Text, View } from 'react-native';
import { SafeAreaView } from 'react-native-safe-area-context';
import { NotificationBanner } from './components.js';
import type { PhoneStore } from './phone-store.js';
import { QrScanner } from './QrScanner.js';
import { JobDetailScreen } from './screens/JobDetailScreen.js';
import { JobsScreen } from './screens/JobsScreen.js';
import { ProvidersScreen } from './screens/ProvidersScreen.js';
import { SettingsScreen, type SettingsActions } from './screens/SettingsScreen.js';
import { SubmitScreen } from './screens/SubmitScreen.js';
import { colors } from './theme.js';

export type Tab = 'jobs' | 'submit' | 'providers' | 'settings';
const TABS: { tab: Tab; title: string }[] = [
  { tab: 'jobs', title: 'Jobs' },
  { tab: 'submit', title: 'Submit' },
  { tab: 'providers', title: 'Providers' },
  { tab: 'settings', title: 'Settings' },
];

export function PhoneApp({ store, initialTab }: { store: PhoneStore; initialTab?: Tab }) {
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const [tab, setTab] = useState<Tab>(initialTab ?? (state.link ? 'jobs' : 'settings'));
  const [openJob, setOpenJob] = useState<string | null>(null);
  const [scanning, setScanning] = useState(false);
  const [scanError, setScanError] = useState('');
  const detail = openJob ? state.jobs.find((job) => job.jobId === openJob) : undefined;
  const refreshProviders = useCallback(() => void store.refreshProviders(), [store]);
  const loadSnapshot = useCallback((jobId: string) => store.logSnapshot(jobId), [store]);
  const actions: SettingsActions = {
    pair: (text) => store.pair(text).then(() => setTab('jobs')),
    reconnect: () => void store.connect(),
    forgetNode: () => store.forgetNode(),
    replaceKey: (nsec) => store.replaceKey(nsec),
    // The web build has no scanner: its users paste the link, or open it (?link=).
    ...(Platform.OS === 'web' ? {} : { scan: () => setScanning(true) }),
  };
  const scannedLink = (text: string) => {
    setScanning(false);
    store.pair(text).then(
      () => {
        setScanError('');
        setTab('jobs');
      },
      (error: Error) => setScanError(`the scanned code: ${error.message}`),
    );
  };
  const open = (jobId: string) => {
    setOpenJob(jobId);
    setTab('jobs');
  };

  let screen;
  if (scanning) screen = <QrScanner onScanned={scannedLink} onClose={() => setScanning(false)} />;
  else if (detail) screen = <JobDetailScreen job={detail} loadSnapshot={loadSnapshot} onCancel={(jobId) => store.cancel(jobId)} onBack={() => setOpenJob(null)} />;
  else if (tab === 'jobs') screen = <JobsScreen jobs={state.jobs} connection={state.connection} historyError={state.historyError} onOpen={open} />;
  else if (tab === 'submit') screen = <SubmitScreen link={state.link} connected={state.connection === 'connected'} onSubmit={(request) => open(store.submit(request))} />;
  else if (tab === 'providers') screen = <ProvidersScreen providers={state.providers} error={state.providersError} onRefresh={refreshProviders} />;
  else screen = <SettingsScreen state={state} actions={actions} scanError={scanError} />;

  const latest = state.notifications[0];
  return (
    <SafeAreaView style={{ flex: 1, backgroundColor: colors.background }}>
      <NotificationBanner notification={latest} onDismiss={() => latest && store.dismissNotification(latest.jobId)} onOpen={() => latest && open(latest.jobId)} />
      <View style={{ flex: 1 }}>{screen}</View>
      <View style={{ flexDirection: 'row', borderTopColor: colors.card, borderTopWidth: 1 }}>
        {TABS.map(({ tab: name, title }) => (
          <Pressable
            key={name}
            testID={`tab-${name}`}
            accessibilityRole="tab"
            accessibilityState={{ selected: tab === name && !detail }}
            onPress={() => {
              setOpenJob(null);
              setTab(name);
            }}
            style={{ flex: 1, paddingVertical: 14, alignItems: 'center' }}
          >
            <Text style={{ color: tab === name && !detail ? colors.accent : colors.muted, fontWeight: '600' }}>{title}</Text>
          </Pressable>
        ))}
      </View>
    </SafeAreaView>
  );
}
