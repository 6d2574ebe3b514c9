// Scans the QR code `infernet pair` prints (its link as the payload) with the phone's camera.
import { CameraView, useCameraPermissions } from 'expo-camera';
import { useRef } from 'react';
import { Text, View } from 'react-native';
import { Button } from './components.js';
import { styles } from './theme.js';

export function QrScanner({ onScanned, onClose }: { onScanned: (text: string) => void; onClose: () => void }) {
  const [permission, requestPermission] = useCameraPermissions();
  const scanned = useRef(false);
  if (!permission?.granted) {
    return (
      <View style={styles.screen} testID="qr-scanner">
        <Text style={styles.text}>The camera reads the QR code that `infernet pair` prints on the node.</Text>
        <Button testID="qr-allow" title="Allow the camera" onPress={() => void requestPermission()} />
        <Button testID="qr-close" title="Cancel" secondary onPress={onClose} />
      </View>
    );
  }
  return (
    <View style={{ flex: 1 }} testID="qr-scanner">
      <CameraView
        testID="qr-camera"
        style={{ flex: 1 }}
        facing="back"
        barcodeScannerSettings={{ barcodeTypes: ['qr'] }}
        onBarcodeScanned={({ data }) => {
          // The camera reports the same code many times a second: act on the first.
          if (scanned.current) return;
          scanned.current = true;
          onScanned(data);
        }}
      />
      <Button testID="qr-close" title="Cancel" secondary onPress={onClose} />
    </View>
  );
}
