// The day story told through the generated Kotlin bindings alone, as the apps will call
// them: a real server, real cores on this JVM, a listener written in Kotlin.
package app.patrol.logic

import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import uniffi.patrol_core.CheckInMethod
import uniffi.patrol_core.NoticeDraft
import uniffi.patrol_core.PatrolCore
import uniffi.patrol_core.PatrolException
import uniffi.patrol_core.PhotoInput
import uniffi.patrol_core.PhotoSource
import uniffi.patrol_core.SyncListener
import uniffi.patrol_core.SyncPhase
import uniffi.patrol_core.SyncProgress
import uniffi.patrol_core.noticeStateNameZh
import uniffi.patrol_protocol.DepartmentKind
import uniffi.patrol_protocol.ItemOutcome
import uniffi.patrol_protocol.NoticeAction
import uniffi.patrol_protocol.NoticeState
import uniffi.patrol_protocol.PhotoContext
import uniffi.patrol_protocol.Role
import uniffi.patrol_protocol.Severity
import uniffi.patrol_protocol.TrackPoint

class BindingsDayStoryTest {
    private val server = DemoServer.shared

    /** Records every callback; the core calls it on the syncing thread. */
    private class Recorder : SyncListener {
        val seen = java.util.concurrent.CopyOnWriteArrayList<SyncProgress>()
        override fun onProgress(progress: SyncProgress) {
            seen += progress
        }
    }

    private fun engineering(core: PatrolCore, siteId: String) =
        core.departments(siteId).first { it.kind == DepartmentKind.ENGINEERING }

    @Test
    fun `a patrol walked with QR, NFC and GPS reaches the head of engineering, who signs on another phone`() {
        val officer = Fixtures.phone("officer")
        val person = officer.login(server.url, "patrol", server.password("patrol"))
        assertEquals("张伟", person.displayName)
        assertTrue(person.roles.any { it is Role.PatrolStaff }, "${person.roles}")

        val first = officer.sync(null, null)
        assertTrue(first.referenceUpdated, "the first sync brings the reference data")
        val plan = officer.todayPlan()
        assertTrue(plan.isNotEmpty(), "the demo schedules two runs every day")
        assertTrue(plan.all { it.windowEndMs > it.windowStartMs })

        val site = officer.sites().single()
        val route = officer.routes(site.id).first { r -> r.id == plan[0].routeId }
        val cps = officer.routeCheckpoints(route.id)
        assertTrue(cps.size >= 4, "$cps")
        assertTrue(cps.all { it.qrToken.isEmpty() && it.qrDigest.length == 64 }, "the phone holds label digests, never label secrets")

        // The walk, offline.
        val run = officer.startRun(route.id)
        assertEquals(cps.map { it.id }, run.checkpoints.map { it.checkpoint.checkpointId }, "route order")
        val qr = officer.checkIn(run.runId, cps[0].id, CheckInMethod.Qr(server.qrLabel(cps[0].id)))
        assertEquals(cps[0].id, qr.checkpointId)
        val tag = assertNotNull(cps[1].nfcTagId, "the demo's second checkpoint has an NFC tag")
        officer.checkIn(run.runId, cps[1].id, CheckInMethod.Nfc(tag))
        val gps = officer.checkIn(run.runId, cps[2].id, CheckInMethod.Gps(cps[2].latitude, cps[2].longitude + 0.00003, 8.0))
        val distance = assertNotNull(gps.distanceM)
        assertTrue(distance in 1.0..10.0, "about 3 m east: $distance")
        officer.recordItem(run.runId, cps[2].id, cps[2].checklist[0].id, ItemOutcome.PROBLEM, "灯不亮")
        officer.appendTrackPoints(run.runId, (0 until 20).map { TrackPoint(System.currentTimeMillis() + it * 1000L, 31.23, 121.47 + it * 1e-5, 5.0) })

        val photo = officer.addPhoto(
            PhotoInput(PhotoSource.Bytes(Fixtures.cameraJpeg(1)), PhotoContext(run.runId, cps[2].id, null), site.id, null, 31.2304, 121.4737),
        )
        assertEquals(64, photo.sha256.length)
        assertTrue(photo.width <= 1024u && photo.height <= 1024u, "scaled to the configured long edge")
        assertEquals(Fixtures.font() != null, photo.watermarked)
        assertTrue(java.io.File(photo.path).length() > 1000)

        val draft = NoticeDraft(
            siteId = site.id,
            departmentId = engineering(officer, site.id).id,
            checkpointId = cps[2].id,
            location = cps[2].nameZh,
            runId = run.runId,
            description = "路灯不亮，夜间无照明",
            severity = Severity.GENERAL,
            dueMs = System.currentTimeMillis() + 48 * 3_600_000L,
            photos = listOf(photo.sha256),
        )
        val raised = officer.createNotice(draft)
        assertNull(raised.number, "number pending until the server numbers it")
        assertTrue(raised.queued)
        val summary = officer.finishRun(run.runId, "其余点位明日补巡")
        assertEquals(3u, summary.visited)
        assertTrue(officer.queueStatus().queuedRecords > 0u)

        // Sync with a listener written in Kotlin.
        val recorder = Recorder()
        val report = officer.sync(recorder, null)
        assertTrue(report.rejections.isEmpty(), "${report.rejections}")
        assertEquals(1uL, report.photosSent)
        val numbered = report.numbers.single { it.noticeId == raised.noticeId }
        assertTrue(Regex("""[A-Z]+-\d{4}-\d{6}""").matches(numbered.number), numbered.number)
        assertEquals(numbered.number, officer.notice(raised.noticeId).number)
        val phases = recorder.seen.map { it.phase }.toSet()
        assertEquals(setOf(SyncPhase.PUSH, SyncPhase.PHOTOS, SyncPhase.PULL), phases, "${recorder.seen}")
        val lastPush = recorder.seen.last { it.phase == SyncPhase.PUSH }
        assertEquals(lastPush.recordsToSend, lastPush.recordsSent)
        assertEquals(0uL, officer.syncState().queuedRecords)
        assertEquals(0uL, officer.queueStatus().queuedPhotos)

        // The head of engineering, on another phone, signs for it with a drawn signature and reports the fix.
        val head = Fixtures.signedInPhone(server, "eng.head")
        head.sync(null, null)
        val inbox = head.listNotices(50u).filter { it.noticeId == raised.noticeId }
        val received = inbox.single()
        assertEquals(numbered.number, received.number)
        assertContains(received.allowedActions, NoticeAction.ACKNOWLEDGE)
        val signature = head.addPhoto(
            PhotoInput(PhotoSource.Bytes(Fixtures.signaturePng()), PhotoContext(null, null, raised.noticeId), site.id, null, null, null),
        )
        val signed = head.actOnNotice(raised.noticeId, NoticeAction.ACKNOWLEDGE, "", listOf(signature.sha256), null)
        assertEquals(NoticeState.ACKNOWLEDGED, signed.state)
        assertEquals("已签收", noticeStateNameZh(signed.state))
        val after = head.addPhoto(
            PhotoInput(PhotoSource.Bytes(Fixtures.cameraJpeg(2)), PhotoContext(null, null, raised.noticeId), site.id, null, null, null),
        )
        head.actOnNotice(raised.noticeId, NoticeAction.REPORT_FIX, "已更换灯泡", listOf(after.sha256), null)
        val headReport = head.sync(null, null)
        assertTrue(headReport.rejections.isEmpty(), "${headReport.rejections}")
        assertEquals(2uL, headReport.photosSent)

        // The officer sees the fix and verifies it on site.
        officer.sync(null, null)
        val rectified = officer.notice(raised.noticeId)
        assertEquals(NoticeState.RECTIFIED, rectified.state)
        assertContains(rectified.allowedActions, NoticeAction.VERIFY_PASS)
        officer.actOnNotice(raised.noticeId, NoticeAction.VERIFY_PASS, "现场复查合格", emptyList(), null)
        officer.sync(null, null)
        head.sync(null, null)
        assertEquals(NoticeState.CLOSED, head.notice(raised.noticeId).state)
        assertEquals(
            listOf(NoticeAction.ACKNOWLEDGE, NoticeAction.REPORT_FIX, NoticeAction.VERIFY_PASS),
            head.notice(raised.noticeId).actions.map { it.action },
        )
        assertTrue(officer.verifyLog() > 0uL)
        listOf(officer, head).forEach { it.close() }
    }

    @Test
    fun `a wrong QR is refused as invalid input naming the field, and nothing is recorded`() {
        val officer = Fixtures.signedInPhone(server, "patrol")
        officer.sync(null, null)
        val route = officer.routes(officer.sites().single().id).first()
        val cps = officer.routeCheckpoints(route.id)
        val run = officer.startRun(route.id)
        val before = officer.queueStatus().lastSeq
        val e = assertFailsWith<PatrolException.InvalidInput> {
            officer.checkIn(run.runId, cps[0].id, CheckInMethod.Qr(server.qrLabel(cps[1].id)))
        }
        assertEquals("qr", e.field)
        assertTrue(e.reasonZh.isNotBlank() && e.reason.isNotBlank(), "$e")
        assertEquals(before, officer.queueStatus().lastSeq, "a refused call changes nothing")
        val far = assertFailsWith<PatrolException.InvalidInput> {
            officer.checkIn(run.runId, cps[0].id, CheckInMethod.Gps(cps[0].latitude + 0.01, cps[0].longitude, 5.0))
        }
        assertEquals("position", far.field)
        // Ids are Strings to Kotlin: a malformed one is the app's documented error, at
        // the top level or inside a record, never uniffi's internal one.
        for (call in listOf<() -> Unit>(
            { officer.startRun("not-a-uuid") },
            { officer.runDetail("") },
            { officer.checkIn(run.runId, "0190-bad", CheckInMethod.Manual("标签脱落")) },
            { officer.addPhoto(PhotoInput(PhotoSource.Bytes(Fixtures.cameraJpeg(2)), PhotoContext("nope", cps[0].id, null), route.siteId, null, 31.2, 121.4)) },
        )) {
            val bad = assertFailsWith<PatrolException.InvalidInput> { call() }
            assertEquals("id", bad.field)
        }
        assertEquals(before, officer.queueStatus().lastSeq, "malformed ids change nothing")
        officer.close()
    }

    @Test
    fun `a bad password is Unauthorized`() {
        val phone = Fixtures.phone("stranger")
        val e = assertFailsWith<PatrolException.Unauthorized> { phone.login(server.url, "patrol", "not-the-password") }
        assertEquals(UiError(ErrorKind.SIGN_IN_AGAIN, "用户名或密码错误", "wrong login or password"), e.toUiError())
        assertNull(phone.signedInPerson())
        phone.close()
    }

    @Test
    fun `a server that is not there is a Network error`() {
        val phone = Fixtures.phone("offline")
        val port = java.net.ServerSocket(0).use { it.localPort }
        val e = assertFailsWith<PatrolException.Network> { phone.login("http://127.0.0.1:$port", "patrol", "x") }
        assertTrue(e.detailZh.any { it in '\u4e00'..'\u9fff' } && e.detail.none { it in '\u4e00'..'\u9fff' }, "$e")
        phone.close()
    }

    @Test
    fun `a refused action is a Conflict with the reason in Chinese`() {
        val officer = Fixtures.signedInPhone(server, "patrol")
        officer.sync(null, null)
        val site = officer.sites().single()
        val notice = officer.createNotice(
            NoticeDraft(site.id, engineering(officer, site.id).id, null, "3号楼大堂", null, "大堂地面破损", Severity.GENERAL,
                System.currentTimeMillis() + 24 * 3_600_000L, emptyList()),
        )
        // The issuer may not sign for receipt: that is the head's.
        val e = assertFailsWith<PatrolException.Conflict> {
            officer.actOnNotice(notice.noticeId, NoticeAction.ACKNOWLEDGE, "", emptyList(), null)
        }
        assertTrue(e.reasonZh.isNotBlank(), "$e")
        assertEquals(NoticeState.ISSUED, officer.notice(notice.noticeId).state)
        // A missing notice is NotFound.
        val missing = assertFailsWith<PatrolException.NotFound> { officer.notice("01890000-0000-7000-8000-000000000000") }
        assertEquals("整改通知单不存在", missing.toUiError().zh)
        officer.close()
    }
}
