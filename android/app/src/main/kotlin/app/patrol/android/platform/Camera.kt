// Photos from the system camera at full size (through the FileProvider), handed to the
// core as JPEG bytes; the core scales, orients and watermarks them.
package app.patrol.android.platform

import android.content.Context
import android.net.Uri
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.platform.LocalContext
import androidx.core.content.FileProvider
import java.io.File

/** Returns a function that opens the camera; [onPhoto] gets the JPEG bytes. */
@Composable
fun rememberPhotoTaker(onPhoto: (ByteArray) -> Unit): () -> Unit {
    val context = LocalContext.current
    val target = remember { photoUri(context) }
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { ok ->
        if (ok) {
            context.contentResolver.openInputStream(target)?.use { onPhoto(it.readBytes()) }
        }
    }
    return { launcher.launch(target) }
}

private fun photoUri(context: Context): Uri {
    val dir = File(context.cacheDir, "camera").apply { mkdirs() }
    val file = File(dir, "capture.jpg")
    return FileProvider.getUriForFile(context, context.packageName + ".photos", file)
}
