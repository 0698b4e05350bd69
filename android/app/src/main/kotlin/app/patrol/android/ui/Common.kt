// Pieces every screen uses: the error banner, a text-input dialog, photo thumbnails
// (with the way into a photo's markup).
package app.patrol.android.ui

import android.graphics.BitmapFactory
import androidx.compose.foundation.Image
import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.PaddingValues
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.layout.width
import androidx.compose.foundation.lazy.LazyRow
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.patrol.android.R
import app.patrol.logic.UiError
import java.io.File

@Composable
fun ErrorBanner(error: UiError?, onDismiss: () -> Unit) {
    if (error == null) return
    Surface(color = MaterialTheme.colorScheme.errorContainer, modifier = Modifier.fillMaxWidth()) {
        Row(Modifier.padding(12.dp), verticalAlignment = Alignment.CenterVertically) {
            Text(error.text(currentLang()), Modifier.weight(1f), color = MaterialTheme.colorScheme.onErrorContainer)
            TextButton(onClick = onDismiss) { Text(stringResource(R.string.dismiss)) }
        }
    }
}

/** Asks for one line of text (a reason, a remark); [required] keeps Confirm off while empty. */
@Composable
fun TextDialog(title: String, label: String, required: Boolean, onConfirm: (String) -> Unit, onDismiss: () -> Unit) {
    var text by remember { mutableStateOf("") }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(title) },
        text = { OutlinedTextField(text, { text = it }, label = { Text(label) }, modifier = Modifier.fillMaxWidth()) },
        confirmButton = {
            TextButton(onClick = { onConfirm(text.trim()) }, enabled = !required || text.isNotBlank()) {
                Text(stringResource(R.string.confirm))
            }
        },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
}

/** Thumbnails of photos stored on this phone (the core keeps them under photos/thumbs).
 *  With [onMarkup], each photo whose original this phone holds (the ones taken here;
 *  others' are uploaded, not downloaded) has a "标注 / Mark up" button under it. */
@Composable
fun PhotoStrip(shas: List<String>, onMarkup: ((String) -> Unit)? = null) {
    if (shas.isEmpty()) return
    val photos = File(LocalContext.current.filesDir, "patrol/photos")
    val dir = File(photos, "thumbs")
    LazyRow(Modifier.padding(vertical = 4.dp)) {
        items(shas) { sha ->
            val file = File(dir, "$sha.jpg")
            val bitmap = remember(sha) { if (file.exists()) BitmapFactory.decodeFile(file.path) else null }
            val original = remember(sha) { File(photos, "$sha.jpg").exists() }
            Column(horizontalAlignment = Alignment.CenterHorizontally) {
                Box(Modifier.size(72.dp).background(MaterialTheme.colorScheme.surfaceVariant), contentAlignment = Alignment.Center) {
                    if (bitmap != null) {
                        Image(bitmap.asImageBitmap(), contentDescription = sha, contentScale = ContentScale.Crop, modifier = Modifier.size(72.dp))
                    } else {
                        // A photo another person took: uploaded, not downloaded to this phone.
                        Text(sha.take(6), style = MaterialTheme.typography.labelSmall)
                    }
                }
                if (onMarkup != null && original) {
                    TextButton(onClick = { onMarkup(sha) }, contentPadding = PaddingValues(0.dp), modifier = Modifier.width(72.dp)) {
                        Text(stringResource(R.string.markup), style = MaterialTheme.typography.labelMedium)
                    }
                }
            }
            Spacer(Modifier.width(6.dp))
        }
    }
}

@Composable
fun Section(title: String, content: @Composable () -> Unit) {
    Column(Modifier.padding(vertical = 8.dp)) {
        Text(title, style = MaterialTheme.typography.titleSmall, color = MaterialTheme.colorScheme.primary)
        content()
    }
}
