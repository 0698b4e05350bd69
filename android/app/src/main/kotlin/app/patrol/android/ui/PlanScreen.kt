// The run on the site plan, offline: the walked track as a line, the route's checkpoints
// as numbered dots (green visited, orange next, grey not yet). PlanModel (app-logic) does
// the projection, the marks and the thinning; this only draws. Without a plan image on
// the phone (the core does not carry it yet) the background is plain and the extent is
// the checkpoints' box, true to scale; the caption says so.
package app.patrol.android.ui

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.layout.BoxWithConstraints
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.Path
import androidx.compose.ui.graphics.drawscope.Stroke
import androidx.compose.ui.platform.LocalDensity
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewModelScope
import app.patrol.logic.PlanScreenModel
import app.patrol.logic.PlanSource
import app.patrol.logic.StopMark

@Composable
fun PlanScreen(vm: PatrolViewModel, runId: String) {
    val lang = currentLang()
    val model = remember { PlanScreenModel(vm.repo, vm.viewModelScope) }
    val view by model.view.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val revision by vm.repo.revision.collectAsStateWithLifecycle()
    Column(Modifier.fillMaxSize().padding(12.dp)) {
        if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorBanner(error, model::dismissError)
        BoxWithConstraints(Modifier.fillMaxWidth().weight(1f)) {
            val w = constraints.maxWidth
            val h = constraints.maxHeight
            // Reloads as the track grows (each batch written bumps the revision).
            LaunchedEffect(runId, w, h, revision) { model.load(runId, lang, w, h) }
            val v = view ?: return@BoxWithConstraints
            val px = with(LocalDensity.current) { v.widthPx.toDp() to v.heightPx.toDp() }
            Canvas(Modifier.size(px.first, px.second)) {
                drawRect(Color(0xFFF4F4F0))
                if (v.track.size >= 2) {
                    val path = Path().apply {
                        moveTo(v.track[0].x, v.track[0].y)
                        for (p in v.track.drop(1)) lineTo(p.x, p.y)
                    }
                    drawPath(path, Color(0xFF3367D6), style = Stroke(width = 3.dp.toPx()))
                }
                for (m in v.markers) {
                    val c = when (m.mark) {
                        StopMark.VISITED -> Done
                        StopMark.NEXT -> Color(0xFFE8710A)
                        StopMark.NOT_VISITED -> Color.Gray
                    }
                    val r = if (m.mark == StopMark.NEXT) 9.dp.toPx() else 7.dp.toPx()
                    drawCircle(c, r, Offset(m.at.x, m.at.y))
                    if (!m.onPlan) drawCircle(Overdue, r + 3.dp.toPx(), Offset(m.at.x, m.at.y), style = Stroke(2.dp.toPx()))
                }
            }
        }
        view?.let { v ->
            Text(
                v.markers.joinToString("  ") { it.label },
                style = MaterialTheme.typography.bodySmall,
            )
            if (v.source == PlanSource.CHECKPOINT_BOX) {
                Text(
                    if (lang == app.patrol.logic.Lang.EN) "No site plan on the phone yet: checkpoints and track to scale, north up."
                    else "本机暂无小区平面图：按比例显示点位与轨迹，上北下南。",
                    style = MaterialTheme.typography.bodySmall,
                )
            }
        }
    }
}
