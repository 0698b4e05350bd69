// Staff fault notices (员工过失通知单): the person's month (notices, points after appeals,
// appeals open) and their notices, newest first; one notice with sign for, refuse and
// appeal; for supervisors and department heads, those they issued and the form to issue
// one offline (rule, person, what was seen, where, photos). State in FaultsModel (app-logic).
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
import androidx.compose.foundation.lazy.LazyRow
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
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.style.TextAlign
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.patrol.android.R
import app.patrol.android.platform.rememberPhotoTaker
import app.patrol.logic.Formats
import app.patrol.logic.canAnswer
import app.patrol.logic.canAppeal
import app.patrol.logic.pick
import app.patrol.logic.ruleName
import uniffi.patrol_protocol.FaultView

@Composable
fun FaultsScreen(vm: PatrolViewModel, open: (String) -> Unit, issue: () -> Unit) {
    val model = vm.faults
    val lang = currentLang()
    val month by model.month.collectAsStateWithLifecycle()
    val summary by model.summary.collectAsStateWithLifecycle()
    val mine by model.mine.collectAsStateWithLifecycle()
    val issued by model.issued.collectAsStateWithLifecycle()
    val canIssue by model.canIssue.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val offsets by vm.siteOffsets.collectAsStateWithLifecycle()
    val revision by vm.repo.revision.collectAsStateWithLifecycle()
    LaunchedEffect(revision) { model.refresh() }
    Box(Modifier.fillMaxSize()) {
        Column(Modifier.fillMaxSize()) {
            if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
            ErrorBanner(error, model::dismissError)
            Row(Modifier.fillMaxWidth().padding(horizontal = 8.dp), verticalAlignment = Alignment.CenterVertically) {
                TextButton(onClick = { model.previousMonth() }, enabled = !busy) { Text("‹") }
                Text(month, Modifier.weight(1f), textAlign = TextAlign.Center, style = MaterialTheme.typography.titleMedium)
                TextButton(onClick = { model.nextMonth() }, enabled = !busy) { Text("›") }
            }
            summary?.let { s ->
                Card(Modifier.fillMaxWidth().padding(horizontal = 12.dp, vertical = 4.dp)) {
                    Row(Modifier.padding(12.dp), horizontalArrangement = Arrangement.spacedBy(16.dp)) {
                        Text(stringResource(R.string.fault_month_notices, s.notices.toInt()))
                        Text(stringResource(R.string.fault_month_points, s.points.toInt()))
                        Text(stringResource(R.string.fault_month_appeals, s.openAppeals.toInt()))
                    }
                }
            }
            LazyColumn(Modifier.fillMaxSize().padding(horizontal = 12.dp)) {
                item { Text(stringResource(R.string.faults_mine), Modifier.padding(vertical = 8.dp), style = MaterialTheme.typography.titleSmall) }
                if (mine.isEmpty()) item { Text(stringResource(R.string.faults_empty), Modifier.padding(8.dp)) }
                items(mine, key = { "m-" + it.id }) { f -> FaultCard(f, lang, offsets[f.siteId] ?: 480, showPerson = false) { open(f.id) } }
                if (canIssue) {
                    item { Text(stringResource(R.string.faults_issued), Modifier.padding(top = 16.dp, bottom = 8.dp), style = MaterialTheme.typography.titleSmall) }
                    if (issued.isEmpty()) item { Text(stringResource(R.string.faults_empty), Modifier.padding(8.dp)) }
                    items(issued, key = { "i-" + it.id }) { f -> FaultCard(f, lang, offsets[f.siteId] ?: 480, showPerson = true) { open(f.id) } }
                }
            }
        }
        if (canIssue) {
            FloatingActionButton(onClick = issue, modifier = Modifier.align(Alignment.BottomEnd).padding(16.dp)) {
                Icon(Icons.Filled.Add, contentDescription = stringResource(R.string.fault_issue))
            }
        }
    }
}

@Composable
private fun FaultCard(f: FaultView, lang: app.patrol.logic.Lang, offset: Int, showPerson: Boolean, onClick: () -> Unit) {
    Card(Modifier.fillMaxWidth().padding(vertical = 4.dp).clickable(onClick = onClick)) {
        Column(Modifier.padding(12.dp)) {
            Row {
                Text(f.number, Modifier.weight(1f), style = MaterialTheme.typography.titleSmall)
                Text(stringResource(R.string.fault_points, f.pointsNow.toInt()), color = if (f.pointsNow > 0u) Overdue else MaterialTheme.colorScheme.onSurface)
            }
            Text("${f.ruleCode} ${f.ruleName(lang)}", maxLines = 2, style = MaterialTheme.typography.bodyMedium)
            Row {
                Text(
                    (if (showPerson) "${f.personName} · " else "") + f.location.ifBlank { f.seen },
                    Modifier.weight(1f), maxLines = 1, style = MaterialTheme.typography.bodySmall,
                )
                Text(Formats.dayClock(f.seenMs, offset), style = MaterialTheme.typography.bodySmall)
            }
            Text(faultStatus(f), style = MaterialTheme.typography.labelSmall, color = if (f.voided) Overdue else MaterialTheme.colorScheme.primary)
        }
    }
}

/** 签收 / 拒签 / 待签收, then the appeal's state, or 已作废. */
@Composable
private fun faultStatus(f: FaultView): String {
    if (f.voided) return stringResource(R.string.fault_voided)
    val receipt = stringResource(
        when (f.receipt) {
            "signed" -> R.string.fault_receipt_signed
            "refused" -> R.string.fault_receipt_refused
            else -> R.string.fault_receipt_pending
        },
    )
    val appeal = when (f.appeal) {
        null -> null
        "open" -> stringResource(R.string.fault_appeal_open)
        "upheld" -> stringResource(R.string.fault_appeal_upheld)
        "reduced" -> stringResource(R.string.fault_appeal_reduced)
        "cancelled" -> stringResource(R.string.fault_appeal_cancelled)
        else -> f.appeal
    }
    return listOfNotNull(receipt, appeal).joinToString(" · ")
}

private enum class FaultPending { REFUSE, APPEAL }

@Composable
fun FaultScreen(vm: PatrolViewModel, faultId: String) {
    val model = vm.faults
    val lang = currentLang()
    val selected by model.selected.collectAsStateWithLifecycle()
    val me by model.me.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val offsets by vm.siteOffsets.collectAsStateWithLifecycle()
    LaunchedEffect(faultId) { model.open(faultId) }
    var pending by remember { mutableStateOf<FaultPending?>(null) }
    val f = selected?.takeIf { it.id == faultId }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
        if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorBanner(error, model::dismissError)
        if (f == null) return@Column
        val offset = offsets[f.siteId] ?: 480
        val myId = me?.personId
        Text(stringResource(R.string.fault_title), style = MaterialTheme.typography.labelMedium)
        Text(f.number, style = MaterialTheme.typography.titleLarge)
        Text(faultStatus(f), color = if (f.voided) Overdue else MaterialTheme.colorScheme.primary)
        Text("${f.ruleCode} ${f.ruleName(lang)}", style = MaterialTheme.typography.titleMedium)
        Text(
            if (f.pointsNow != f.points) stringResource(R.string.fault_points_changed, f.points.toInt(), f.pointsNow.toInt())
            else stringResource(R.string.fault_points, f.points.toInt()),
            color = Overdue,
        )
        Text(stringResource(R.string.fault_person, f.personName))
        f.superiorName?.let { Text(stringResource(R.string.fault_superior, it)) }
        Text(stringResource(R.string.fault_issuer, f.issuerName))
        Text(stringResource(R.string.fault_seen_at, Formats.dayClock(f.seenMs, offset)))
        if (f.location.isNotBlank()) Text(stringResource(R.string.fault_where, f.location))
        Text(f.seen, style = MaterialTheme.typography.bodyLarge)
        PhotoStrip(f.photos)

        // Only the person named answers: sign for or refuse once, appeal once.
        if (f.canAnswer(myId)) {
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Button(onClick = { model.signFor() }, enabled = !busy) { Text(stringResource(R.string.fault_sign)) }
                OutlinedButton(onClick = { pending = FaultPending.REFUSE }, enabled = !busy) { Text(stringResource(R.string.fault_refuse)) }
            }
        }
        if (f.canAppeal(myId)) {
            OutlinedButton(onClick = { pending = FaultPending.APPEAL }, enabled = !busy) { Text(stringResource(R.string.fault_appeal)) }
            Text(stringResource(R.string.fault_appeal_hint), style = MaterialTheme.typography.bodySmall)
        }

        HorizontalDivider(Modifier.padding(vertical = 8.dp))
        Text(stringResource(R.string.timeline), style = MaterialTheme.typography.titleSmall)
        f.events.forEach { e ->
            val points = e.points?.let { " → ${stringResource(R.string.fault_points, it.toInt())}" }.orEmpty()
            Text("${Formats.dayClock(e.atMs, offset)} ${e.actorName} ${e.action}$points ${e.reason}")
            e.refusal?.let { Text(stringResource(R.string.refused, it), color = Overdue, style = MaterialTheme.typography.bodySmall) }
        }
    }
    when (pending) {
        FaultPending.REFUSE -> TextDialog(stringResource(R.string.fault_refuse), stringResource(R.string.fault_refuse_reason), required = false,
            onConfirm = { model.refuse(it); pending = null }, onDismiss = { pending = null })
        FaultPending.APPEAL -> TextDialog(stringResource(R.string.fault_appeal), stringResource(R.string.fault_appeal_reason), required = true,
            onConfirm = { model.appeal(it); pending = null }, onDismiss = { pending = null })
        null -> {}
    }
}

@Composable
fun IssueFaultScreen(vm: PatrolViewModel, done: () -> Unit, markup: (String) -> Unit) {
    val model = vm.faults
    val lang = currentLang()
    val form by model.form.collectAsStateWithLifecycle()
    val people by model.people.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val issuedId by model.issuedId.collectAsStateWithLifecycle()
    val takePhoto = rememberPhotoTaker { bytes -> model.addPhoto(bytes, null) }
    LaunchedEffect(issuedId) { if (issuedId != null) done() }
    var personIdText by remember { mutableStateOf("") }

    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text(stringResource(R.string.fault_new_title), style = MaterialTheme.typography.titleLarge)
        if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorBanner(error, model::dismissError)
        if (form.sites.size > 1) {
            Section(stringResource(R.string.fault_site)) {
                LazyRow(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                    items(form.sites, key = { it.id }) { s ->
                        FilterChip(selected = form.siteId == s.id, onClick = { model.site(s.id) }, label = { Text(lang.pick(s.nameZh, s.nameEn)) })
                    }
                }
            }
        }
        Section(stringResource(R.string.fault_rule)) {
            if (form.rules.isEmpty()) Text(stringResource(R.string.fault_no_rules), style = MaterialTheme.typography.bodySmall)
            form.rules.forEach { r ->
                FilterChip(
                    selected = form.ruleId == r.id, onClick = { model.rule(r.id) }, modifier = Modifier.fillMaxWidth(),
                    label = { Text("${r.code} ${lang.pick(r.nameZh, r.nameEn)} · ${stringResource(R.string.fault_points, r.points.toInt())}") },
                )
            }
        }
        form.pointsShown?.let { p ->
            Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Text(stringResource(R.string.fault_points, p.toInt()), Modifier.weight(1f))
                OutlinedButton(onClick = { model.points(if (p > 1u) p - 1u else 1u) }, enabled = p > 1u) { Text("−") }
                OutlinedButton(onClick = { model.points(p + 1u) }, enabled = p < 100u) { Text("+") }
            }
        }
        Section(stringResource(R.string.fault_person_pick)) {
            if (people.isEmpty()) Text(stringResource(R.string.fault_people_hint), style = MaterialTheme.typography.bodySmall)
            LazyRow(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                items(people, key = { it.personId }) { p ->
                    FilterChip(selected = form.personId == p.personId, onClick = { model.person(p.personId, p.name) }, label = { Text(p.name) })
                }
            }
            // Someone not on this phone's notices yet: their staff id, as the console shows it.
            OutlinedTextField(
                personIdText,
                { personIdText = it.trim(); if (personIdText.isNotEmpty()) model.person(personIdText, "") },
                label = { Text(stringResource(R.string.fault_person_id)) },
                singleLine = true, modifier = Modifier.fillMaxWidth(), isError = error?.field == "person_id",
            )
        }
        OutlinedTextField(form.location, model::location, label = { Text(stringResource(R.string.location)) }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(form.seen, model::seen, label = { Text(stringResource(R.string.fault_seen)) },
            minLines = 3, modifier = Modifier.fillMaxWidth(), isError = error?.field == "seen")
        Text(stringResource(R.string.photos_count, form.photos.size))
        PhotoStrip(form.photos, onMarkup = markup)
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton(onClick = takePhoto, enabled = !busy) { Text(stringResource(R.string.take_photo)) }
            Button(onClick = { model.submit() }, enabled = !busy) { Text(stringResource(R.string.submit)) }
        }
        Text(stringResource(R.string.notice_saved), style = MaterialTheme.typography.bodySmall)
    }
}
