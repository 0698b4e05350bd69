// Background sync with WorkManager: a periodic job, and a one-off job each time records
// wait, both held back until there is a network, so a patrol walked in a basement
// syncs by itself when the network returns.
package app.patrol.android.sync

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import app.patrol.android.PatrolApp
import app.patrol.logic.BackgroundOutcome
import app.patrol.logic.backgroundSync
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        // With the app lock on, the store stays closed from the process start until the
        // person unlocks once: nothing to pull into; the next periodic run tries again.
        val repo = (applicationContext as PatrolApp).repoOrNull ?: return Result.success()
        // The core blocks on the network: run it on the I/O pool, not WorkManager's default.
        return when (withContext(Dispatchers.IO) { backgroundSync(repo) }) {
            BackgroundOutcome.DONE -> Result.success()
            BackgroundOutcome.RETRY_LATER -> Result.retry()
            // Signed out or app outdated: the person has to act; the sync screen says so.
            BackgroundOutcome.STOP -> Result.failure()
        }
    }

    companion object {
        private const val PERIODIC = "patrol-sync-periodic"
        private const val SOON = "patrol-sync-soon"

        private val online = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

        fun schedulePeriodic(context: Context) {
            val req = PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
                .setConstraints(online)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, req)
        }

        /** Runs once as soon as the phone is online; repeated calls while it waits are one job. */
        fun syncWhenOnline(context: Context) {
            val req = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(online)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(SOON, ExistingWorkPolicy.KEEP, req)
        }
    }
}
