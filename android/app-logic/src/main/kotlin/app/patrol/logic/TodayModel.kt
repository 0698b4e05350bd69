// Today's patrols: the runs the schedules expect of this person, each with its window
// in site-local time and its status; starting or resuming one.
package app.patrol.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import uniffi.patrol_core.PlanStatus
import uniffi.patrol_core.PlannedRun
import uniffi.patrol_protocol.Id

data class PlanLine(
    val planned: PlannedRun,
    /** "08:00–10:00" in the site's local time. */
    val window: String,
    val routeName: String,
    val statusZh: String,
    val statusEn: String,
) {
    /** A run can be started while the window is open or missed (late is better than never). */
    val canStart: Boolean get() = planned.status == PlanStatus.PENDING || planned.status == PlanStatus.MISSED
    val canResume: Boolean get() = planned.status == PlanStatus.IN_PROGRESS && planned.runId != null
}

fun PlanStatus.zh(): String = when (this) {
    PlanStatus.DONE -> "已完成"
    PlanStatus.IN_PROGRESS -> "进行中"
    PlanStatus.PENDING -> "待巡检"
    PlanStatus.MISSED -> "已漏检"
}

fun PlanStatus.en(): String = when (this) {
    PlanStatus.DONE -> "Done"
    PlanStatus.IN_PROGRESS -> "In progress"
    PlanStatus.PENDING -> "Due"
    PlanStatus.MISSED -> "Missed"
}

class TodayModel(
    private val repo: PatrolRepository,
    scope: CoroutineScope,
    private val lang: () -> Lang = { Lang.ZH },
) : ScreenModel(scope) {
    private val _plan = MutableStateFlow<List<PlanLine>>(emptyList())
    val plan: StateFlow<List<PlanLine>> = _plan.asStateFlow()

    /** The run to open after a start or resume; the screen navigates and clears it. */
    private val _openRun = MutableStateFlow<Id?>(null)
    val openRun: StateFlow<Id?> = _openRun.asStateFlow()

    fun refresh() = act { _plan.value = load() }

    private suspend fun load(): List<PlanLine> {
        val offsets = repo.sites().associate { it.id to it.utcOffsetMinutes }
        return repo.todayPlan().map { p ->
            val offset = offsets[p.siteId] ?: 480
            PlanLine(
                planned = p,
                window = Formats.window(p.windowStartMs, p.windowEndMs, offset),
                routeName = lang().pick(p.routeNameZh, p.routeNameEn),
                statusZh = p.status.zh(),
                statusEn = p.status.en(),
            )
        }
    }

    fun startOrResume(line: PlanLine) = act {
        val id = line.planned.runId?.takeIf { line.canResume } ?: repo.startRun(line.planned.routeId).runId
        _plan.value = load()
        _openRun.value = id
    }

    fun runOpened() {
        _openRun.value = null
    }
}
