// The process: opens the one core for the app's data directory, keeps the per-install
// secret in the Android Keystore, and asks WorkManager for a sync whenever records wait.
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

class PatrolApp : Application() {
    lateinit var repo: PatrolRepository
        private set

    /** Lives as long as the process: background reactions to what the screens record. */
    val appScope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    @OptIn(FlowPreview::class)
    override fun onCreate() {
        super.onCreate()
        // The key for encryption at rest. The core has no key parameter yet (see
        // android/README.md): the secret is made and kept now so that turning encryption
        // on later needs no migration of the Keystore side.
        DeviceSecret.getOrCreate(this)
        val core = PatrolCore.open(
            CoreConfig(
                dataDir = File(filesDir, "patrol").path,
                deviceId = null,
                fontPath = Fonts.cjkFontPath(this),
                photoMaxLongEdge = null,
                jpegQuality = null,
            ),
        )
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
}
