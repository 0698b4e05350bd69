// A patrol run: progress, the checkpoints in route order, and at each the ways to check
// in (QR scan, NFC tag, GPS with its accuracy, manual with a reason), the checklist,
// photos, a notice from here; finishing with a reason when points were missed. While
// the run is open a foreground service records the track.
package app.patrol.android.ui

import android.Manifest
import android.os.Build
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.itemsIndexed
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.FilterChip
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.patrol.android.R
import app.patrol.android.location.RunLocationService
import app.patrol.android.platform.NfcTags
import app.patrol.android.platform.fixes
import app.patrol.android.platform.rememberCameraPermission
import app.patrol.android.platform.rememberPhotoTaker
import app.patrol.logic.Fix
import app.patrol.logic.Formats
import app.patrol.logic.pick
import kotlinx.coroutines.flow.emptyFlow
import uniffi.patrol_core.RunCheckpoint
import uniffi.patrol_protocol.ItemOutcome

@Composable
fun RunScreen(vm: PatrolViewModel, runId: String, raiseNotice: () -> Unit, back: () -> Unit, plan: () -> Unit, markup: (String) -> Unit) {
    val model = vm.run
    val context = LocalContext.current
    val lang = currentLang()
    val detail by model.detail.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val summary by model.summary.collectAsStateWithLifecycle()
    val lastVisit by model.lastVisit.collectAsStateWithLifecycle()
    val offsets by vm.siteOffsets.collectAsStateWithLifecycle()
    // Precise location: GPS check-ins and the track need it (an approximate position is
    // off by a kilometre or more). null until the person answered.
    var granted by remember { mutableStateOf<Boolean?>(null) }
    val permissions = rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { result ->
        granted = result[Manifest.permission.ACCESS_FINE_LOCATION] == true
    }
    LaunchedEffect(runId) {
        model.load(runId)
        // Fine and coarse together: Android 12+ ignores a request for fine location alone
        // (no prompt, refused). The camera is asked for at the tap (scan, photo).
        val wanted = mutableListOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
        if (Build.VERSION.SDK_INT >= 33) wanted += Manifest.permission.POST_NOTIFICATIONS
        permissions.launch(wanted.toTypedArray())
    }
    val open = detail?.let { it.runId == runId && it.finishedMs == null } == true
    // The track is recorded while the run is open and location is allowed.
    LaunchedEffect(open, granted) {
        if (open && granted == true) RunLocationService.start(context, runId) else if (!open) RunLocationService.stop(context)
    }
    // Live position for the GPS check-in, with its accuracy on screen.
    val fix by remember(granted) { if (granted == true) context.fixes() else emptyFlow<Fix>() }.collectAsState(initial = null)
    // A tag held to the phone checks in at the checkpoint it belongs to.
    LaunchedEffect(open) {
        if (open) NfcTags.tags.collect { model.checkInNfc(it) }
    }
    var scanning by remember { mutableStateOf(false) }
    var manualFor by remember { mutableStateOf<String?>(null) }
    var finishing by remember { mutableStateOf(false) }
    var photoFor by remember { mutableStateOf<String?>(null) }
    val takePhoto = rememberPhotoTaker { bytes -> model.addPhoto(bytes, photoFor, fix) }
    val withCamera = rememberCameraPermission()

    val d = detail
    Column(Modifier.fillMaxSize()) {
        if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorBanner(error, model::dismissError)
        if (d == null || d.runId != runId) return@Column
        val progress = model.progress()
        Column(Modifier.padding(12.dp)) {
            Text(lang.pick(d.routeNameZh, d.routeNameEn), style = MaterialTheme.typography.titleLarge)
            Text(stringResource(R.string.progress, progress.visited, progress.total))
            LinearProgressIndicator(progress = { progress.fraction }, modifier = Modifier.fillMaxWidth().padding(vertical = 4.dp))
            val shown = fix
            Text(
                when {
                    granted == false -> stringResource(R.string.location_refused)
                    shown != null -> stringResource(R.string.gps_accuracy, shown.accuracyM)
                    else -> stringResource(R.string.gps_waiting)
                },
                style = MaterialTheme.typography.bodySmall,
                color = if (granted == false) Overdue else Color.Unspecified,
            )
            lastVisit?.let { v ->
                val name = d.checkpoints.firstOrNull { it.checkpoint.checkpointId == v.checkpointId }?.checkpoint
                Text(
                    stringResource(R.string.checked_in, name?.let { lang.pick(it.nameZh, it.nameEn) } ?: "") +
                        (v.distanceM?.let { " · " + stringResource(R.string.distance, it) } ?: "") +
                        (if (v.outOfOrder) " · " + stringResource(R.string.out_of_order) else ""),
                    color = Done,
                )
            }
            TextButton(onClick = plan) { Text(stringResource(R.string.show_plan)) }
            summary?.let { s ->
                Text(stringResource(R.string.run_summary, s.visited.toInt(), s.total.toInt(), s.problems.toInt(), Formats.duration(s.durationMs)))
            }
            if (open) {
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    Button(onClick = { withCamera { scanning = true } }) { Text(stringResource(R.string.scan_qr)) }
                    OutlinedButton(onClick = { vm.raise.open(d.siteId, d.runId); raiseNotice() }) {
                        Text(stringResource(R.string.raise_notice))
                    }
                    OutlinedButton(onClick = { finishing = true }) { Text(stringResource(R.string.finish_run)) }
                }
                Text(stringResource(R.string.nfc_hint), style = MaterialTheme.typography.bodySmall)
            }
            PhotoStrip(d.photos, onMarkup = markup)
        }
        val next = model.nextCheckpoint()?.checkpoint?.checkpointId
        LazyColumn(Modifier.fillMaxSize().padding(horizontal = 12.dp)) {
            itemsIndexed(d.checkpoints, key = { _, cp -> cp.checkpoint.checkpointId }) { _, cp ->
                CheckpointCard(
                    cp = cp,
                    isNext = cp.checkpoint.checkpointId == next,
                    open = open,
                    fix = fix,
                    offset = offsets[d.siteId] ?: 480,
                    onGps = { f -> model.checkInGps(cp.checkpoint.checkpointId, f) },
                    onManual = { manualFor = cp.checkpoint.checkpointId },
                    onPhoto = { photoFor = cp.checkpoint.checkpointId; takePhoto() },
                    onItem = { item, outcome -> model.recordItem(cp.checkpoint.checkpointId, item, outcome) },
                    onNotice = {
                        vm.raise.open(d.siteId, d.runId, cp.checkpoint.checkpointId, lang.pick(cp.checkpoint.nameZh, cp.checkpoint.nameEn))
                        raiseNotice()
                    },
                )
            }
        }
    }
    if (scanning) {
        QrScannerDialog(onCode = { code -> scanning = false; model.checkInQr(code) }, onClose = { scanning = false })
    }
    manualFor?.let { cpId ->
        TextDialog(stringResource(R.string.manual_check_in), stringResource(R.string.manual_reason), required = true,
            onConfirm = { model.checkInManual(cpId, it); manualFor = null }, onDismiss = { manualFor = null })
    }
    if (finishing) {
        val missed = model.progress().let { it.visited < it.total }
        if (missed) {
            TextDialog(stringResource(R.string.finish_run), stringResource(R.string.missed_reason), required = true,
                onConfirm = { model.finish(it); finishing = false }, onDismiss = { finishing = false })
        } else {
            LaunchedEffect(Unit) { model.finish(null); finishing = false }
        }
    }
}

@Composable
private fun CheckpointCard(
    cp: RunCheckpoint,
    isNext: Boolean,
    open: Boolean,
    fix: Fix?,
    offset: Int,
    onGps: (Fix) -> Unit,
    onManual: () -> Unit,
    onPhoto: () -> Unit,
    onItem: (String, ItemOutcome) -> Unit,
    onNotice: () -> Unit,
) {
    val lang = currentLang()
    var expanded by remember(isNext) { mutableStateOf(isNext) }
    val colors = if (isNext) CardDefaults.cardColors(containerColor = MaterialTheme.colorScheme.primaryContainer) else CardDefaults.cardColors()
    Card(Modifier.fillMaxWidth().padding(vertical = 4.dp).clickable { expanded = !expanded }, colors = colors) {
        Column(Modifier.padding(12.dp)) {
            Row {
                Text("${cp.position}. ${lang.pick(cp.checkpoint.nameZh, cp.checkpoint.nameEn)}", Modifier.weight(1f),
                    style = MaterialTheme.typography.titleMedium)
                cp.visit?.let { Text("✓ " + Formats.clock(it.timeMs, offset), color = Done) }
            }
            if (!expanded) return@Column
            if (open && cp.visit == null) {
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    OutlinedButton(onClick = { fix?.let(onGps) }, enabled = fix != null) { Text(stringResource(R.string.gps_check_in)) }
                    OutlinedButton(onClick = onManual) { Text(stringResource(R.string.manual_check_in)) }
                }
            }
            if (cp.visit != null) {
                cp.items.forEach { item ->
                    Text(lang.pick(item.textZh, item.textEn), Modifier.padding(top = 6.dp))
                    Row(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                        listOf(
                            ItemOutcome.OK to R.string.item_ok,
                            ItemOutcome.PROBLEM to R.string.item_problem,
                            ItemOutcome.NOT_APPLICABLE to R.string.item_na,
                        ).forEach { (outcome, label) ->
                            FilterChip(selected = item.outcome == outcome, enabled = open,
                                onClick = { onItem(item.itemId, outcome) }, label = { Text(stringResource(label)) })
                        }
                    }
                }
                if (open) {
                    Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                        OutlinedButton(onClick = onPhoto) { Text(stringResource(R.string.take_photo)) }
                        OutlinedButton(onClick = onNotice) { Text(stringResource(R.string.raise_notice)) }
                    }
                }
            }
        }
    }
}
