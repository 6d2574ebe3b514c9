import { StyleSheet } from 'react-native';

export const colors = { background: '#0f1115', card: '#1a1d24', text: '#e8eaf0', muted: '#9aa0ad', accent: '#6c8cff', ok: '#3ecf8e', warn: '#f5a524', error: '#f3555a' };

export const styles = StyleSheet.create({
  screen: { flex: 1, backgroundColor: colors.background, padding: 16 },
  title: { color: colors.text, fontSize: 22, fontWeight: '700', marginBottom: 12 },
  text: { color: colors.text, fontSize: 15 },
  muted: { color: colors.muted, fontSize: 13 },
  mono: { color: colors.text, fontSize: 13, fontFamily: 'monospace' },
  error: { color: colors.error, fontSize: 14, marginVertical: 6 },
  card: { backgroundColor: colors.card, borderRadius: 10, padding: 12, marginBottom: 10 },
  row: { flexDirection: 'row', alignItems: 'center', justifyContent: 'space-between' },
  input: { backgroundColor: colors.card, color: colors.text, borderRadius: 8, padding: 10, marginBottom: 10, fontSize: 15 },
  label: { color: colors.muted, fontSize: 13, marginBottom: 4 },
  button: { backgroundColor: colors.accent, borderRadius: 8, paddingVertical: 12, paddingHorizontal: 16, alignItems: 'center', marginVertical: 6 },
  buttonSecondary: { backgroundColor: colors.card, borderRadius: 8, paddingVertical: 10, paddingHorizontal: 14, alignItems: 'center', marginVertical: 4 },
  buttonText: { color: '#fff', fontWeight: '600', fontSize: 15 },
  empty: { color: colors.muted, textAlign: 'center', marginTop: 40, fontSize: 15 },
});

export function statusColor(status: string): string {
  if (status === 'completed' || status === 'settled') return colors.ok;
  if (status === 'failed' || status === 'cancelled') return colors.error;
  return colors.warn;
}
