// The plan screen of a run: its checkpoints (from the route, with the run's visits) and
// its walked track, read from the core and handed to PlanModel. Works offline: all of it
// is in the phone's store.
package app.patrol.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import uniffi.patrol_core.RunDetail
import uniffi.patrol_protocol.Checkpoint
import uniffi.patrol_protocol.TrackPoint

/** The plan's stops for a run: route order and visits from [detail], positions from [checkpoints]. */
fun planStops(detail: RunDetail, checkpoints: List<Checkpoint>, lang: Lang): List<PlanStop> {
    val where = checkpoints.associateBy { it.id }
    return detail.checkpoints.mapNotNull { rc ->
        // A checkpoint the phone has no coordinates for cannot be placed; it stays in the list screen.
        val c = where[rc.checkpoint.checkpointId] ?: return@mapNotNull null
        PlanStop(
            checkpointId = c.id,
            position = rc.position.toInt(),
            label = "${rc.position} ${lang.pick(rc.checkpoint.nameZh, rc.checkpoint.nameEn)}",
            latitude = c.latitude,
            longitude = c.longitude,
            visited = rc.visit != null,
        )
    }
}

fun List<TrackPoint>.planFixes(): List<PlanFix> = map { PlanFix(it.timeMs, it.latitude, it.longitude) }

class PlanScreenModel(private val repo: PatrolRepository, scope: CoroutineScope) : ScreenModel(scope) {
    private val _view = MutableStateFlow<PlanView?>(null)
    /** Null until loaded, or when the route has no checkpoint with coordinates. */
    val view: StateFlow<PlanView?> = _view.asStateFlow()

    /** [canvasWidthPx] × [canvasHeightPx]: the space the screen has for the plan. */
    fun load(runId: String, lang: Lang, canvasWidthPx: Int, canvasHeightPx: Int, plan: PlanGeoref? = null) = act {
        val d = repo.runDetail(runId)
        val stops = planStops(d, repo.routeCheckpoints(d.routeId), lang)
        val track = repo.trackPoints(runId).planFixes()
        _view.value = PlanModel.build(plan, stops, track, canvasWidthPx, canvasHeightPx, finished = d.finishedMs != null)
    }
}
