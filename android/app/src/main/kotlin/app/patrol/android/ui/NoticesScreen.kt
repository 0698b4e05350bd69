// The notices inbox (overdue first) and one notice: the head signs for receipt on a
// signature pad, reports the fix with after-photos or disputes; the issuer verifies.
// The photos this phone took (the notice's, the after-photos) can be marked up.
package app.patrol.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.FilterChip
import androidx.compose.material3.FloatingActionButton
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.patrol.android.R
import app.patrol.android.platform.rememberPhotoTaker
import app.patrol.logic.Formats
import app.patrol.logic.InboxFilter
import app.patrol.logic.Phrases
import app.patrol.logic.can
import uniffi.patrol_core.NoticeView
import uniffi.patrol_protocol.NoticeAction
import uniffi.patrol_protocol.Severity

@Composable
fun NoticesScreen(vm: PatrolViewModel, open: (String) -> Unit, raise: () -> Unit) {
    val model = vm.notices
    val notices by model.notices.collectAsStateWithLifecycle()
    val filter by model.filter.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val offsets by vm.siteOffsets.collectAsStateWithLifecycle()
    val revision by vm.repo.revision.collectAsStateWithLifecycle()
    LaunchedEffect(revision) { model.refresh() }
    Box(Modifier.fillMaxSize()) {
        Column(Modifier.fillMaxSize()) {
            if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
            ErrorBanner(error, model::dismissError)
            Row(Modifier.padding(8.dp), horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                listOf(InboxFilter.TO_DO to R.string.filter_todo, InboxFilter.OPEN to R.string.filter_open, InboxFilter.ALL to R.string.filter_all)
                    .forEach { (f, label) -> FilterChip(selected = filter == f, onClick = { model.setFilter(f) }, label = { Text(stringResource(label)) }) }
            }
            if (notices.isEmpty()) Text(stringResource(R.string.inbox_empty), Modifier.padding(24.dp))
            LazyColumn(Modifier.fillMaxSize().padding(horizontal = 12.dp)) {
                items(notices, key = { it.noticeId }) { n -> NoticeCard(n, offsets[n.siteId] ?: 480) { open(n.noticeId) } }
            }
        }
        FloatingActionButton(onClick = raise, modifier = Modifier.align(Alignment.BottomEnd).padding(16.dp)) {
            Icon(Icons.Filled.Add, contentDescription = stringResource(R.string.raise_notice))
        }
    }
}

@Composable
private fun NoticeCard(n: NoticeView, offset: Int, onClick: () -> Unit) {
    Card(Modifier.fillMaxWidth().padding(vertical = 4.dp).clickable(onClick = onClick)) {
        Column(Modifier.padding(12.dp)) {
            Row {
                Text(n.number ?: Phrases.numberPending(currentLang()), Modifier.weight(1f), style = MaterialTheme.typography.titleSmall)
                Text(n.stateZh.takeIf { currentLang() == app.patrol.logic.Lang.ZH } ?: n.state.name.lowercase())
            }
            Text(n.description, maxLines = 2, style = MaterialTheme.typography.bodyMedium)
            Row {
                Text("${n.departmentNameZh} · ${n.checkpointNameZh ?: n.location}", Modifier.weight(1f), style = MaterialTheme.typography.bodySmall)
                if (n.overdue) Text(stringResource(R.string.overdue), color = Overdue)
                else Text(stringResource(R.string.due_at, Formats.dayClock(n.dueMs, offset)), style = MaterialTheme.typography.bodySmall)
            }
            if (n.severity == Severity.SERIOUS) Text(stringResource(R.string.severity_serious), color = Overdue, style = MaterialTheme.typography.labelSmall)
        }
    }
}

private enum class Pending { SIGN, FIX_NOTE, DISPUTE, VERIFY_PASS, VERIFY_FAIL, CORRECTIVE }

@Composable
fun NoticeScreen(vm: PatrolViewModel, noticeId: String, markup: (String) -> Unit) {
    val model = vm.notices
    val n by model.selected.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val afterPhotos by model.pendingPhotos.collectAsStateWithLifecycle()
    val offsets by vm.siteOffsets.collectAsStateWithLifecycle()
    // Opened once per visit: coming back from a photo's markup keeps the notice and the
    // after-photos taken for the next action (open() would drop them). The flag is kept
    // with this back-stack entry; a process restart finds no notice selected and opens it.
    var opened by rememberSaveable(noticeId) { mutableStateOf(false) }
    LaunchedEffect(noticeId) {
        if (!opened || model.selected.value?.noticeId != noticeId) model.open(noticeId)
        opened = true
    }
    var pending by remember { mutableStateOf<Pending?>(null) }
    val takeAfterPhoto = rememberPhotoTaker { model.addAfterPhoto(it, null) }
    val notice = n?.takeIf { it.noticeId == noticeId }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
        if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorBanner(error, model::dismissError)
        if (notice == null) return@Column
        val offset = offsets[notice.siteId] ?: 480
        Text(notice.number ?: Phrases.numberPending(currentLang()), style = MaterialTheme.typography.titleLarge)
        Text("${notice.siteNameZh} · ${notice.departmentNameZh} · ${notice.stateZh}")
        Text(notice.checkpointNameZh ?: notice.location)
        Text(notice.description, style = MaterialTheme.typography.bodyLarge)
        if (notice.overdue) Text(stringResource(R.string.overdue), color = Overdue)
        Text(stringResource(R.string.due_at, Formats.dayClock(notice.dueMs, offset)))
        PhotoStrip(notice.photos, onMarkup = markup)

        // Buttons only for what the state machine allows this person now.
        if (notice.can(NoticeAction.ACKNOWLEDGE)) Button(onClick = { pending = Pending.SIGN }, enabled = !busy) { Text(stringResource(R.string.sign_receipt)) }
        if (notice.can(NoticeAction.REPORT_FIX)) {
            Section(stringResource(R.string.after_photos)) {
                PhotoStrip(afterPhotos, onMarkup = markup)
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    OutlinedButton(onClick = takeAfterPhoto, enabled = !busy) { Text(stringResource(R.string.take_photo)) }
                    Button(onClick = { pending = Pending.FIX_NOTE }, enabled = !busy && afterPhotos.isNotEmpty()) { Text(stringResource(R.string.report_fix)) }
                }
            }
        }
        if (notice.can(NoticeAction.CORRECTIVE_ACTION)) OutlinedButton(onClick = { pending = Pending.CORRECTIVE }) { Text(stringResource(R.string.corrective_action)) }
        if (notice.can(NoticeAction.DISPUTE)) OutlinedButton(onClick = { pending = Pending.DISPUTE }) { Text(stringResource(R.string.dispute)) }
        if (notice.can(NoticeAction.VERIFY_PASS)) Button(onClick = { pending = Pending.VERIFY_PASS }) { Text(stringResource(R.string.verify_pass)) }
        if (notice.can(NoticeAction.VERIFY_FAIL)) OutlinedButton(onClick = { pending = Pending.VERIFY_FAIL }) { Text(stringResource(R.string.verify_fail)) }

        HorizontalDivider(Modifier.padding(vertical = 8.dp))
        Text(stringResource(R.string.timeline), style = MaterialTheme.typography.titleSmall)
        notice.actions.forEach { a ->
            Text("${Formats.dayClock(a.timeMs, offset)} ${a.actorName ?: ""} ${a.action.name.lowercase()} ${a.reason}")
            a.refusal?.let { Text(stringResource(R.string.refused, it), color = Overdue, style = MaterialTheme.typography.bodySmall) }
        }
    }
    when (pending) {
        Pending.SIGN -> SignatureDialog(onSigned = { model.signForReceipt(it); pending = null }, onDismiss = { pending = null })
        Pending.FIX_NOTE -> TextDialog(stringResource(R.string.report_fix), stringResource(R.string.fix_note), required = false,
            onConfirm = { model.reportFix(it); pending = null }, onDismiss = { pending = null })
        Pending.DISPUTE -> TextDialog(stringResource(R.string.dispute), stringResource(R.string.dispute_reason), required = true,
            onConfirm = { model.dispute(it); pending = null }, onDismiss = { pending = null })
        Pending.VERIFY_PASS -> TextDialog(stringResource(R.string.verify_pass), stringResource(R.string.verify_reason), required = false,
            onConfirm = { model.verify(true, it); pending = null }, onDismiss = { pending = null })
        Pending.VERIFY_FAIL -> TextDialog(stringResource(R.string.verify_fail), stringResource(R.string.verify_reason), required = true,
            onConfirm = { model.verify(false, it); pending = null }, onDismiss = { pending = null })
        Pending.CORRECTIVE -> TextDialog(stringResource(R.string.corrective_action), stringResource(R.string.corrective_action), required = true,
            onConfirm = { model.correctiveAction(it); pending = null }, onDismiss = { pending = null })
        null -> {}
    }
}
