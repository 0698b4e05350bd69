// Location samples during a run, buffered and written to the core in batches: one
// record per batch keeps the chain short (32 bytes a point on disk) and the writes rare.
package app.patrol.logic

import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import uniffi.patrol_protocol.Id
import uniffi.patrol_protocol.TrackPoint

class TrackRecorder(
    private val repo: PatrolRepository,
    private val runId: Id,
    private val batchSize: Int = 30,
    private val maxAgeMs: Long = 120_000,
    /** Fixes worse than this are not evidence of anything; they are dropped. */
    private val worstAccuracyM: Double = 100.0,
) {
    private val lock = Mutex()
    private val buffer = ArrayList<TrackPoint>()
    var written: ULong = 0u
        private set

    /** Adds a fix; writes a batch when it is full or its first point is old enough. */
    suspend fun add(fix: Fix) {
        if (fix.accuracyM > worstAccuracyM || fix.accuracyM < 0) return
        val batch = lock.withLock {
            buffer += TrackPoint(fix.timeMs, fix.latitude, fix.longitude, fix.accuracyM)
            val full = buffer.size >= batchSize || fix.timeMs - buffer.first().timeMs >= maxAgeMs
            if (full) takeAll() else null
        }
        if (batch != null) write(batch)
    }

    /** Writes what is buffered; called when the run ends or the service stops. */
    suspend fun flush() {
        val batch = lock.withLock { takeAll() }
        if (batch.isNotEmpty()) write(batch)
    }

    private fun takeAll(): List<TrackPoint> = buffer.toList().also { buffer.clear() }

    private suspend fun write(batch: List<TrackPoint>) {
        written = repo.appendTrack(runId, batch)
    }

    suspend fun pending(): Int = lock.withLock { buffer.size }
}
