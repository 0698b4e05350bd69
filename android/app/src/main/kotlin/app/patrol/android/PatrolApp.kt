// The process: opens the one core for the app's data directory, its store encrypted with
// the per-install key kept by the Android Keystore, and asks WorkManager for a sync
// whenever records wait. With the app lock on (StoreKeyLock), the store key needs the
// person's fingerprint, face or screen lock: the core opens at the first unlock after the
// process starts, and stays open while the process lives (background sync keeps running).
package app.patrol.android

import android.app.Application
import app.patrol.android.platform.DeviceSecret
import app.patrol.android.platform.Fonts
import app.patrol.android.platform.StoreKeyLock
import app.patrol.android.sync.SyncWorker
import app.patrol.logic.AppLock
import app.patrol.logic.PatrolRepository
import app.patrol.logic.PendingLink
import java.io.File
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.FlowPreview
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.debounce
import kotlinx.coroutines.launch
import uniffi.patrol_core.CoreConfig
import uniffi.patrol_core.PatrolCore
import uniffi.patrol_core.PatrolException

class PatrolApp : Application() {
    @Volatile
    private var opened: PatrolRepository? = null

    /** The repository; only after [isOpen] (at once without the app lock, after the first unlock with it). */
    val repo: PatrolRepository get() = checkNotNull(opened) { "the store is locked" }

    val isOpen: Boolean get() = opened != null

    /** Null while the app lock keeps the store closed. */
    val repoOrNull: PatrolRepository? get() = opened

    /** The app lock's state for this process (app-logic's policy). */
    lateinit var lock: AppLock
        private set

    /** A notice link that came in before the screens could follow it (app-logic). */
    val pendingLink = PendingLink()

    /** The store key of the open core, kept for turning the lock on or off. */
    @Volatile
    internal var storeKey: ByteArray? = null
        private set

    /** Lives as long as the process: background reactions to what the screens record. */
    val appScope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    override fun onCreate() {
        super.onCreate()
        lock = AppLock(enabled = StoreKeyLock.isEnabled(this), lockAfterMs = StoreKeyLock.lockAfterMs(this))
        if (!lock.enabled) open(DeviceSecret.getOrCreate(this))
        SyncWorker.schedulePeriodic(this)
    }

    /** Opens the core with [key] (from DeviceSecret, or from StoreKeyLock.unlock); once per process. */
    @OptIn(FlowPreview::class)
    @Synchronized
    fun open(key: ByteArray) {
        if (opened != null) return
        val core = openCore(key)
        storeKey = key
        val repo = PatrolRepository(core)
        opened = repo
        appScope.launch {
            // Something was recorded: sync as soon as there is a network (WorkManager
            // waits for it), but not once per tap.
            repo.revision.debounce(3_000).collect {
                val state = runCatching { repo.syncState() }.getOrNull() ?: return@collect
                if (state.signedInTo != null && (state.queuedRecords > 0u || state.queuedPhotos > 0u)) {
                    SyncWorker.syncWhenOnline(this@PatrolApp)
                }
            }
        }
    }

    /** The core over the encrypted store. A store the key does not open is tried with the
     *  key of a key change a kill cut short; otherwise the error stands (the records may
     *  not be on the server yet: never delete the store or make a new key here). */
    private fun openCore(key: ByteArray): PatrolCore {
        fun config(key: ByteArray) = CoreConfig(
            dataDir = File(filesDir, "patrol").path,
            deviceId = null,
            fontPath = Fonts.cjkFontPath(this),
            photoMaxLongEdge = null,
            jpegQuality = null,
            storeKey = key,
        )
        return try {
            PatrolCore.open(config(key))
        } catch (e: PatrolException.WrongKey) {
            val pending = DeviceSecret.pending(this) ?: throw e
            PatrolCore.open(config(pending)).also { DeviceSecret.promotePending(this) }
        }
    }
}
