// The app's one door to the core: every call runs on the I/O dispatcher (the core does
// disk and network I/O and must never run on the main thread), and every write bumps
// `revision` so the screens that show the data reload.
package app.patrol.logic

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.withContext
import uniffi.patrol_core.CheckInMethod
import uniffi.patrol_core.FaultDraft
import uniffi.patrol_core.FaultMonth
import uniffi.patrol_core.NoticeDraft
import uniffi.patrol_core.NoticeView
import uniffi.patrol_core.PatrolCore
import uniffi.patrol_core.PhotoInput
import uniffi.patrol_core.PhotoSource
import uniffi.patrol_core.PlannedRun
import uniffi.patrol_core.RejectionLine
import uniffi.patrol_core.RunDetail
import uniffi.patrol_core.RunListItem
import uniffi.patrol_core.RunSummary
import uniffi.patrol_core.SignedInPerson
import uniffi.patrol_core.StoredPhoto
import uniffi.patrol_core.SyncCancel
import uniffi.patrol_core.SyncListener
import uniffi.patrol_core.SyncReport
import uniffi.patrol_core.SyncState
import uniffi.patrol_core.Visit
import uniffi.patrol_protocol.Checkpoint
import uniffi.patrol_protocol.Department
import uniffi.patrol_protocol.FaultAction
import uniffi.patrol_protocol.FaultRule
import uniffi.patrol_protocol.FaultView
import uniffi.patrol_protocol.Id
import uniffi.patrol_protocol.ItemOutcome
import uniffi.patrol_protocol.NoticeAction
import uniffi.patrol_protocol.PhotoContext
import uniffi.patrol_protocol.Site
import uniffi.patrol_protocol.TrackPoint

class PatrolRepository(
    private val core: PatrolCore,
    private val io: CoroutineDispatcher = Dispatchers.IO,
) {
    private val _revision = MutableStateFlow(0L)

    /** Bumped after every call that changed what a screen shows. */
    val revision: StateFlow<Long> = _revision.asStateFlow()

    private suspend fun <T> read(block: PatrolCore.() -> T): T = withContext(io) { core.block() }

    private suspend fun <T> write(block: PatrolCore.() -> T): T = withContext(io) {
        try {
            core.block()
        } finally {
            // A refused call changes nothing, but bumping anyway is harmless and keeps
            // screens honest after a partial sync.
            _revision.value += 1
        }
    }

    // Session
    suspend fun login(serverUrl: String, login: String, password: String): SignedInPerson =
        write { login(serverUrl.trimEnd('/'), login.trim(), password) }
    suspend fun logout() = write { logout() }
    suspend fun person(): SignedInPerson? = read { signedInPerson() }
    suspend fun deviceId(): Id = read { deviceId() }

    // Reference data
    suspend fun sites(): List<Site> = read { sites() }
    suspend fun departments(siteId: Id): List<Department> = read { departments(siteId) }
    suspend fun routeCheckpoints(routeId: Id): List<Checkpoint> = read { routeCheckpoints(routeId) }

    // Patrols
    suspend fun todayPlan(): List<PlannedRun> = read { todayPlan() }
    suspend fun startRun(routeId: Id): RunDetail = write { startRun(routeId) }
    suspend fun runDetail(runId: Id): RunDetail = read { runDetail(runId) }
    suspend fun trackPoints(runId: Id): List<TrackPoint> = read { trackPoints(runId) }
    suspend fun checkIn(runId: Id, checkpointId: Id, method: CheckInMethod): Visit =
        write { checkIn(runId, checkpointId, method) }
    suspend fun recordItem(runId: Id, checkpointId: Id, itemId: Id, outcome: ItemOutcome, note: String) =
        write { recordItem(runId, checkpointId, itemId, outcome, note) }
    suspend fun appendTrack(runId: Id, points: List<TrackPoint>): ULong = write { appendTrackPoints(runId, points) }
    suspend fun finishRun(runId: Id, missedReason: String?): RunSummary = write { finishRun(runId, missedReason) }
    suspend fun runs(limit: Int = 100): List<RunListItem> = read { listRuns(limit.toUInt()) }

    // Photos: bytes from the camera (JPEG) or a signature pad (PNG); the core watermarks,
    // scales and stores them, and names them by SHA-256.
    suspend fun addPhoto(
        bytes: ByteArray,
        context: PhotoContext,
        siteId: Id?,
        latitude: Double? = null,
        longitude: Double? = null,
        capturedAtMs: Long? = null,
    ): StoredPhoto = write {
        addPhoto(PhotoInput(PhotoSource.Bytes(bytes), context, siteId, capturedAtMs, latitude, longitude))
    }

    // Markup layers over this phone's photos: MarkupModel edits one in memory; reading the
    // layer shown now and recording a new one are core calls, so they run here.
    suspend fun openMarkup(sha256: String, frame: PhotoFrame): MarkupModel = read { MarkupModel.load(this, sha256, frame) }
    suspend fun saveMarkup(model: MarkupModel): MarkupOutcome = write { model.save() }

    // Notices
    suspend fun createNotice(draft: NoticeDraft): NoticeView = write { createNotice(draft) }
    suspend fun act(noticeId: Id, action: NoticeAction, reason: String = "", photos: List<String> = emptyList(), reassignTo: Id? = null): NoticeView =
        write { actOnNotice(noticeId, action, reason, photos, reassignTo) }
    suspend fun notice(noticeId: Id): NoticeView = read { notice(noticeId) }
    suspend fun notices(limit: Int = 200): List<NoticeView> = read { listNotices(limit.toUInt()) }

    // Staff fault notices (员工过失通知单)
    suspend fun faultRules(): List<FaultRule> = read { faultRules() }
    suspend fun issueFault(draft: FaultDraft): Id = write { issueFault(draft) }
    suspend fun actOnFault(faultId: Id, action: FaultAction, reason: String = ""): Unit = write { actOnFault(faultId, action, reason) }
    suspend fun fault(faultId: Id): FaultView = read { fault(faultId) }
    suspend fun faults(month: String?, limit: Int = 500): List<FaultView> = read { listFaults(month, limit.toUInt()) }
    suspend fun faultMonth(month: String): FaultMonth = read { myFaultMonth(month) }

    // Sync
    suspend fun syncState(): SyncState = read { syncState() }
    suspend fun rejections(limit: Int = 100): List<RejectionLine> = read { rejections(limit.toUInt()) }
    suspend fun sync(listener: SyncListener?, cancel: SyncCancel?): SyncReport = write { sync(listener, cancel) }

    /** Blocking sync for callers that already are on a worker thread (WorkManager, tests). */
    fun syncBlocking(listener: SyncListener? = null): SyncReport =
        try { core.sync(listener, null) } finally { _revision.value += 1 }
}
