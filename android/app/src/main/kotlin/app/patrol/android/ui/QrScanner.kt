// QR scanning with CameraX and ML Kit's bundled barcode model: the first QR code seen
// is handed back once, then the camera is released.
package app.patrol.android.ui

import android.widget.Toast
import androidx.annotation.OptIn
import androidx.camera.core.CameraSelector
import androidx.camera.core.ExperimentalGetImage
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.compose.ui.window.Dialog
import androidx.compose.ui.window.DialogProperties
import androidx.core.content.ContextCompat
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.compose.LocalLifecycleOwner
import app.patrol.android.R
import com.google.mlkit.vision.barcode.BarcodeScanner
import com.google.mlkit.vision.barcode.BarcodeScannerOptions
import com.google.mlkit.vision.barcode.BarcodeScanning
import com.google.mlkit.vision.barcode.common.Barcode
import com.google.mlkit.vision.common.InputImage
import java.util.concurrent.Executor
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean

@Composable
fun QrScannerDialog(onCode: (String) -> Unit, onClose: () -> Unit) {
    val context = LocalContext.current
    val owner = LocalLifecycleOwner.current
    val scanner = remember {
        BarcodeScanning.getClient(BarcodeScannerOptions.Builder().setBarcodeFormats(Barcode.FORMAT_QR_CODE).build())
    }
    val analysisThread = remember { Executors.newSingleThreadExecutor() }
    val delivered = remember { AtomicBoolean(false) }
    val providerFuture = remember { ProcessCameraProvider.getInstance(context) }
    val closed = remember { AtomicBoolean(false) }
    DisposableEffect(Unit) {
        onDispose {
            closed.set(true)
            runCatching { providerFuture.get().unbindAll() }
            scanner.close()
            analysisThread.shutdown()
        }
    }
    Dialog(onDismissRequest = onClose, properties = DialogProperties(usePlatformDefaultWidth = false)) {
        Box(Modifier.fillMaxSize()) {
            AndroidView(
                modifier = Modifier.fillMaxSize(),
                factory = { ctx ->
                    val view = PreviewView(ctx)
                    providerFuture.addListener({
                        // Closed before CameraX was ready: binding now would leave the
                        // camera on behind the run screen.
                        if (closed.get()) return@addListener
                        // CameraX may fail to start (no back camera, the camera in use by
                        // another app, refused by a device policy): say so and close,
                        // instead of an exception on the main thread.
                        try {
                            bind(providerFuture.get(), view, owner, analysisThread, scanner, delivered, onCode)
                        } catch (e: Exception) {
                            Toast.makeText(ctx, R.string.scanner_unavailable, Toast.LENGTH_LONG).show()
                            onClose()
                        }
                    }, ContextCompat.getMainExecutor(ctx))
                    view
                },
            )
            Button(onClick = onClose, modifier = Modifier.align(Alignment.BottomCenter).padding(32.dp)) {
                Text(stringResource(R.string.cancel))
            }
        }
    }
}

/** Binds the preview and the QR analysis to [owner]; throws when the camera cannot start. */
@OptIn(ExperimentalGetImage::class)
private fun bind(
    provider: ProcessCameraProvider,
    view: PreviewView,
    owner: LifecycleOwner,
    analysisThread: Executor,
    scanner: BarcodeScanner,
    delivered: AtomicBoolean,
    onCode: (String) -> Unit,
) {
    val preview = Preview.Builder().build().also { it.setSurfaceProvider(view.surfaceProvider) }
    val analysis = ImageAnalysis.Builder()
        .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
        .build()
    analysis.setAnalyzer(analysisThread) { proxy ->
        val media = proxy.image
        if (media == null || delivered.get()) {
            proxy.close()
            return@setAnalyzer
        }
        scanner.process(InputImage.fromMediaImage(media, proxy.imageInfo.rotationDegrees))
            .addOnSuccessListener { codes ->
                val value = codes.firstNotNullOfOrNull { it.rawValue }
                if (value != null && delivered.compareAndSet(false, true)) onCode(value)
            }
            .addOnCompleteListener { proxy.close() }
    }
    provider.unbindAll()
    provider.bindToLifecycle(owner, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
}
