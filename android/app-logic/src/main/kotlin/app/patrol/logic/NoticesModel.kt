// The notices inbox: what is addressed to me or raised by me, overdue first; the head's
// sign for receipt (with a drawn signature), report fix (with after-photos) and
// dispute; the issuer's verification.
package app.patrol.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import uniffi.patrol_core.NoticeView
import uniffi.patrol_core.PatrolException
import uniffi.patrol_protocol.Id
import uniffi.patrol_protocol.NoticeAction
import uniffi.patrol_protocol.NoticeState
import uniffi.patrol_protocol.PhotoContext

enum class InboxFilter { TO_DO, OPEN, ALL }

/** Overdue first, then what waits for me, then by due time; closed and voided last. */
val inboxOrder: Comparator<NoticeView> = compareBy<NoticeView>(
    { !it.overdue },
    { it.state == NoticeState.CLOSED || it.state == NoticeState.VOIDED },
    { it.allowedActions.isEmpty() },
    { it.dueMs },
)

fun List<NoticeView>.inbox(filter: InboxFilter): List<NoticeView> = filter { n ->
    when (filter) {
        InboxFilter.TO_DO -> n.allowedActions.isNotEmpty()
        InboxFilter.OPEN -> n.state != NoticeState.CLOSED && n.state != NoticeState.VOIDED
        InboxFilter.ALL -> true
    }
}.sortedWith(inboxOrder)

class NoticesModel(private val repo: PatrolRepository, scope: CoroutineScope) : ScreenModel(scope) {
    private val _filter = MutableStateFlow(InboxFilter.TO_DO)
    val filter: StateFlow<InboxFilter> = _filter.asStateFlow()

    private val _notices = MutableStateFlow<List<NoticeView>>(emptyList())
    val notices: StateFlow<List<NoticeView>> = _notices.asStateFlow()

    private val _selected = MutableStateFlow<NoticeView?>(null)
    val selected: StateFlow<NoticeView?> = _selected.asStateFlow()

    /** After-photos (or a signature) stored for the action being prepared. */
    private val _pendingPhotos = MutableStateFlow<List<String>>(emptyList())
    val pendingPhotos: StateFlow<List<String>> = _pendingPhotos.asStateFlow()

    private var all: List<NoticeView> = emptyList()

    fun refresh() = act { reload() }

    private suspend fun reload() {
        all = repo.notices()
        _notices.value = all.inbox(_filter.value)
        _selected.value?.let { s -> _selected.value = all.firstOrNull { it.noticeId == s.noticeId } }
    }

    fun setFilter(f: InboxFilter) {
        _filter.value = f
        _notices.value = all.inbox(f)
    }

    fun select(id: Id) = act {
        _pendingPhotos.value = emptyList()
        _selected.value = repo.notice(id)
    }

    /**
     * Opens a notice: from the inbox, or from a message link (DeepLinkRouter), which may
     * come before the background pull brought the notice; then one sync runs first. A notice still unknown after it (not
     * this person's, or a wrong link) is refused with the core's not-found error.
     */
    fun open(id: Id) = act {
        _pendingPhotos.value = emptyList()
        _selected.value = null
        _selected.value = try {
            repo.notice(id)
        } catch (e: PatrolException.NotFound) {
            repo.sync(null, null)
            repo.notice(id)
        }
    }

    private fun selectedId(): Id = checkNotNull(_selected.value) { "no notice selected" }.noticeId

    /** Signs for receipt; the drawn signature (a PNG) is stored as the action's photo. */
    fun signForReceipt(signaturePng: ByteArray?) = act {
        val n = checkNotNull(_selected.value)
        val photos = signaturePng?.let {
            listOf(repo.addPhoto(it, PhotoContext(null, null, n.noticeId), n.siteId).sha256)
        }.orEmpty()
        perform(NoticeAction.ACKNOWLEDGE, "", photos)
    }

    fun addAfterPhoto(bytes: ByteArray, fix: Fix?) = act {
        val n = checkNotNull(_selected.value)
        val sha = repo.addPhoto(bytes, PhotoContext(null, n.checkpointId, n.noticeId), n.siteId, fix?.latitude, fix?.longitude).sha256
        _pendingPhotos.value = (_pendingPhotos.value + sha).distinct()
    }

    fun reportFix(note: String) = act { perform(NoticeAction.REPORT_FIX, note, _pendingPhotos.value) }
    fun dispute(reason: String) = act { perform(NoticeAction.DISPUTE, reason, emptyList()) }
    fun verify(pass: Boolean, reason: String) =
        act { perform(if (pass) NoticeAction.VERIFY_PASS else NoticeAction.VERIFY_FAIL, reason, _pendingPhotos.value) }
    fun correctiveAction(report: String) = act { perform(NoticeAction.CORRECTIVE_ACTION, report, emptyList()) }

    private suspend fun perform(action: NoticeAction, reason: String, photos: List<String>) {
        _selected.value = repo.act(selectedId(), action, reason, photos)
        // The photos prepared went with this action; an action without photos (a
        // corrective-action report between two photos) leaves them for the next one.
        if (photos.isNotEmpty()) _pendingPhotos.value = _pendingPhotos.value - photos.toSet()
        reload()
    }
}

/** The buttons a notice's screen shows, from the core's `allowedActions`. */
fun NoticeView.can(action: NoticeAction): Boolean = action in allowedActions
