import { Pressable, ScrollView, Text, View } from 'react-native';
import type { ConnectionState, PhoneJob } from '../phone-store.js';
import { StatusBadge } from '../components.js';
import { styles } from '../theme.js';

export function JobsScreen({ jobs, connection, historyError, onOpen }: { jobs: PhoneJob[]; connection: ConnectionState; historyError: string; onOpen: (jobId: string) => void }) {
  return (
    <View style={styles.screen} testID="jobs-screen">
      <Text style={styles.title}>Jobs</Text>
      {historyError ? <Text style={styles.error}>History unavailable: {historyError}</Text> : null}
      {/* At most a page of history and the live jobs: a plain ScrollView is enough and renders synchronously. */}
      <ScrollView>
        {jobs.length ? null : <Text style={styles.empty}>{connection === 'unpaired' ? 'Pair a node in Settings to submit jobs.' : 'No jobs yet: submit one.'}</Text>}
        {jobs.map((item) => (
          <Pressable key={item.jobId} testID={`job-${item.jobId}`} onPress={() => onOpen(item.jobId)} style={styles.card}>
            <View style={styles.row}>
              <Text style={[styles.text, { fontWeight: '600' }]}>{item.model}</Text>
              <StatusBadge status={item.status} testID={`job-status-${item.jobId}`} />
            </View>
            {item.prompt ? (
              <Text style={styles.muted} numberOfLines={1}>
                {item.prompt}
              </Text>
            ) : null}
            {item.output ? (
              <Text testID={`job-output-${item.jobId}`} style={[styles.text, { marginTop: 6 }]} numberOfLines={item.live ? 6 : 2}>
                {item.output}
                {item.live ? '▍' : ''}
              </Text>
            ) : null}
            {item.error ? <Text style={styles.error}>{item.error}</Text> : null}
          </Pressable>
        ))}
      </ScrollView>
    </View>
  );
}
