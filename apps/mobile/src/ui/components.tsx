import { Pressable, Text, View } from 'react-native';
import type { JobNotification } from '../net/index.js';
import { colors, statusColor, styles } from './theme.js';

export function StatusBadge({ status, testID }: { status: string; testID?: string }) {
  return (
    <View style={{ backgroundColor: statusColor(status), borderRadius: 6, paddingHorizontal: 8, paddingVertical: 2 }}>
      <Text testID={testID} style={{ color: '#0f1115', fontWeight: '700', fontSize: 12 }}>
        {status}
      </Text>
    </View>
  );
}

export function Button({ title, onPress, testID, secondary, disabled }: { title: string; onPress: () => void; testID?: string; secondary?: boolean; disabled?: boolean }) {
  return (
    <Pressable testID={testID} accessibilityRole="button" disabled={disabled} onPress={onPress} style={[secondary ? styles.buttonSecondary : styles.button, disabled ? { opacity: 0.5 } : null]}>
      <Text style={styles.buttonText}>{title}</Text>
    </Pressable>
  );
}

/** The newest notification as a banner inside the app, beside the system notification. */
export function NotificationBanner({ notification, onDismiss, onOpen }: { notification: JobNotification | undefined; onDismiss: () => void; onOpen: () => void }) {
  if (!notification) return null;
  const color = notification.kind === 'failed' ? colors.error : notification.kind === 'completed' ? colors.ok : colors.accent;
  return (
    <Pressable testID="notification-banner" onPress={onOpen} style={{ backgroundColor: colors.card, borderLeftColor: color, borderLeftWidth: 4, padding: 10, margin: 8, borderRadius: 8 }}>
      <View style={styles.row}>
        <Text testID="notification-title" style={[styles.text, { fontWeight: '700', flex: 1 }]}>
          {notification.title}
        </Text>
        <Pressable testID="notification-dismiss" onPress={onDismiss} hitSlop={12}>
          <Text style={styles.muted}>✕</Text>
        </Pressable>
      </View>
      <Text testID="notification-body" style={styles.muted} numberOfLines={2}>
        {notification.body}
      </Text>
    </Pressable>
  );
}
