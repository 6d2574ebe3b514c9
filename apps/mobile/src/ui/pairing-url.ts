/** The pairing link in the URL the app was opened with: an infernet:// deep link, or ?link= on the web build. */
export function pairingLinkOfUrl(url: string | null): string | null {
  if (!url) return null;
  if (url.startsWith('infernet://pair?')) return url;
  const query = url.split('?')[1];
  return query ? new URLSearchParams(query.split('#')[0]).get('link') : null;
}
