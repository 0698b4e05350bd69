// Times and sizes as people read them: site-local clock times (each site has its own
// UTC offset, which need not be the phone's), and byte counts.
package app.patrol.logic

import java.time.Instant
import java.time.YearMonth
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter

object Formats {
    private val hm = DateTimeFormatter.ofPattern("HH:mm")
    private val dayHm = DateTimeFormatter.ofPattern("MM-dd HH:mm")

    fun clock(ms: Long, utcOffsetMinutes: Int): String =
        hm.format(Instant.ofEpochMilli(ms).atOffset(ZoneOffset.ofTotalSeconds(utcOffsetMinutes * 60)))

    fun dayClock(ms: Long, utcOffsetMinutes: Int): String =
        dayHm.format(Instant.ofEpochMilli(ms).atOffset(ZoneOffset.ofTotalSeconds(utcOffsetMinutes * 60)))

    /** The month (YYYY-MM) an instant falls in at a site, as the server counts fault notices. */
    fun month(ms: Long, utcOffsetMinutes: Int): String =
        YearMonth.from(Instant.ofEpochMilli(ms).atOffset(ZoneOffset.ofTotalSeconds(utcOffsetMinutes * 60))).toString()

    fun window(startMs: Long, endMs: Long, utcOffsetMinutes: Int): String =
        "${clock(startMs, utcOffsetMinutes)}–${clock(endMs, utcOffsetMinutes)}"

    fun bytes(n: ULong): String {
        val v = n.toDouble()
        return when {
            v >= 1024.0 * 1024 -> "%.1f MB".format(v / (1024 * 1024))
            v >= 1024.0 -> "%.0f KB".format(v / 1024)
            else -> "$n B"
        }
    }

    fun duration(ms: Long): String {
        val min = ms / 60_000
        return if (min >= 60) "${min / 60} h ${min % 60} min" else "$min min"
    }
}
