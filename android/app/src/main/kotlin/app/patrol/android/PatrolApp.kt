// The process: opens the one core for the app's data directory, its store encrypted with
// the per-install key kept by the Android Keystore, and asks WorkManager for a sync
// whenever records wait.
package app.patrol.android

import android.app.Application
import app.patrol.android.platform.DeviceSecret
import app.patrol.android.platform.Fonts
import app.patrol.android.sync.SyncWorker
import app.patrol.logic.PatrolRepository
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
    lateinit var repo: PatrolRepository
        private set

    /** Lives as long as the process: background reactions to what the screens record. */
    val appScope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    @OptIn(FlowPreview::class)
    override fun onCreate() {
        super.onCreate()
        val core = openCore()
        repo = PatrolRepository(core)
        SyncWorker.schedulePeriodic(this)
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
    private fun openCore(): PatrolCore {
        fun config(key: ByteArray) = CoreConfig(
            dataDir = File(filesDir, "patrol").path,
            deviceId = null,
            fontPath = Fonts.cjkFontPath(this),
            photoMaxLongEdge = null,
            jpegQuality = null,
            storeKey = key,
        )
        return try {
            PatrolCore.open(config(DeviceSecret.getOrCreate(this)))
        } catch (e: PatrolException.WrongKey) {
            val pending = DeviceSecret.pending(this) ?: throw e
            PatrolCore.open(config(pending)).also { DeviceSecret.promotePending(this) }
        }
    }
}
