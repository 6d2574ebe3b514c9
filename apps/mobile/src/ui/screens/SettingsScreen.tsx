import { useState } from 'react';
import { ScrollView, Text, TextInput, View } from 'react-native';
import { nsecOf } from '../../net/index.js';
import type { PhoneState } from '../phone-store.js';
import { Button } from '../components.js';
import { colors, styles } from '../theme.js';

export interface SettingsActions {
  pair: (text: string) => Promise<void>;
  reconnect: () => void;
  forgetNode: () => Promise<void>;
  replaceKey: (nsec?: string) => Promise<void>;
  /** Opens the camera to scan the node's QR code, where the platform has one. */
  scan?: () => void;
}

export function SettingsScreen({ state, actions, scanError }: { state: PhoneState; actions: SettingsActions; scanError?: string }) {
  const [linkText, setLinkText] = useState('');
  const [nsecText, setNsecText] = useState('');
  const [showSecret, setShowSecret] = useState(false);
  const [error, setError] = useState('');
  const run = (action: () => Promise<void>) => action().then(() => setError(''), (failure: Error) => setError(failure.message));
  const { link, key, connection } = state;
  const connectionColor = connection === 'connected' ? colors.ok : connection === 'connecting' ? colors.warn : colors.error;

  return (
    <ScrollView style={styles.screen} testID="settings-screen" keyboardShouldPersistTaps="handled">
      <Text style={styles.title}>Settings</Text>
      <Text style={styles.label}>Node</Text>
      <View style={styles.card}>
        {link ? (
          <>
            <Text style={styles.mono} testID="settings-node-npub" selectable>
              {link.node}
            </Text>
            <Text style={styles.muted} testID="settings-node-ws">
              {link.ws}
              {link.ws.startsWith('ws://') ? ' (not encrypted by TLS: use wss:// beyond your own network)' : ''}
            </Text>
            <Text testID="settings-connection" style={{ color: connectionColor, marginTop: 6 }}>
              {connection}
              {state.connectionError ? `: ${state.connectionError}` : ''}
            </Text>
            {state.pushStatus ? <Text style={styles.muted} testID="settings-push">{state.pushStatus}</Text> : null}
            {connection === 'disconnected' ? <Button testID="settings-reconnect" title="Reconnect" secondary onPress={actions.reconnect} /> : null}
            <Button testID="settings-forget" title="Forget this node" secondary onPress={() => void run(actions.forgetNode)} />
          </>
        ) : (
          <Text style={styles.muted}>No node paired. On the node, run `infernet pair --phone {key?.npub ?? 'NPUB'}` and scan or paste its link.</Text>
        )}
      </View>
      <Text style={styles.label}>Pairing link (infernet://pair?… or wss://host:port#npub1…)</Text>
      <TextInput testID="settings-link-input" style={styles.input} value={linkText} onChangeText={setLinkText} autoCapitalize="none" autoCorrect={false} placeholder="infernet://pair?node=npub1…" placeholderTextColor="#666" />
      <Button testID="settings-pair" title="Connect" onPress={() => void run(() => actions.pair(linkText).then(() => setLinkText('')))} />
      {actions.scan ? <Button testID="settings-scan" title="Scan QR code" secondary onPress={actions.scan} /> : null}
      {error || scanError ? (
        <Text testID="settings-error" style={styles.error}>
          {error || scanError}
        </Text>
      ) : null}

      <Text style={[styles.label, { marginTop: 16 }]}>This phone's key (give the npub to `infernet pair --phone`)</Text>
      <View style={styles.card}>
        <Text testID="phone-npub" style={styles.mono} selectable>
          {key?.npub ?? '…'}
        </Text>
        {showSecret && key ? (
          <Text testID="phone-nsec" style={[styles.mono, { color: colors.warn, marginTop: 6 }]} selectable>
            {nsecOf(key)}
          </Text>
        ) : null}
        <Button testID="settings-show-secret" title={showSecret ? 'Hide secret key' : 'Show secret key (back it up)'} secondary onPress={() => setShowSecret(!showSecret)} />
      </View>
      <TextInput testID="settings-nsec-input" style={styles.input} value={nsecText} onChangeText={setNsecText} autoCapitalize="none" autoCorrect={false} secureTextEntry placeholder="nsec1… to import a key" placeholderTextColor="#666" />
      <Button testID="settings-import-key" title="Import key" secondary onPress={() => void run(() => actions.replaceKey(nsecText).then(() => setNsecText('')))} />
      <Button testID="settings-new-key" title="New key (unpairs this phone)" secondary onPress={() => void run(() => actions.replaceKey())} />
    </ScrollView>
  );
}
