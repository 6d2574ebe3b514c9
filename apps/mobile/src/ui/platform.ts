// The platform services the store needs: keys and the pairing link in the secure store (the browser's
// localStorage on the web build), and notifications through expo-notifications.
import * as Notifications from 'expo-notifications';
import * as SecureStore from 'expo-secure-store';
import { Platform } from 'react-native';
import type { JobNotification } from '../net/index.js';
import type { Notifier, SecureStorage } from './phone-store.js';

export const secureStorage: SecureStorage =
  Platform.OS === 'web'
    ? {
        get: async (name) => globalThis.localStorage?.getItem(name) ?? null,
        set: async (name, value) => globalThis.localStorage?.setItem(name, value),
        remove: async (name) => globalThis.localStorage?.removeItem(name),
      }
    : {
        get: (name) => SecureStore.getItemAsync(name),
        set: (name, value) => SecureStore.setItemAsync(name, value),
        remove: (name) => SecureStore.deleteItemAsync(name),
      };

/** Shown while the app runs too: the banner alone is easy to miss. */
Notifications.setNotificationHandler({
  handleNotification: async () => ({ shouldShowBanner: true, shouldShowList: true, shouldPlaySound: false, shouldSetBadge: false }),
});

export const expoNotifier: Notifier = {
  async present(notification: JobNotification) {
    if (Platform.OS === 'web') return presentInBrowser(notification);
    const { granted } = await Notifications.requestPermissionsAsync();
    if (!granted) return;
    await Notifications.scheduleNotificationAsync({ content: { title: notification.title, body: notification.body, data: { jobId: notification.jobId } }, trigger: null });
  },
  async pushToken() {
    if (Platform.OS === 'web') return null;
    const { granted } = await Notifications.requestPermissionsAsync();
    if (!granted) return null;
    const token = await Notifications.getExpoPushTokenAsync();
    return { token: token.data, platform: 'expo' };
  },
};

function presentInBrowser(notification: JobNotification): void {
  const BrowserNotification = (globalThis as { Notification?: { permission: string; new (title: string, options: { body: string }): unknown } }).Notification;
  if (BrowserNotification?.permission === 'granted') new BrowserNotification(notification.title, { body: notification.body });
}
