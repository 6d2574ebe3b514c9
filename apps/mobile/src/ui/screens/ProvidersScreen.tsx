import { useEffect } from 'react';
import { ScrollView, Text, View } from 'react-native';
import type { ProviderSummary } from '../../net/index.js';
import { Button, StatusBadge } from '../components.js';
import { styles } from '../theme.js';

export function ProvidersScreen({ providers, error, onRefresh }: { providers: ProviderSummary[] | null; error: string; onRefresh: () => void }) {
  useEffect(() => {
    if (providers === null) onRefresh();
  }, [providers, onRefresh]);
  return (
    <View style={styles.screen} testID="providers-screen">
      <View style={styles.row}>
        <Text style={styles.title}>Providers</Text>
        <Button testID="providers-refresh" title="Refresh" secondary onPress={onRefresh} />
      </View>
      {error ? <Text style={styles.error}>{error}</Text> : null}
      {providers === null ? <Text style={styles.muted}>Loading…</Text> : null}
      <ScrollView>
        {providers && !providers.length ? (
          <Text style={styles.empty} testID="providers-empty">
            No providers recorded by this node yet.
          </Text>
        ) : null}
        {(providers ?? []).map((item) => (
          <View key={item.pubkey} style={styles.card} testID={`provider-${item.pubkey}`}>
            <View style={styles.row}>
              <Text style={[styles.text, { fontWeight: '600', flex: 1 }]} numberOfLines={1}>
                {item.name || `${item.pubkey.slice(0, 12)}…`}
              </Text>
              <StatusBadge status={item.online ? 'online' : 'offline'} />
            </View>
            <Text style={styles.muted} testID={`provider-reputation-${item.pubkey}`}>
              Reputation {item.reputation.toFixed(2)} · {item.models.join(', ') || 'no models listed'}
            </Text>
            {item.recentEvents.map((event) => (
              <Text key={event.id} style={styles.muted}>
                {event.delta >= 0 ? '+' : ''}
                {event.delta} {event.kind}
                {event.reason ? `: ${event.reason}` : ''}
              </Text>
            ))}
          </View>
        ))}
      </ScrollView>
    </View>
  );
}
