// Photos from the system camera at full size (through the FileProvider), handed to the
// core as JPEG bytes; the core scales, orients and watermarks them. The manifest declares
// CAMERA, so the system refuses ACTION_IMAGE_CAPTURE (SecurityException) until it is
// granted, and CameraX (the QR scanner) shows nothing without it: the permission is
// asked here, at the tap, wherever the camera is used.
package app.patrol.android.platform

import android.Manifest
import android.content.ActivityNotFoundException
import android.content.Context
import android.content.pm.PackageManager
import android.net.Uri
import android.widget.Toast
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.platform.LocalContext
import androidx.core.content.ContextCompat
import androidx.core.content.FileProvider
import app.patrol.android.R
import java.io.File

/**
 * Returns a function that opens the camera; [onPhoto] gets the JPEG bytes. Without the
 * camera permission it asks for it first and opens the camera once granted; refused, it
 * says so (and where to allow it) instead of opening the camera.
 */
@Composable
fun rememberPhotoTaker(onPhoto: (ByteArray) -> Unit): () -> Unit {
    val context = LocalContext.current
    val target = remember { photoUri(context) }
    val camera = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { ok ->
        if (ok) {
            context.contentResolver.openInputStream(target)?.use { onPhoto(it.readBytes()) }
        }
        // The camera's original (full size, with the camera's EXIF position) is not kept
        // outside the store's protection: the bytes were read, the core keeps its own copy.
        captureFile(context).delete()
    }
    fun openCamera() {
        try {
            camera.launch(target)
        } catch (e: ActivityNotFoundException) {
            // No camera app on this phone (or it is disabled).
            Toast.makeText(context, R.string.camera_unavailable, Toast.LENGTH_LONG).show()
        } catch (e: SecurityException) {
            // Revoked between the check and the launch.
            Toast.makeText(context, R.string.camera_permission_refused, Toast.LENGTH_LONG).show()
        }
    }
    val withCamera = rememberCameraPermission()
    return { withCamera(::openCamera) }
}

/**
 * Returns a function that runs its argument once the camera may be used: at once when
 * the permission is held, else after the person grants it. Refused, it says so (and
 * where to allow it) instead. Used by the photo taker and the QR scanner.
 */
@Composable
fun rememberCameraPermission(): (() -> Unit) -> Unit {
    val context = LocalContext.current
    // What to run once granted; lost (harmlessly) if the process dies during the prompt.
    var pending by remember { mutableStateOf<(() -> Unit)?>(null) }
    val permission = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        val then = pending
        pending = null
        if (granted) then?.invoke()
        else Toast.makeText(context, R.string.camera_permission_refused, Toast.LENGTH_LONG).show()
    }
    return { action ->
        if (ContextCompat.checkSelfPermission(context, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            action()
        } else {
            pending = action
            permission.launch(Manifest.permission.CAMERA)
        }
    }
}

private fun captureFile(context: Context): File = File(File(context.cacheDir, "camera").apply { mkdirs() }, "capture.jpg")

private fun photoUri(context: Context): Uri =
    FileProvider.getUriForFile(context, context.packageName + ".photos", captureFile(context))
