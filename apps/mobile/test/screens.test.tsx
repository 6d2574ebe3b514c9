// Component and flow tests of every screen, with a scripted node (see scripted-node.ts): what the user sees and
// what the app sends for each action.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react-native';
import { generatePhoneKey, nsecOf } from '../src/net/index';
import { PhoneApp } from '../src/ui/PhoneApp';
import { pairingLinkOfUrl } from '../src/ui/pairing-url';
import { validateSubmission } from '../src/ui/screens/SubmitScreen';
import { loadAppModules, LOAD_APP_MODULES_TIMEOUT_MS } from './load-app-modules';
import { jobRow, LINK, LINK_TEXT, MemoryStorage, NODE, RecordingNotifier, ScriptedNode, startedStore } from './scripted-node';

/** Pairs and waits for the push registration that follows the connection, so no update lands after the test. */
async function pair(store: Awaited<ReturnType<typeof startedStore>>['store']) {
  await act(() => store.pair(LINK_TEXT));
  await waitFor(() => expect(store.snapshot.pushStatus).not.toBe(''));
}

async function pairedApp(initialTab?: 'jobs' | 'submit' | 'providers' | 'settings') {
  const started = await startedStore();
  await pair(started.store);
  render(<PhoneApp store={started.store} initialTab={initialTab ?? 'jobs'} />);
  return started;
}

beforeAll(loadAppModules, LOAD_APP_MODULES_TIMEOUT_MS);

describe('settings screen (scripted node)', () => {
  it('shows the key generated on first start and pairs with a pasted link', async () => {
    const { store, node } = await startedStore();
    render(<PhoneApp store={store} />);
    expect(screen.getByTestId('settings-screen')).toBeTruthy();
    const npub = store.snapshot.key!.npub;
    expect(screen.getByTestId('phone-npub')).toHaveTextContent(npub);
    expect(screen.getByText(/No node paired/)).toHaveTextContent(`infernet pair --phone ${npub}`, { exact: false });
    fireEvent.changeText(screen.getByTestId('settings-link-input'), LINK_TEXT);
    await act(async () => fireEvent.press(screen.getByTestId('settings-pair')));
    await waitFor(() => expect(store.snapshot.pushStatus).not.toBe(''));
    expect(store.snapshot.connection).toBe('connected');
    expect(node.pushTokens).toEqual(['ExponentPushToken[scripted]']);
    fireEvent.press(screen.getByTestId('tab-settings'));
    expect(screen.getByTestId('settings-node-npub')).toHaveTextContent(NODE.npub);
    expect(screen.getByTestId('settings-connection')).toHaveTextContent('connected');
    expect(screen.getByTestId('settings-push')).toHaveTextContent('push token registered with the node (expo)');
  });

  it('refuses a link that is not a pairing link, and says why', async () => {
    const { store } = await startedStore();
    render(<PhoneApp store={store} />);
    fireEvent.changeText(screen.getByTestId('settings-link-input'), 'https://example.com');
    await act(async () => fireEvent.press(screen.getByTestId('settings-pair')));
    expect(screen.getByTestId('settings-error')).toHaveTextContent(/not a pairing link/);
    expect(store.snapshot.link).toBeNull();
  });

  it('keeps the key across restarts, imports another one, and unpairs when the key changes', async () => {
    const storage = new MemoryStorage();
    const first = await startedStore(new ScriptedNode(), storage);
    await act(() => first.store.pair(LINK_TEXT));
    const second = await startedStore(new ScriptedNode(), storage);
    expect(second.store.snapshot.key!.npub).toBe(first.store.snapshot.key!.npub);
    await waitFor(() => expect(second.store.snapshot.connection).toBe('connected'));
    render(<PhoneApp store={second.store} initialTab="settings" />);
    const imported = generatePhoneKey();
    fireEvent.changeText(screen.getByTestId('settings-nsec-input'), nsecOf(imported));
    await act(async () => fireEvent.press(screen.getByTestId('settings-import-key')));
    expect(screen.getByTestId('phone-npub')).toHaveTextContent(imported.npub);
    expect(second.store.snapshot.link).toBeNull();
    fireEvent.press(screen.getByTestId('settings-show-secret'));
    expect(screen.getByTestId('phone-nsec')).toHaveTextContent(nsecOf(imported));
  });
});

describe('submit screen (scripted node)', () => {
  it('shows the grant limits and refuses a request beyond them before sending it', async () => {
    const { node } = await pairedApp('submit');
    expect(screen.getByTestId('submit-limits')).toHaveTextContent('Grant limits: stories260K, up to 48 tokens, 10 jobs per hour, at most 0.05 USDC per 1k_tokens, until 2030-01-01.');
    fireEvent.press(screen.getByTestId('submit-button'));
    expect(screen.getByTestId('submit-error')).toHaveTextContent('Write a prompt.');
    fireEvent.changeText(screen.getByTestId('submit-prompt'), 'Once upon a time');
    fireEvent.changeText(screen.getByTestId('submit-max-tokens'), '100');
    fireEvent.press(screen.getByTestId('submit-button'));
    expect(screen.getByTestId('submit-error')).toHaveTextContent('This phone may ask for at most 48 tokens.');
    expect(node.submitted).toHaveLength(0);
  });

  it('sends model, prompt, limits and the granted price cap, then opens the job', async () => {
    const { node } = await pairedApp('submit');
    fireEvent.changeText(screen.getByTestId('submit-prompt'), 'Once upon a time');
    fireEvent.changeText(screen.getByTestId('submit-max-tokens'), '32');
    fireEvent.press(screen.getByTestId('submit-button'));
    expect(node.submitted).toEqual([expect.objectContaining({ model: 'stories260K', prompt: 'Once upon a time', maxTokens: 32, temperature: 0, priceCap: { amount: '0.05', currency: 'USDC', per: '1k_tokens' } })]);
    expect(screen.getByTestId('job-detail-screen')).toBeTruthy();
    expect(screen.getByTestId('detail-status')).toHaveTextContent('requested');
    await waitFor(() => expect(screen.getByText('Nothing recorded yet.')).toBeTruthy());
  });

  it('validates numbers and models as pure rules', () => {
    expect(validateSubmission({ model: 'llama', prompt: 'x', maxTokens: '8', temperature: '0' }, LINK)).toBe('This phone may use stories260K.');
    expect(validateSubmission({ model: 'stories260K', prompt: 'x', maxTokens: '1.5', temperature: '0' }, LINK)).toMatch(/whole number/);
    expect(validateSubmission({ model: 'stories260K', prompt: 'x', maxTokens: '8', temperature: '3' }, LINK)).toMatch(/between 0 and 2/);
  });
});

describe('jobs screen (scripted node)', () => {
  it('says how to start when nothing is paired, and when no job ran yet', async () => {
    const { store } = await startedStore();
    render(<PhoneApp store={store} initialTab="jobs" />);
    expect(screen.getByText('Pair a node in Settings to submit jobs.')).toBeTruthy();
    await act(() => store.pair(LINK_TEXT));
    expect(screen.getByText('No jobs yet: submit one.')).toBeTruthy();
  });

  it('follows a live job: status changes and output streamed token by token', async () => {
    const { store, node } = await pairedApp('jobs');
    let jobId = '';
    act(() => void (jobId = store.submit({ model: 'stories260K', prompt: 'Once upon a time', maxTokens: 16 })));
    expect(screen.getByTestId(`job-status-${jobId}`)).toHaveTextContent('requested');
    act(() => node.emit({ type: 'status', jobId, status: 'running', at: Date.now(), provider: 'cd'.repeat(32) }));
    expect(screen.getByTestId(`job-status-${jobId}`)).toHaveTextContent('running');
    act(() => node.emit({ type: 'text', jobId, text: 'Once', output: 'Once' }));
    act(() => node.emit({ type: 'text', jobId, text: ' there', output: 'Once there' }));
    expect(screen.getByTestId(`job-status-${jobId}`)).toHaveTextContent('generating');
    expect(screen.getByTestId(`job-output-${jobId}`)).toHaveTextContent('Once there▍');
    act(() => node.emit({ type: 'completed', jobId, at: Date.now(), output: 'Once there was', tokens: 3, finishReason: 'length', provider: 'cd'.repeat(32), engine: 'llama.cpp', totalMs: 40 }));
    expect(screen.getByTestId(`job-status-${jobId}`)).toHaveTextContent('completed');
    expect(screen.getByTestId(`job-output-${jobId}`)).toHaveTextContent('Once there was');
  });

  it('lists the jobs of the synced history beside the live ones', async () => {
    const { node } = await pairedApp('jobs');
    act(() => node.setRows([jobRow({ jobId: 'job-history-1', state: 'failed', error: { code: 'no_provider', message: 'none' } }), jobRow({ jobId: 'job-history-2', state: 'completed' })]));
    expect(screen.getByTestId('job-status-job-history-1')).toHaveTextContent('failed');
    expect(screen.getByText('no_provider: none')).toBeTruthy();
    expect(screen.getByTestId('job-status-job-history-2')).toHaveTextContent('completed');
  });
});

describe('job detail screen (scripted node)', () => {
  it('shows the log snapshot from the node history, and cancels a running job', async () => {
    const { store, node } = await pairedApp('jobs');
    let jobId = '';
    act(() => void (jobId = store.submit({ model: 'stories260K', prompt: 'Hello', maxTokens: 8 })));
    node.snapshots.set(jobId, {
      job: null,
      events: [
        { id: 'e1', collectionId: 'c', collectionName: 'job_events', jobId, role: 'aggregator', from: '', to: 'matched', at: Date.UTC(2026, 0, 1, 10, 0, 0), reason: '' },
        { id: 'e2', collectionId: 'c', collectionName: 'job_events', jobId, role: 'aggregator', from: 'matched', to: 'dispatched', at: Date.UTC(2026, 0, 1, 10, 0, 1), reason: '' },
      ],
      logs: [{ id: 'l1', collectionId: 'c', collectionName: 'logs', level: 'info', source: 'node', message: 'job matched', jobId, data: null, at: Date.UTC(2026, 0, 1, 10, 0, 0) }],
    });
    fireEvent.press(screen.getByTestId(`job-${jobId}`));
    await waitFor(() => expect(screen.getAllByTestId('detail-event')).toHaveLength(2));
    expect(screen.getAllByTestId('detail-event')[1]).toHaveTextContent('10:00:01.000 aggregator matched → dispatched');
    expect(screen.getByText('10:00:00.000 info job matched')).toBeTruthy();
    expect(screen.getByTestId('detail-output')).toHaveTextContent('Waiting for the first tokens…');
    fireEvent.press(screen.getByTestId('detail-cancel'));
    expect(node.cancelled).toEqual([jobId]);
    fireEvent.press(screen.getByTestId('detail-back'));
    expect(screen.getByTestId('jobs-screen')).toBeTruthy();
  });
});

describe('providers screen (scripted node)', () => {
  it('shows an empty state while the node has recorded no provider', async () => {
    await pairedApp('providers');
    expect(await screen.findByTestId('providers-empty')).toHaveTextContent('No providers recorded by this node yet.');
  });

  it('lists providers with reputation, availability and their latest reputation events', async () => {
    const node = new ScriptedNode();
    node.providers = [
      { pubkey: 'aa'.repeat(32), name: 'gpu-box', online: true, reputation: 0.93, lastSeenAt: 1, models: ['stories260K'], recentEvents: [{ id: 'r1', collectionId: 'c', collectionName: 'reputation_events', provider: 'aa'.repeat(32), jobId: 'j', kind: 'job_completed', delta: 1, reason: 'verified', signedBy: '', at: 1, eventId: 'e'.repeat(64), event: null, value: 1, currency: '', policy: '', model: 'stories260K', via: 'local' }] },
      { pubkey: 'bb'.repeat(32), name: '', online: false, reputation: 0.2, lastSeenAt: 1, models: [], recentEvents: [] },
    ];
    const { store } = await startedStore(node);
    await pair(store);
    render(<PhoneApp store={store} initialTab="providers" />);
    expect(await screen.findByText('gpu-box')).toBeTruthy();
    expect(screen.getByTestId(`provider-reputation-${'aa'.repeat(32)}`)).toHaveTextContent('Reputation 0.93 · stories260K');
    expect(screen.getByText('+1 job_completed: verified')).toBeTruthy();
    expect(screen.getByText('offline')).toBeTruthy();
  });
});

describe('notifications (scripted node)', () => {
  it('presents a local notification on completion and opens the job from the banner', async () => {
    const node = new ScriptedNode();
    const notifier = new RecordingNotifier();
    const { store } = await startedStore(node, new MemoryStorage(), notifier);
    await pair(store);
    render(<PhoneApp store={store} initialTab="providers" />);
    let jobId = '';
    act(() => void (jobId = store.submit({ model: 'stories260K', prompt: 'Hi', maxTokens: 8 })));
    act(() => node.emit({ type: 'completed', jobId, at: Date.now(), output: 'Hi there', tokens: 2, finishReason: 'stop', provider: 'cd'.repeat(32), engine: 'llama.cpp', totalMs: 10 }));
    await waitFor(() => expect(notifier.presented.map((notification) => notification.kind)).toEqual(['completed']));
    expect(screen.getByTestId('notification-title')).toHaveTextContent('stories260K: done (2 tokens)');
    expect(screen.getByTestId('notification-body')).toHaveTextContent('Hi there');
    fireEvent.press(screen.getByTestId('notification-banner'));
    expect(screen.getByTestId('detail-output')).toHaveTextContent('Hi there');
    await waitFor(() => expect(screen.getByText('Nothing recorded yet.')).toBeTruthy());
    fireEvent.press(screen.getByTestId('notification-dismiss'));
    expect(screen.queryByTestId('notification-banner')).toBeNull();
  });

  it('reads the pairing link an app was opened with', () => {
    expect(pairingLinkOfUrl(LINK_TEXT)).toBe(LINK_TEXT);
    expect(pairingLinkOfUrl(`http://127.0.0.1:8081/?link=${encodeURIComponent(LINK_TEXT)}`)).toBe(LINK_TEXT);
    expect(pairingLinkOfUrl('http://127.0.0.1:8081/')).toBeNull();
  });
});
