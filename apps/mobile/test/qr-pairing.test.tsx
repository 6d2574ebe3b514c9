// Pairing by QR code, with a stand-in camera: no camera runs under Jest, so expo-camera is replaced by a view
// whose barcode callback the test calls with the payload `infernet pair` prints.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react-native';
import { PhoneApp } from '../src/ui/PhoneApp';
import { loadAppModules, LOAD_APP_MODULES_TIMEOUT_MS } from './load-app-modules';
import { LINK_TEXT, NODE, startedStore } from './scripted-node';

const camera = { granted: false, requested: 0 };
jest.mock('expo-camera', () => {
  const { View } = jest.requireActual('react-native');
  return {
    useCameraPermissions: () => [{ granted: camera.granted }, async () => void camera.requested++],
    CameraView: (props: object) => <View {...props} />,
  };
});

beforeAll(loadAppModules, LOAD_APP_MODULES_TIMEOUT_MS);

describe('QR pairing (stand-in camera, scripted node)', () => {
  it('asks for the camera before it scans', async () => {
    const { store } = await startedStore();
    render(<PhoneApp store={store} initialTab="settings" />);
    fireEvent.press(screen.getByTestId('settings-scan'));
    await act(async () => fireEvent.press(screen.getByTestId('qr-allow')));
    expect(camera.requested).toBe(1);
    fireEvent.press(screen.getByTestId('qr-close'));
    expect(screen.getByTestId('settings-screen')).toBeTruthy();
  });

  it('pairs with the link the scanned code carries, once however often the camera reports it', async () => {
    camera.granted = true;
    const { store } = await startedStore();
    render(<PhoneApp store={store} initialTab="settings" />);
    fireEvent.press(screen.getByTestId('settings-scan'));
    const view = screen.getByTestId('qr-camera');
    await act(async () => {
      view.props.onBarcodeScanned({ data: LINK_TEXT, type: 'qr' });
      view.props.onBarcodeScanned({ data: 'infernet://pair?garbage', type: 'qr' });
    });
    await waitFor(() => expect(store.snapshot.connection).toBe('connected'));
    expect(store.snapshot.link?.node).toBe(NODE.npub);
    expect(screen.getByTestId('jobs-screen')).toBeTruthy();
  });

  it('says what is wrong with a code that is not a pairing link', async () => {
    camera.granted = true;
    const { store } = await startedStore();
    render(<PhoneApp store={store} initialTab="settings" />);
    fireEvent.press(screen.getByTestId('settings-scan'));
    await act(async () => screen.getByTestId('qr-camera').props.onBarcodeScanned({ data: 'https://example.com/menu', type: 'qr' }));
    expect(await screen.findByTestId('settings-error')).toHaveTextContent('the scanned code: not a pairing link: expected infernet://pair?... or wss://host:port#npub1...');
  });
});
