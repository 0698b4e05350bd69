// Sync status: what waits to be sent, the last success or error, live progress, "sync
// now" and cancel, the actions the server refused, and sign out.
package app.patrol.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.patrol.android.R
import app.patrol.logic.Formats
import app.patrol.logic.Lang
import app.patrol.logic.pick
import uniffi.patrol_core.SyncPhase

@Composable
fun SyncScreen(vm: PatrolViewModel) {
    val model = vm.sync
    val state by model.state.collectAsStateWithLifecycle()
    val progress by model.progress.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val rejections by model.rejections.collectAsStateWithLifecycle()
    val lang = currentLang()
    LaunchedEffect(Unit) { model.refresh() }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        ErrorBanner(error, model::dismissError)
        state?.let { s ->
            s.signedInTo?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
            Text(stringResource(R.string.queued_records, s.queuedRecords.toInt()), style = MaterialTheme.typography.titleMedium)
            Text(stringResource(R.string.queued_photos, s.queuedPhotos.toInt(), Formats.bytes(s.queuedPhotoBytes)))
            Text(s.lastSuccessMs?.let { stringResource(R.string.last_sync, Formats.dayClock(it, java.util.TimeZone.getDefault().getOffset(it) / 60_000)) }
                ?: stringResource(R.string.never_synced))
            s.lastError?.let { en -> Text(stringResource(R.string.last_error, lang.pick(s.lastErrorZh ?: en, en)), color = Overdue) }
            s.clockOffsetMs?.let { if (kotlin.math.abs(it) > 60_000) Text(stringResource(R.string.clock_offset, (it / 1000).toInt())) }
        }
        if (busy) {
            val p = progress
            when (p?.phase) {
                SyncPhase.PUSH -> {
                    Text(stringResource(R.string.sync_phase_push, p.recordsSent.toInt(), p.recordsToSend.toInt()))
                    LinearProgressIndicator(progress = { if (p.recordsToSend == 0uL) 1f else p.recordsSent.toFloat() / p.recordsToSend.toFloat() }, modifier = Modifier.fillMaxWidth())
                }
                SyncPhase.PHOTOS -> {
                    Text(stringResource(R.string.sync_phase_photos, Formats.bytes(p.photoBytesSent), Formats.bytes(p.photoBytesToSend)))
                    LinearProgressIndicator(progress = { if (p.photoBytesToSend == 0uL) 1f else p.photoBytesSent.toFloat() / p.photoBytesToSend.toFloat() }, modifier = Modifier.fillMaxWidth())
                }
                SyncPhase.PULL -> {
                    Text(stringResource(R.string.sync_phase_pull, p.recordsReceived.toInt()))
                    LinearProgressIndicator(Modifier.fillMaxWidth())
                }
                null -> LinearProgressIndicator(Modifier.fillMaxWidth())
            }
        }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Button(onClick = model::syncNow, enabled = !busy) { Text(stringResource(R.string.sync_now)) }
            if (busy) OutlinedButton(onClick = model::cancel) { Text(stringResource(R.string.cancel)) }
        }
        if (rejections.isNotEmpty()) {
            Section(stringResource(R.string.rejections)) {
                rejections.forEach { r -> Text("#${r.seq} ${r.kind}: ${if (lang == Lang.EN) r.reason else r.reasonZh}", color = Overdue) }
            }
        }
        OutlinedButton(onClick = vm.session::signOut, enabled = !busy) { Text(stringResource(R.string.sign_out)) }
    }
}
