// A patrol run: the route's checkpoints in walking order with progress, the four ways
// of proving a visit, checklist results, photos, and finishing (with a reason when
// checkpoints were missed).
package app.patrol.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import uniffi.patrol_core.CheckInMethod
import uniffi.patrol_core.RunCheckpoint
import uniffi.patrol_core.RunDetail
import uniffi.patrol_core.RunSummary
import uniffi.patrol_core.Visit
import uniffi.patrol_core.qrLabelMatches
import uniffi.patrol_protocol.Checkpoint
import uniffi.patrol_protocol.Id
import uniffi.patrol_protocol.ItemOutcome
import uniffi.patrol_protocol.PhotoContext

/** NFC ids come as "04:A2:…", "04a2…" or "04-A2-…"; compared in the protocol's one spelling. */
fun nfcSpelling(tag: String): String = tag.filterNot { it == ':' || it == '-' || it == ' ' }.uppercase()

/** A tag's id bytes as the platform reads them, in that spelling. */
fun nfcSpelling(id: ByteArray): String = id.joinToString("") { "%02X".format(it) }

data class RunProgress(val visited: Int, val total: Int) {
    val fraction: Float get() = if (total == 0) 0f else visited.toFloat() / total
}

/** A GPS fix as the platform reports it. */
data class Fix(val latitude: Double, val longitude: Double, val accuracyM: Double, val timeMs: Long)

class RunModel(private val repo: PatrolRepository, scope: CoroutineScope) : ScreenModel(scope) {
    private val _detail = MutableStateFlow<RunDetail?>(null)
    val detail: StateFlow<RunDetail?> = _detail.asStateFlow()

    private val _lastVisit = MutableStateFlow<Visit?>(null)
    /** The visit just recorded, for a confirmation (with the distance for a GPS check-in). */
    val lastVisit: StateFlow<Visit?> = _lastVisit.asStateFlow()

    private val _summary = MutableStateFlow<RunSummary?>(null)
    val summary: StateFlow<RunSummary?> = _summary.asStateFlow()

    private val _photos = MutableStateFlow<List<String>>(emptyList())
    /** Photos taken during this run on this screen (SHA-256 names, thumbnails by path in the core). */
    val photos: StateFlow<List<String>> = _photos.asStateFlow()

    /** The route's checkpoints with their QR tokens and NFC tag ids, to tell which one was scanned. */
    private var checkpoints: List<Checkpoint> = emptyList()

    fun load(runId: Id) = act { reload(runId) }

    private suspend fun reload(runId: Id) {
        val d = repo.runDetail(runId)
        if (checkpoints.isEmpty()) checkpoints = repo.routeCheckpoints(d.routeId)
        _detail.value = d
        _photos.value = d.photos
    }

    private fun runId(): Id = checkNotNull(_detail.value) { "no run loaded" }.runId

    fun progress(): RunProgress {
        val d = _detail.value ?: return RunProgress(0, 0)
        return RunProgress(d.checkpoints.count { it.visit != null }, d.checkpoints.size)
    }

    /** The first checkpoint of the route not yet visited: where the person should go next. */
    fun nextCheckpoint(): RunCheckpoint? = _detail.value?.checkpoints?.firstOrNull { it.visit == null }

    fun checkpoint(id: Id): Checkpoint? = checkpoints.firstOrNull { it.id == id }

    /**
     * Which checkpoint a scanned QR belongs to: the route's checkpoint whose label it is
     * (the phone holds only each label's digest, so the core decides), else the next one
     * due (the core then refuses the wrong code with a reason).
     */
    fun checkpointForQr(payload: String): Id? =
        checkpoints.firstOrNull { qrLabelMatches(it, payload) }?.id ?: nextCheckpoint()?.checkpoint?.checkpointId

    fun checkpointForNfc(tagId: String): Id? =
        checkpoints.firstOrNull { cp -> cp.nfcTagId?.let { nfcSpelling(it) } == nfcSpelling(tagId) }?.id
            ?: nextCheckpoint()?.checkpoint?.checkpointId

    fun checkInQr(payload: String, checkpointId: Id? = null) = checkIn(checkpointId ?: checkpointForQr(payload), CheckInMethod.Qr(payload))

    fun checkInNfc(tagId: String, checkpointId: Id? = null) = checkIn(checkpointId ?: checkpointForNfc(tagId), CheckInMethod.Nfc(tagId))

    fun checkInGps(checkpointId: Id, fix: Fix) =
        checkIn(checkpointId, CheckInMethod.Gps(fix.latitude, fix.longitude, fix.accuracyM))

    fun checkInManual(checkpointId: Id, reason: String) = checkIn(checkpointId, CheckInMethod.Manual(reason))

    private fun checkIn(checkpointId: Id?, method: CheckInMethod) = act {
        val cp = checkNotNull(checkpointId) { "every checkpoint of this run is visited" }
        val run = runId()
        _lastVisit.value = repo.checkIn(run, cp, method)
        reload(run)
    }

    fun recordItem(checkpointId: Id, itemId: Id, outcome: ItemOutcome, note: String = "") = act {
        val run = runId()
        repo.recordItem(run, checkpointId, itemId, outcome, note)
        reload(run)
    }

    fun addPhoto(bytes: ByteArray, checkpointId: Id?, fix: Fix?) = act {
        val d = checkNotNull(_detail.value)
        val stored = repo.addPhoto(bytes, PhotoContext(d.runId, checkpointId, null), d.siteId, fix?.latitude, fix?.longitude)
        _photos.value = (_photos.value + stored.sha256).distinct()
    }

    fun finish(missedReason: String?) = act {
        val run = runId()
        _summary.value = repo.finishRun(run, missedReason?.takeIf { it.isNotBlank() })
        reload(run)
    }
}
