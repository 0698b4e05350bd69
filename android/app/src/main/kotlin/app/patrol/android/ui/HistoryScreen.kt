// History: the runs walked on this phone, newest first (open one to see it), and the
// actions the server refused with their reasons.
package app.patrol.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
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

@Composable
fun HistoryScreen(vm: PatrolViewModel, openRun: (String) -> Unit) {
    val model = vm.history
    val runs by model.runs.collectAsStateWithLifecycle()
    val rejections by model.rejections.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val offsets by vm.siteOffsets.collectAsStateWithLifecycle()
    val revision by vm.repo.revision.collectAsStateWithLifecycle()
    val lang = currentLang()
    LaunchedEffect(revision) { model.refresh() }
    Column(Modifier.fillMaxSize()) {
        ErrorBanner(error, model::dismissError)
        if (runs.isEmpty()) Text(stringResource(R.string.history_empty), Modifier.padding(24.dp))
        LazyColumn(Modifier.fillMaxSize().padding(horizontal = 12.dp)) {
            items(runs, key = { it.runId }) { r ->
                Card(Modifier.fillMaxWidth().padding(vertical = 4.dp).clickable { openRun(r.runId) }) {
                    Column(Modifier.padding(12.dp)) {
                        Text(stringResource(R.string.run_line, lang.pick(r.routeNameZh, r.routeNameEn), r.visited.toInt(), r.total.toInt()),
                            style = MaterialTheme.typography.titleSmall)
                        val offset = offsets[r.siteId] ?: 480
                        Text(Formats.dayClock(r.startedMs, offset) + (r.finishedMs?.let { " – " + Formats.clock(it, offset) } ?: " · " + stringResource(R.string.running)))
                    }
                }
            }
            if (rejections.isNotEmpty()) {
                item { Text(stringResource(R.string.rejections), Modifier.padding(top = 12.dp), style = MaterialTheme.typography.titleSmall) }
                items(rejections, key = { it.recordId }) { r ->
                    Text("${r.kind}: ${if (lang == Lang.EN) r.reason else r.reasonZh}", color = Overdue)
                }
            }
        }
    }
}
