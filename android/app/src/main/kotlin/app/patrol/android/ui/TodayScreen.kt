// Today's patrols: each planned run with its window (site time) and status; start or resume.
package app.patrol.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AssistChip
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.patrol.android.R
import app.patrol.logic.Lang
import app.patrol.logic.PlanLine
import uniffi.patrol_core.PlanStatus

@Composable
fun TodayScreen(vm: PatrolViewModel, openRun: (String) -> Unit) {
    val model = vm.today
    val plan by model.plan.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val open by model.openRun.collectAsStateWithLifecycle()
    val revision by vm.repo.revision.collectAsStateWithLifecycle()
    LaunchedEffect(revision) { model.refresh() }
    LaunchedEffect(open) {
        open?.let {
            model.runOpened()
            openRun(it)
        }
    }
    Column(Modifier.fillMaxSize()) {
        if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorBanner(error, model::dismissError)
        if (plan.isEmpty() && !busy) {
            Text(stringResource(R.string.today_empty), Modifier.padding(24.dp))
        }
        LazyColumn(Modifier.fillMaxSize().padding(horizontal = 12.dp)) {
            items(plan, key = { "${it.planned.scheduleId}-${it.planned.windowStartMs}-${it.planned.slot}" }) { line ->
                PlanCard(line, enabled = !busy) { model.startOrResume(line) }
            }
        }
    }
}

@Composable
private fun PlanCard(line: PlanLine, enabled: Boolean, onGo: () -> Unit) {
    val lang = currentLang()
    Card(Modifier.fillMaxWidth().padding(vertical = 6.dp)) {
        Row(Modifier.padding(16.dp), verticalAlignment = Alignment.CenterVertically) {
            Column(Modifier.weight(1f)) {
                Text(line.routeName, style = MaterialTheme.typography.titleMedium)
                Text(line.planned.siteNameZh, style = MaterialTheme.typography.bodySmall)
                Text(stringResource(R.string.window, line.window), style = MaterialTheme.typography.bodyMedium)
                val color = when (line.planned.status) {
                    PlanStatus.DONE -> Done
                    PlanStatus.MISSED -> Overdue
                    else -> MaterialTheme.colorScheme.primary
                }
                AssistChip(onClick = {}, label = { Text(if (lang == Lang.EN) line.statusEn else line.statusZh, color = color) })
            }
            when {
                line.canResume -> Button(onClick = onGo, enabled = enabled) { Text(stringResource(R.string.resume_run)) }
                line.canStart -> Button(onClick = onGo, enabled = enabled) { Text(stringResource(R.string.start_run)) }
            }
        }
    }
}
