import { useCallback, useEffect, useState } from 'react';
import { ScrollView, Text, View } from 'react-native';
import type { JobLogSnapshot } from '../../net/index.js';
import type { PhoneJob } from '../phone-store.js';
import { Button, StatusBadge } from '../components.js';
import { styles } from '../theme.js';

export function JobDetailScreen({ job, loadSnapshot, onCancel, onBack }: { job: PhoneJob; loadSnapshot: (jobId: string) => Promise<JobLogSnapshot | null>; onCancel: (jobId: string) => void; onBack: () => void }) {
  const [snapshot, setSnapshot] = useState<JobLogSnapshot | null>(null);
  const [error, setError] = useState('');
  const refresh = useCallback(() => {
    loadSnapshot(job.jobId).then(
      (loaded) => {
        setSnapshot(loaded);
        setError(loaded ? '' : 'No history for this pairing: the log snapshot needs the node PocketBase.');
      },
      (failure: Error) => setError(failure.message),
    );
  }, [job.jobId, loadSnapshot]);
  // A new snapshot each time the job changes state, so the log follows the job.
  useEffect(refresh, [refresh, job.status]);

  return (
    <ScrollView style={styles.screen} testID="job-detail-screen">
      <Button testID="detail-back" title="‹ Jobs" secondary onPress={onBack} />
      <View style={styles.row}>
        <Text style={styles.title}>{job.model}</Text>
        <StatusBadge status={job.status} testID="detail-status" />
      </View>
      <Text style={styles.muted} selectable>
        {job.jobId}
        {job.provider ? ` · provider ${job.provider.slice(0, 12)}…` : ''}
        {job.tokens ? ` · ${job.tokens} tokens` : ''}
      </Text>
      {job.prompt ? <Text style={[styles.text, { marginTop: 8, fontStyle: 'italic' }]}>{job.prompt}</Text> : null}
      <View style={[styles.card, { marginTop: 8 }]}>
        <Text testID="detail-output" style={styles.text} selectable>
          {job.output || (job.live ? 'Waiting for the first tokens…' : 'The output stays on the phone that submitted the job.')}
        </Text>
      </View>
      {job.error ? <Text style={styles.error}>{job.error}</Text> : null}
      {job.live ? <Button testID="detail-cancel" title="Cancel job" secondary onPress={() => onCancel(job.jobId)} /> : null}
      <View style={styles.row}>
        <Text style={[styles.title, { fontSize: 17, marginTop: 12 }]}>Log snapshot</Text>
        <Button testID="detail-refresh" title="Refresh" secondary onPress={refresh} />
      </View>
      {error ? <Text style={styles.error}>{error}</Text> : null}
      {snapshot?.events.map((event) => (
        <Text key={event.id} style={styles.mono} testID="detail-event">
          {new Date(event.at).toISOString().slice(11, 23)} {event.role} {event.from || '·'} → {event.to}
          {event.reason ? ` (${event.reason})` : ''}
        </Text>
      ))}
      {snapshot?.logs.map((line) => (
        <Text key={line.id} style={styles.mono}>
          {new Date(line.at).toISOString().slice(11, 23)} {line.level} {line.message}
        </Text>
      ))}
      {snapshot && !snapshot.events.length && !snapshot.logs.length ? <Text style={styles.muted}>Nothing recorded yet.</Text> : null}
    </ScrollView>
  );
}
