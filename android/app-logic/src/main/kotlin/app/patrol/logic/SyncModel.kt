// Sync status and "sync now": the queued records and photos, the last success or error,
// live progress through the core's SyncListener, and a cancel.
package app.patrol.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import uniffi.patrol_core.RejectionLine
import uniffi.patrol_core.SyncCancel
import uniffi.patrol_core.SyncListener
import uniffi.patrol_core.SyncProgress
import uniffi.patrol_core.SyncReport
import uniffi.patrol_core.SyncState

/** Publishes the core's progress callbacks (made on the syncing thread) as a StateFlow. */
class ProgressFlow : SyncListener {
    private val _progress = MutableStateFlow<SyncProgress?>(null)
    val progress: StateFlow<SyncProgress?> = _progress.asStateFlow()
    val seen = java.util.concurrent.CopyOnWriteArrayList<SyncProgress>()

    override fun onProgress(progress: SyncProgress) {
        seen += progress
        _progress.value = progress
    }

    fun reset() {
        seen.clear()
        _progress.value = null
    }
}

class SyncModel(private val repo: PatrolRepository, scope: CoroutineScope) : ScreenModel(scope) {
    private val _state = MutableStateFlow<SyncState?>(null)
    val state: StateFlow<SyncState?> = _state.asStateFlow()

    private val _report = MutableStateFlow<SyncReport?>(null)
    val lastReport: StateFlow<SyncReport?> = _report.asStateFlow()

    private val _rejections = MutableStateFlow<List<RejectionLine>>(emptyList())
    val rejections: StateFlow<List<RejectionLine>> = _rejections.asStateFlow()

    private val listener = ProgressFlow()
    val progress: StateFlow<SyncProgress?> = listener.progress

    @Volatile private var cancel: SyncCancel? = null

    fun refresh() = act { reload() }

    private suspend fun reload() {
        _state.value = repo.syncState()
        _rejections.value = repo.rejections()
    }

    fun syncNow() = act {
        listener.reset()
        val c = SyncCancel()
        cancel = c
        try {
            _report.value = repo.sync(listener, c)
        } finally {
            cancel = null
            c.close()
            // The state carries the error text too, so reload even after a failure.
            runCatching { reload() }
        }
    }

    fun cancel() {
        cancel?.cancel()
    }
}

/** What a background job should do after one sync attempt. */
enum class BackgroundOutcome { DONE, RETRY_LATER, STOP }

/**
 * One sync from a background job (WorkManager, BGTaskScheduler): network failures are
 * retried later with the platform's backoff; a lost sign-in or an outdated app stop
 * until the person acts.
 */
fun backgroundSync(repo: PatrolRepository): BackgroundOutcome = try {
    repo.syncBlocking()
    BackgroundOutcome.DONE
} catch (e: Exception) {
    when (e.toUiError().kind) {
        ErrorKind.OFFLINE -> BackgroundOutcome.RETRY_LATER
        ErrorKind.SIGN_IN_AGAIN, ErrorKind.UPDATE_APP -> BackgroundOutcome.STOP
        else -> BackgroundOutcome.RETRY_LATER
    }
}
