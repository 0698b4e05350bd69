// The plan view model: projection onto a georeferenced plan and onto the to-scale box
// around the checkpoints, visited / next / not visited, and thinning of long tracks
// (bounded count, first and last kept, shape kept), over generated tracks.
package app.patrol.logic

import kotlin.math.PI
import kotlin.math.abs
import kotlin.math.cos
import kotlin.math.sin
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import uniffi.patrol_core.CheckpointRef
import uniffi.patrol_core.RunCheckpoint
import uniffi.patrol_core.RunDetail
import uniffi.patrol_core.RunSummary
import uniffi.patrol_core.Visit
import uniffi.patrol_protocol.Checkpoint

class PlanModelTest {
    // 锦园: about 400 m × 300 m at 31.2° N.
    private val box = GeoBox(north = 31.2030, south = 31.2000, east = 121.4440, west = 121.4400)
    private val plan = PlanGeoref(box, widthPx = 2000, heightPx = 1500)

    private fun stop(pos: Int, lat: Double, lon: Double, visited: Boolean = false) =
        PlanStop("cp$pos", pos, "$pos", lat, lon, visited)

    private fun close(expected: Float, actual: Float, what: String, tol: Float = 0.5f) =
        assertTrue(abs(expected - actual) <= tol, "$what: expected $expected, got $actual")

    @Test
    fun `corners and centre of the plan land on the image's corners and centre`() {
        val stops = listOf(
            stop(1, box.north, box.west), stop(2, box.north, box.east),
            stop(3, box.south, box.east), stop(4, box.south, box.west),
            stop(5, (box.north + box.south) / 2, (box.east + box.west) / 2),
        )
        val v = assertNotNull(PlanModel.build(plan, stops, emptyList()))
        assertEquals(PlanSource.PLAN_IMAGE, v.source)
        assertEquals(2000 to 1500, v.widthPx to v.heightPx)
        val expect = listOf(0f to 0f, 2000f to 0f, 2000f to 1500f, 0f to 1500f, 1000f to 750f)
        v.markers.zip(expect).forEach { (m, e) ->
            close(e.first, m.at.x, "x of ${m.position}")
            close(e.second, m.at.y, "y of ${m.position}")
            assertTrue(m.onPlan)
        }
    }

    @Test
    fun `a checkpoint off the plan is pinned to the edge and flagged`() {
        val v = PlanModel.build(plan, listOf(stop(1, box.north + 0.001, box.east + 0.002)), emptyList())!!
        val m = v.markers.single()
        assertEquals(false, m.onPlan)
        close(2000f, m.at.x, "x")
        close(0f, m.at.y, "y")
    }

    @Test
    fun `without a plan the canvas is the checkpoints' box with a margin, true to scale`() {
        val rng = Random(7)
        repeat(50) {
            val lat0 = rng.nextDouble(18.0, 50.0)
            val lon0 = rng.nextDouble(75.0, 130.0)
            val stops = List(rng.nextInt(1, 15)) { i ->
                stop(i + 1, lat0 + rng.nextDouble(0.0, 0.004), lon0 + rng.nextDouble(0.0, 0.006))
            }
            val cw = rng.nextInt(300, 1500)
            val ch = rng.nextInt(300, 1500)
            val v = assertNotNull(PlanModel.build(null, stops, emptyList(), cw, ch))
            assertEquals(PlanSource.CHECKPOINT_BOX, v.source)
            assertTrue(v.widthPx <= cw && v.heightPx <= ch && (v.widthPx >= cw - 1 || v.heightPx >= ch - 1), "fits the canvas: $v")
            // Every checkpoint is on the canvas, clear of the edge by the margin.
            for (m in v.markers) {
                assertTrue(m.onPlan, "$m")
                assertTrue(m.at.x >= v.widthPx * 0.07 && m.at.x <= v.widthPx * 0.93, "x margin $m in ${v.widthPx}")
                assertTrue(m.at.y >= v.heightPx * 0.07 && m.at.y <= v.heightPx * 0.93, "y margin $m in ${v.heightPx}")
            }
            // Scale: pixels per metre are the same east–west and north–south.
            if (stops.size >= 2) {
                val (a, b) = stops[0] to stops[1]
                val (ma, mb) = v.markers[0] to v.markers[1]
                val mPerDegLat = 111_320.0
                val mPerDegLon = mPerDegLat * cos((lat0 + 0.002) * PI / 180)
                val dxM = abs(b.longitude - a.longitude) * mPerDegLon
                val dyM = abs(b.latitude - a.latitude) * mPerDegLat
                if (dxM > 50 && dyM > 50) {
                    val sx = abs(mb.at.x - ma.at.x) / dxM
                    val sy = abs(mb.at.y - ma.at.y) / dyM
                    assertTrue(abs(sx - sy) / sy < 0.02, "to scale: $sx px/m east, $sy px/m north")
                }
            }
        }
        assertNull(PlanModel.build(null, emptyList(), emptyList()), "nothing to place")
        val one = PlanModel.build(null, listOf(stop(1, 31.2, 121.44)), emptyList(), 500, 500)!!
        close(250f, one.markers.single().at.x, "a lone checkpoint sits in the middle", 1f)
    }

    @Test
    fun `visited, next and not visited follow the route and the furthest visit`() {
        fun marks(visited: Set<Int>, finished: Boolean = false): String {
            val stops = (1..6).map { stop(it, 31.2 + it * 0.0003, 121.44, it in visited) }
            return PlanModel.build(plan, stops.shuffled(Random(visited.hashCode())), emptyList(), finished = finished)!!
                .markers.joinToString("") { when (it.mark) { StopMark.VISITED -> "v"; StopMark.NEXT -> "N"; StopMark.NOT_VISITED -> "." } }
        }
        assertEquals("N.....", marks(emptySet()))
        assertEquals("vvN...", marks(setOf(1, 2)))
        assertEquals("v.vN..", marks(setOf(1, 3)), "skipped 2: go on from 3")
        assertEquals("N....v", marks(setOf(6)), "the last was visited first: back to the first")
        assertEquals("vvvvvv", marks((1..6).toSet()))
        assertEquals("vv....", marks(setOf(1, 2), finished = true), "a finished run has no next")
    }

    /** A walk: straight legs with turns, GPS jitter, and stands where the person waits. */
    private fun walk(rng: Random, n: Int): List<PlanFix> {
        var lat = 31.2005
        var lon = 121.4405
        var heading = rng.nextDouble(0.0, 2 * PI)
        var t = 1_767_225_600_000L
        return List(n) { i ->
            if (i % 200 == 0) heading += rng.nextDouble(-2.0, 2.0)
            val standing = (i / 50) % 7 == 3
            if (!standing) {
                lat += cos(heading) * 0.00001 + rng.nextDouble(-2e-6, 2e-6)
                lon += sin(heading) * 0.00001 + rng.nextDouble(-2e-6, 2e-6)
            }
            lat = lat.coerceIn(box.south, box.north)
            lon = lon.coerceIn(box.west, box.east)
            t += 5_000
            PlanFix(t, lat, lon)
        }
    }

    @Test
    fun `long tracks are thinned to the bound, ends kept, shape kept within a few pixels`() {
        val rng = Random(11)
        for (n in listOf(0, 1, 2, 3, 100, 1_440, 5_000, 20_000)) {
            val fixes = walk(rng, n)
            val max = 300
            val v = PlanModel.build(plan, listOf(stop(1, 31.201, 121.442)), fixes.shuffled(rng), maxTrackPoints = max)!!
            assertEquals(n, v.trackFixes)
            assertTrue(v.track.size <= max, "n=$n drew ${v.track.size} > $max")
            if (n == 0) continue
            // Only the half-pixel de-duplication, no bound: the line as recorded.
            val unthinned = PlanModel.build(plan, emptyList(), fixes, maxTrackPoints = Int.MAX_VALUE)!!.track
            // Time order restored from the shuffled input; first and last fixes kept.
            assertEquals(unthinned.first(), v.track.first(), "first, n=$n")
            assertEquals(unthinned.last(), v.track.last(), "last, n=$n")
            assertTrue(v.track.all { it in unthinned.toSet() }, "only original points")
            val originals = fixes.map { f ->
                PlanPoint(
                    ((f.longitude - box.west) / (box.east - box.west) * 2000).toFloat(),
                    ((box.north - f.latitude) / (box.north - box.south) * 1500).toFloat(),
                )
            }
            if (v.track.size >= 2) {
                val dev = originals.maxOf { p -> (0 until v.track.size - 1).minOf { i -> PlanModel.segmentDistance(p, v.track[i], v.track[i + 1]) } }
                assertTrue(dev <= 6.0, "n=$n: an original fix is $dev px off the drawn line")
            }
        }
    }

    @Test
    fun `a track that stands still draws as one point pair, bad fixes are dropped`() {
        val fixes = List(1000) { PlanFix(it * 5_000L, 31.2015, 121.4420) } +
            listOf(PlanFix(6_000_000, Double.NaN, 121.44), PlanFix(6_000_001, 95.0, 121.44))
        val v = PlanModel.build(plan, emptyList(), fixes, maxTrackPoints = 50)!!
        assertEquals(1000, v.trackFixes)
        assertTrue(v.track.size <= 2, "${v.track}")
    }

    @Test
    fun `the core's run and checkpoints become plan stops in route order`() {
        fun ref(id: String, zh: String, en: String) = CheckpointRef(checkpointId = id, code = id, nameZh = zh, nameEn = en)
        fun cp(id: String, lat: Double, lon: Double) = Checkpoint(
            id = id, siteId = "s", code = id, nameZh = id, nameEn = id, latitude = lat, longitude = lon, radiusM = 30.0,
            qrToken = "", qrDigest = "", nfcTagId = null, checklist = emptyList(),
        )
        val visit = Visit(visitId = "v1", checkpointId = "b", method = "qr", outOfOrder = false, distanceM = null, manualReason = null, timeMs = 1)
        val detail = RunDetail(
            runId = "r", routeId = "route", routeNameZh = "早班", routeNameEn = "Morning", siteId = "s", siteNameZh = "锦园",
            personId = "p", startedMs = 0, finishedMs = null,
            checkpoints = listOf(
                RunCheckpoint(position = 1u, checkpoint = ref("b", "东门", "East gate"), visit = visit, items = emptyList()),
                RunCheckpoint(position = 2u, checkpoint = ref("a", "3号楼", "Building 3"), visit = null, items = emptyList()),
                RunCheckpoint(position = 3u, checkpoint = ref("gone", "旧岗亭", "Old kiosk"), visit = null, items = emptyList()),
            ),
            trackPoints = 0u, trackBatches = 0u, photos = emptyList(),
            summary = RunSummary(runId = "r", total = 3u, visited = 1u, missed = emptyList(), outOfOrder = 0u, problems = 0u,
                durationMs = 0, finished = false, missedReason = null),
        )
        val stops = planStops(detail, listOf(cp("a", 31.201, 121.441), cp("b", 31.202, 121.443)), Lang.ZH)
        assertEquals(listOf("1 东门", "2 3号楼"), stops.map { it.label }, "the one without coordinates is left out")
        assertEquals(listOf(true, false), stops.map { it.visited })
        assertEquals("2 Building 3", planStops(detail, listOf(cp("a", 31.201, 121.441)), Lang.EN).single().label)
        val v = PlanModel.build(plan, stops, emptyList())!!
        assertEquals(listOf(StopMark.VISITED, StopMark.NEXT), v.markers.map { it.mark })
    }
}
