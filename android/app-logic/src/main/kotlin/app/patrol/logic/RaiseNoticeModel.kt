// Raising a rectification notice on the spot, offline: department, severity, due time,
// description, photos. The server numbers it at the next sync ("number pending" until then).
package app.patrol.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import uniffi.patrol_core.NoticeDraft
import uniffi.patrol_core.NoticeView
import uniffi.patrol_protocol.Department
import uniffi.patrol_protocol.Id
import uniffi.patrol_protocol.PhotoContext
import uniffi.patrol_protocol.Severity

data class NoticeForm(
    val siteId: Id? = null,
    val departments: List<Department> = emptyList(),
    val departmentId: Id? = null,
    val severity: Severity = Severity.GENERAL,
    /** Hours from now until the fix is due. */
    val dueInHours: Int = DEFAULT_DUE_HOURS,
    val location: String = "",
    val description: String = "",
    val checkpointId: Id? = null,
    val runId: Id? = null,
    val photos: List<String> = emptyList(),
) {
    companion object {
        /** The regulations chase a complaint after 48 hours; a serious problem the same day. */
        const val DEFAULT_DUE_HOURS = 48
        const val SERIOUS_DUE_HOURS = 24
        val DUE_CHOICES = listOf(4, 24, 48, 72, 168)
    }
}

class RaiseNoticeModel(
    private val repo: PatrolRepository,
    scope: CoroutineScope,
    private val now: () -> Long = System::currentTimeMillis,
) : ScreenModel(scope) {
    private val _form = MutableStateFlow(NoticeForm())
    val form: StateFlow<NoticeForm> = _form.asStateFlow()

    private val _created = MutableStateFlow<NoticeView?>(null)
    val created: StateFlow<NoticeView?> = _created.asStateFlow()

    /** Opens the form for a site, optionally from a run at a checkpoint (the location is prefilled). */
    fun open(siteId: Id? = null, runId: Id? = null, checkpointId: Id? = null, location: String = ""): kotlinx.coroutines.Job {
        // Cleared at once, not in the coroutine: a screen opened right after this call
        // must not see the previous notice as just created.
        _created.value = null
        _form.value = NoticeForm(siteId = siteId, runId = runId, checkpointId = checkpointId, location = location)
        return act {
            val site = siteId ?: repo.sites().firstOrNull()?.id
            val depts = site?.let { repo.departments(it) }.orEmpty()
            _form.update { it.copy(siteId = site, departments = depts) }
        }
    }

    fun department(id: Id) = _form.update { it.copy(departmentId = id) }
    fun description(text: String) = _form.update { it.copy(description = text) }
    fun location(text: String) = _form.update { it.copy(location = text) }
    fun dueInHours(h: Int) = _form.update { it.copy(dueInHours = h) }
    fun severity(s: Severity) = _form.update {
        val due = if (s == Severity.SERIOUS) minOf(it.dueInHours, NoticeForm.SERIOUS_DUE_HOURS) else it.dueInHours
        it.copy(severity = s, dueInHours = due)
    }

    fun addPhoto(bytes: ByteArray, fix: Fix?) = act {
        val f = _form.value
        val stored = repo.addPhoto(bytes, PhotoContext(f.runId, f.checkpointId, null), f.siteId, fix?.latitude, fix?.longitude)
        _form.update { it.copy(photos = (it.photos + stored.sha256).distinct()) }
    }

    fun removePhoto(sha: String) = _form.update { it.copy(photos = it.photos - sha) }

    fun submit() = act {
        val f = _form.value
        val site = f.siteId ?: throw IllegalStateException("no site: sync first")
        val dept = f.departmentId ?: throw uniffi.patrol_core.PatrolException.InvalidInput(
            "department_id", "choose the department", "请选择责任部门",
        )
        _created.value = repo.createNotice(
            NoticeDraft(
                siteId = site,
                departmentId = dept,
                checkpointId = f.checkpointId,
                location = f.location,
                runId = f.runId,
                description = f.description,
                severity = f.severity,
                dueMs = now() + f.dueInHours * 3_600_000L,
                photos = f.photos,
            ),
        )
    }
}
