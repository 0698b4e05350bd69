// The site plan on the phone: the route's checkpoints and the walked track projected to
// pixel coordinates of the plan, each checkpoint marked visited / next / not visited, and
// the track thinned to a bounded number of points so a long run draws as fast as a short
// one. Plain Kotlin and arithmetic only; the Compose screen draws what this returns.
//
// Georeference: the server keeps a plan image with its corner coordinates, but the core
// does not give them (nor the image) to the phones yet. Until it does, `PlanModel.build`
// is called with `plan = null` and draws on a plain canvas whose extent is the
// checkpoints' (and track's) bounding box with a margin, kept true to scale (a metre
// east is as long as a metre north). Given a `PlanGeoref`, it maps onto the image instead.
package app.patrol.logic

import kotlin.math.PI
import kotlin.math.abs
import kotlin.math.cos
import kotlin.math.max
import kotlin.math.sqrt

/** A box in degrees: north > south, east > west. */
data class GeoBox(val north: Double, val south: Double, val east: Double, val west: Double) {
    init {
        require(north > south && east > west) { "empty box: $this" }
    }

    val midLatitude: Double get() = (north + south) / 2

    /** Width over height in metres (east–west shrinks by cos(latitude)). */
    val aspect: Double get() = (east - west) * cos(midLatitude * PI / 180) / (north - south)

    companion object {
        private const val METRES_PER_DEGREE = 111_320.0

        /**
         * The box around [points] (lat, lon) grown by [margin] of its size on each side,
         * and at least [minSpanM] metres across, so one checkpoint or a straight line still
         * gives a usable square. Null when there are no points.
         */
        fun around(points: List<Pair<Double, Double>>, margin: Double = 0.1, minSpanM: Double = 60.0): GeoBox? {
            val ok = points.filter { (la, lo) -> la.isFinite() && lo.isFinite() && abs(la) <= 90 && abs(lo) <= 180 }
            if (ok.isEmpty()) return null
            var n = ok.maxOf { it.first }
            var s = ok.minOf { it.first }
            var e = ok.maxOf { it.second }
            var w = ok.minOf { it.second }
            val cosLat = max(cos((n + s) / 2 * PI / 180), 0.01)
            val minLat = minSpanM / METRES_PER_DEGREE
            val minLon = minSpanM / (METRES_PER_DEGREE * cosLat)
            val dLat = max(n - s, minLat)
            val dLon = max(e - w, minLon)
            val cLat = (n + s) / 2
            val cLon = (e + w) / 2
            n = cLat + dLat * (0.5 + margin)
            s = cLat - dLat * (0.5 + margin)
            e = cLon + dLon * (0.5 + margin)
            w = cLon - dLon * (0.5 + margin)
            return GeoBox(n, s, e, w)
        }
    }
}

/** A plan image and where its edges are on the earth (the console's corner coordinates). */
data class PlanGeoref(val box: GeoBox, val widthPx: Int, val heightPx: Int) {
    init {
        require(widthPx > 0 && heightPx > 0) { "plan size ${widthPx}x$heightPx" }
    }
}

/** A checkpoint of the route, as the plan needs it. */
data class PlanStop(
    val checkpointId: String,
    /** 1-based place on the route. */
    val position: Int,
    val label: String,
    val latitude: Double,
    val longitude: Double,
    val visited: Boolean,
)

/** A fix of the walked track. */
data class PlanFix(val timeMs: Long, val latitude: Double, val longitude: Double)

enum class StopMark { VISITED, NEXT, NOT_VISITED }

data class PlanPoint(val x: Float, val y: Float)

data class PlanMarker(
    val checkpointId: String,
    val position: Int,
    val label: String,
    val at: PlanPoint,
    val mark: StopMark,
    /** False when the checkpoint lies outside the plan image (drawn at the edge, flagged). */
    val onPlan: Boolean,
)

enum class PlanSource {
    /** Mapped onto the site's plan image by its corner coordinates. */
    PLAN_IMAGE,
    /** No plan georeference on the phone: a to-scale canvas around the checkpoints. */
    CHECKPOINT_BOX,
}

data class PlanView(
    val widthPx: Int,
    val heightPx: Int,
    val source: PlanSource,
    val markers: List<PlanMarker>,
    /** In time order, at most the `maxTrackPoints` given to [PlanModel.build]. */
    val track: List<PlanPoint>,
    /** How many usable fixes the track had before thinning. */
    val trackFixes: Int,
)

object PlanModel {
    /** Enough for a smooth line on a phone screen; a 2-hour run at 5 s has 1 440 fixes. */
    const val DEFAULT_MAX_TRACK_POINTS = 500

    /**
     * Projects [stops] and [track] onto [plan], or, without one, onto a canvas that fits
     * in [canvasWidthPx] × [canvasHeightPx] around the stops and track. [finished] runs
     * have no next checkpoint.
     */
    fun build(
        plan: PlanGeoref?,
        stops: List<PlanStop>,
        track: List<PlanFix>,
        canvasWidthPx: Int = 1000,
        canvasHeightPx: Int = 1000,
        maxTrackPoints: Int = DEFAULT_MAX_TRACK_POINTS,
        finished: Boolean = false,
    ): PlanView? {
        require(maxTrackPoints >= 2) { "maxTrackPoints $maxTrackPoints" }
        val fixes = track.filter { it.latitude.isFinite() && it.longitude.isFinite() && abs(it.latitude) <= 90 && abs(it.longitude) <= 180 }
            .sortedBy { it.timeMs }
        val (box, w, h, source) = if (plan != null) {
            Frame(plan.box, plan.widthPx, plan.heightPx, PlanSource.PLAN_IMAGE)
        } else {
            val box = GeoBox.around(stops.map { it.latitude to it.longitude } + fixes.map { it.latitude to it.longitude })
                ?: return null
            // Fit the to-scale box into the canvas.
            val a = box.aspect
            val cw = canvasWidthPx.toDouble()
            val ch = canvasHeightPx.toDouble()
            val (fw, fh) = if (a >= cw / ch) cw to cw / a else ch * a to ch
            Frame(box, max(1, fw.toInt()), max(1, fh.toInt()), PlanSource.CHECKPOINT_BOX)
        }
        fun project(lat: Double, lon: Double) = PlanPoint(
            ((lon - box.west) / (box.east - box.west) * w).toFloat(),
            ((box.north - lat) / (box.north - box.south) * h).toFloat(),
        )
        val next = if (finished) null else nextStop(stops)
        val markers = stops.sortedBy { it.position }.map { s ->
            val p = project(s.latitude, s.longitude)
            val on = p.x in 0f..w.toFloat() && p.y in 0f..h.toFloat()
            val mark = when {
                s.visited -> StopMark.VISITED
                s.checkpointId == next?.checkpointId -> StopMark.NEXT
                else -> StopMark.NOT_VISITED
            }
            PlanMarker(s.checkpointId, s.position, s.label, if (on) p else PlanPoint(p.x.coerceIn(0f, w.toFloat()), p.y.coerceIn(0f, h.toFloat())), mark, on)
        }
        val projected = fixes.map { project(it.latitude, it.longitude) }
        return PlanView(w, h, source, markers, thin(projected, maxTrackPoints), fixes.size)
    }

    private data class Frame(val box: GeoBox, val w: Int, val h: Int, val source: PlanSource)

    /**
     * The checkpoint to walk to: the first unvisited one after the furthest visited on the
     * route (a walker who skipped ahead goes on from there), else the first unvisited.
     */
    fun nextStop(stops: List<PlanStop>): PlanStop? {
        val ordered = stops.sortedBy { it.position }
        val furthest = ordered.lastOrNull { it.visited }?.position ?: 0
        return ordered.firstOrNull { !it.visited && it.position > furthest } ?: ordered.firstOrNull { !it.visited }
    }

    /**
     * At most [max] points of [points], first and last kept, in order, each one of the
     * originals: points within half a pixel of the last kept go first (a person standing
     * still), then Ramer–Douglas–Peucker with the smallest tolerance (found by bisection)
     * that brings the count under [max], so corners survive and straight stretches go.
     */
    fun thin(points: List<PlanPoint>, max: Int): List<PlanPoint> {
        require(max >= 2)
        if (points.size <= 2) return points
        val dedup = ArrayList<PlanPoint>(points.size)
        for (p in points) {
            val last = dedup.lastOrNull()
            if (last == null || dist(last, p) >= 0.5f) dedup += p
        }
        if (dedup.last() != points.last()) {
            if (dedup.size > 1 && dist(dedup.last(), points.last()) < 0.5f) dedup[dedup.size - 1] = points.last() else dedup += points.last()
        }
        if (dedup.size <= max) return dedup
        var lo = 0.0
        var hi = 1.0
        while (rdp(dedup, hi).size > max) hi *= 2
        var best = rdp(dedup, hi)
        repeat(24) {
            val mid = (lo + hi) / 2
            val r = rdp(dedup, mid)
            if (r.size <= max) {
                hi = mid
                best = r
            } else {
                lo = mid
            }
        }
        return best
    }

    private fun dist(a: PlanPoint, b: PlanPoint): Float {
        val dx = a.x - b.x
        val dy = a.y - b.y
        return sqrt(dx * dx + dy * dy)
    }

    /** Distance from [p] to the segment [a]–[b]. */
    fun segmentDistance(p: PlanPoint, a: PlanPoint, b: PlanPoint): Double {
        val dx = (b.x - a.x).toDouble()
        val dy = (b.y - a.y).toDouble()
        val len2 = dx * dx + dy * dy
        val t = if (len2 == 0.0) 0.0 else (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).coerceIn(0.0, 1.0)
        val ex = a.x + t * dx - p.x
        val ey = a.y + t * dy - p.y
        return sqrt(ex * ex + ey * ey)
    }

    /** Ramer–Douglas–Peucker without recursion (a long track would overflow the stack). */
    private fun rdp(points: List<PlanPoint>, epsilon: Double): List<PlanPoint> {
        val keep = BooleanArray(points.size)
        keep[0] = true
        keep[points.size - 1] = true
        val stack = ArrayDeque<Pair<Int, Int>>()
        stack.addLast(0 to points.size - 1)
        while (stack.isNotEmpty()) {
            val (i, j) = stack.removeLast()
            if (j - i < 2) continue
            var far = -1
            var farD = -1.0
            for (k in i + 1 until j) {
                val d = segmentDistance(points[k], points[i], points[j])
                if (d > farD) {
                    farD = d
                    far = k
                }
            }
            if (farD > epsilon) {
                keep[far] = true
                stack.addLast(i to far)
                stack.addLast(far to j)
            }
        }
        return points.filterIndexed { i, _ -> keep[i] }
    }
}
