// Location sampling while a run is open: a foreground service with a notification (the
// person sees that the track is recorded), writing fixes to the core in batches.
package app.patrol.android.location

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.core.app.ServiceCompat
import androidx.core.content.ContextCompat
import androidx.lifecycle.LifecycleService
import androidx.lifecycle.lifecycleScope
import app.patrol.android.MainActivity
import app.patrol.android.PatrolApp
import app.patrol.android.R
import app.patrol.android.platform.fixes
import app.patrol.logic.TrackRecorder
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext

class RunLocationService : LifecycleService() {
    private var recorder: TrackRecorder? = null
    private var sampling: Job? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        super.onStartCommand(intent, flags, startId)
        val runId = intent?.getStringExtra(EXTRA_RUN) ?: return START_NOT_STICKY
        try {
            ServiceCompat.startForeground(
                this, NOTIFICATION_ID, notification(),
                if (Build.VERSION.SDK_INT >= 29) ServiceInfo.FOREGROUND_SERVICE_TYPE_LOCATION else 0,
            )
        } catch (e: IllegalStateException) {
            // ForegroundServiceStartNotAllowedException (API 31+, an IllegalStateException):
            // the app is not in front. No track until the run screen starts us again.
            stopSelf(startId)
            return START_NOT_STICKY
        } catch (e: SecurityException) {
            // Android 14+: a location service needs the location permission right now.
            stopSelf(startId)
            return START_NOT_STICKY
        }
        if (recorder == null) {
            val rec = TrackRecorder((application as PatrolApp).repo, runId)
            recorder = rec
            sampling = lifecycleScope.launch {
                applicationContext.fixes(intervalMs = 5_000).collect { fix ->
                    runCatching { rec.add(fix) }
                }
            }
        }
        // Not restarted by the system after the process dies: a restart would come from the
        // background, where Android 12+ refuses startForeground (and 14+ a location service
        // without the app in use). The run screen starts the service again when it opens.
        return START_NOT_STICKY
    }

    override fun onDestroy() {
        sampling?.cancel()
        // The last partial batch must reach the core before the process may die.
        recorder?.let { rec -> runBlocking { withContext(NonCancellable) { runCatching { rec.flush() } } } }
        super.onDestroy()
    }

    private fun notification(): Notification {
        val nm = getSystemService(NotificationManager::class.java)
        if (Build.VERSION.SDK_INT >= 26) {
            nm.createNotificationChannel(
                NotificationChannel(CHANNEL, getString(R.string.tracking_channel), NotificationManager.IMPORTANCE_LOW),
            )
        }
        val open = PendingIntent.getActivity(
            this, 0, Intent(this, MainActivity::class.java), PendingIntent.FLAG_IMMUTABLE,
        )
        return NotificationCompat.Builder(this, CHANNEL)
            .setSmallIcon(R.drawable.ic_patrol)
            .setContentTitle(getString(R.string.tracking_title))
            .setContentText(getString(R.string.tracking_text))
            .setOngoing(true)
            .setContentIntent(open)
            .build()
    }

    companion object {
        private const val CHANNEL = "patrol-track"
        private const val NOTIFICATION_ID = 17
        private const val EXTRA_RUN = "run"

        /** Starts recording; false when Android refuses (the app is not in front, API 31+). */
        fun start(context: Context, runId: String): Boolean = try {
            ContextCompat.startForegroundService(
                context, Intent(context, RunLocationService::class.java).putExtra(EXTRA_RUN, runId),
            )
            true
        } catch (e: IllegalStateException) {
            // ForegroundServiceStartNotAllowedException is an IllegalStateException.
            false
        }

        fun stop(context: Context) {
            context.stopService(Intent(context, RunLocationService::class.java))
        }
    }
}
