// The same day through the app's screen models and repository (the code the Android
// screens call), against the real server: what each screen's state shows at each step.
package app.patrol.logic

import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import uniffi.patrol_protocol.DepartmentKind
import uniffi.patrol_protocol.ItemOutcome
import uniffi.patrol_protocol.NoticeAction
import uniffi.patrol_protocol.NoticeState
import uniffi.patrol_protocol.Severity

class ScreenModelsStoryTest : ServerStory() {
    private fun repo(tag: String) = PatrolRepository(kept(Fixtures.phone(tag)))

    private fun ScreenModel.ok() = assertNull(error.value, "unexpected error: ${error.value}")

    @Test
    fun `the officer's screens walk a run and raise a notice that the head signs and fixes from the inbox`() {
        val repo = repo("officer")
        val session = SessionModel(repo, scope)
        session.signIn(server.url, "patrol", "wrong").await()
        assertEquals(ErrorKind.SIGN_IN_AGAIN, session.error.value?.kind)
        assertNull(session.person.value)
        session.signIn(server.url + "/", " patrol ", server.password("patrol")).await()
        session.ok()
        val person = assertNotNull(session.person.value)
        assertTrue(person.capabilities().patrols)

        // Today's patrols: windows in the site's local time.
        val today = TodayModel(repo, scope)
        today.refresh().await()
        today.ok()
        val windows = today.plan.value.map { it.window }
        assertContains(windows, "08:00–10:00")
        assertContains(windows, "14:00–16:00")
        assertTrue(today.plan.value.all { it.statusZh.isNotBlank() && it.routeName.isNotBlank() })
        val line = today.plan.value.first { it.canStart || it.canResume }
        today.startOrResume(line).await()
        today.ok()
        val runId = assertNotNull(today.openRun.value)

        // The run screen: checkpoints in order, QR (scanned, so the checkpoint is found by
        // its token), NFC, GPS, an unreadable QR refused with the field, a checklist item, a photo.
        val run = RunModel(repo, scope)
        run.load(runId).await()
        run.ok()
        assertEquals(RunProgress(0, run.detail.value!!.checkpoints.size), run.progress())
        val cps = run.detail.value!!.checkpoints.map { assertNotNull(run.checkpoint(it.checkpoint.checkpointId)) }
        run.checkInQr(server.qrLabel(cps[0].id)).await()
        run.ok()
        assertEquals(cps[0].id, run.lastVisit.value?.checkpointId)
        run.checkInQr("https://example.invalid/not-a-patrol-code").await()
        assertEquals("qr", run.error.value?.field)
        assertEquals(ErrorKind.INVALID_INPUT, run.error.value?.kind)
        assertEquals(cps[1].id, run.nextCheckpoint()?.checkpoint?.checkpointId, "the refused scan recorded nothing")
        // As Android reads it: raw id bytes, no colons.
        run.checkInNfc(nfcSpelling(cps[1].nfcTagId!!.split(":").map { it.toInt(16).toByte() }.toByteArray())).await()
        run.ok()
        assertEquals(cps[1].id, run.lastVisit.value?.checkpointId, "the tag found its checkpoint")
        run.checkInGps(cps[2].id, Fix(cps[2].latitude, cps[2].longitude, 12.0, System.currentTimeMillis())).await()
        run.ok()
        assertEquals("gps", run.lastVisit.value?.method?.lowercase())
        assertEquals(3, run.progress().visited)
        run.recordItem(cps[2].id, cps[2].checklist[0].id, ItemOutcome.PROBLEM, "井盖松动").await()
        run.ok()
        val items = run.detail.value!!.checkpoints[2].items
        assertEquals(ItemOutcome.PROBLEM, items.first { it.itemId == cps[2].checklist[0].id }.outcome)
        run.addPhoto(Fixtures.cameraJpeg(11), cps[2].id, Fix(31.23, 121.47, 5.0, System.currentTimeMillis())).await()
        run.ok()
        assertEquals(1, run.photos.value.size)

        // Location samples in batches.
        val track = TrackRecorder(repo, runId, batchSize = 30)
        runBlocking {
            val t0 = System.currentTimeMillis()
            repeat(35) { track.add(Fix(31.23 + it * 1e-5, 121.47, 6.0, t0 + it * 1000L)) }
            track.add(Fix(31.0, 121.0, 500.0, t0 + 40_000)) // too imprecise: dropped
            assertEquals(30uL, track.written)
            assertEquals(5, track.pending())
            track.flush()
            assertEquals(35uL, track.written)
        }

        // Raise a notice from the run.
        val raise = RaiseNoticeModel(repo, scope)
        raise.open(run.detail.value!!.siteId, runId, cps[2].id, cps[2].nameZh).await()
        raise.ok()
        assertTrue(raise.form.value.departments.size >= 4)
        raise.description("井盖松动，有安全隐患")
        raise.submit().await()
        assertEquals("department_id", raise.error.value?.field, "no department chosen yet")
        raise.department(raise.form.value.departments.first { it.kind == DepartmentKind.ENGINEERING }.id)
        raise.severity(Severity.SERIOUS)
        assertEquals(NoticeForm.SERIOUS_DUE_HOURS, raise.form.value.dueInHours)
        raise.addPhoto(Fixtures.cameraJpeg(12), null).await()
        raise.submit().await()
        raise.ok()
        val created = assertNotNull(raise.created.value)
        assertNull(created.number)
        assertEquals(Severity.SERIOUS, created.severity)

        // Finishing with unvisited checkpoints needs a reason.
        run.finish(null).await()
        assertEquals("missed_reason", run.error.value?.field)
        run.finish("保安室施工，后续补巡").await()
        run.ok()
        assertEquals(3u, run.summary.value?.visited)

        // Sync now, with live progress.
        val sync = SyncModel(repo, scope)
        sync.refresh().await()
        assertTrue(sync.state.value!!.queuedRecords > 0u)
        sync.syncNow().await()
        sync.ok()
        val number = sync.lastReport.value!!.numbers.single { it.noticeId == created.noticeId }.number
        assertNotNull(sync.progress.value, "the listener reported progress")
        assertEquals(0uL, sync.state.value!!.queuedRecords)
        assertNotNull(sync.state.value!!.lastSuccessMs)

        // The head's inbox on another phone: sign with a drawn signature, report the fix.
        val headRepo = repo("head")
        SessionModel(headRepo, scope).signIn(server.url, "eng.head", server.password("eng.head")).await()
        val inbox = NoticesModel(headRepo, scope)
        inbox.refresh().await()
        inbox.ok()
        val mine = inbox.notices.value.first { it.noticeId == created.noticeId }
        assertEquals(number, mine.number)
        assertTrue(mine.can(NoticeAction.ACKNOWLEDGE) && mine.can(NoticeAction.DISPUTE))
        inbox.select(created.noticeId).await()
        inbox.reportFix("先修了").await()
        assertEquals("photos", inbox.error.value?.field, "a fix without after-photos is refused: ${inbox.error.value}")
        assertEquals(NoticeState.ISSUED, inbox.selected.value?.state)
        inbox.dispute("").await()
        assertEquals(ErrorKind.INVALID_INPUT, inbox.error.value?.kind, "a dispute needs a reason: ${inbox.error.value}")
        inbox.signForReceipt(Fixtures.signaturePng()).await()
        inbox.ok()
        assertEquals(NoticeState.ACKNOWLEDGED, inbox.selected.value?.state)
        assertEquals(1, inbox.selected.value!!.actions.single().photos.size, "the signature is kept with the receipt")
        inbox.addAfterPhoto(Fixtures.cameraJpeg(13), null).await()
        assertEquals(1, inbox.pendingPhotos.value.size)
        inbox.correctiveAction("更换井盖并加装防松螺栓，每周巡查").await()
        inbox.reportFix("已更换井盖").await()
        inbox.ok()
        assertEquals(NoticeState.RECTIFIED, inbox.selected.value?.state)
        assertEquals(BackgroundOutcome.DONE, backgroundSync(headRepo))

        // The officer verifies; the notice leaves the to-do list and shows closed after sync.
        val officerInbox = NoticesModel(repo, scope)
        SyncModel(repo, scope).syncNow().await()
        officerInbox.refresh().await()
        assertTrue(officerInbox.notices.value.any { it.noticeId == created.noticeId && it.can(NoticeAction.VERIFY_PASS) })
        officerInbox.select(created.noticeId).await()
        officerInbox.verify(pass = true, reason = "复查合格").await()
        officerInbox.ok()
        assertEquals(NoticeState.CLOSED, officerInbox.selected.value?.state)
        officerInbox.setFilter(InboxFilter.TO_DO)
        assertTrue(officerInbox.notices.value.none { it.noticeId == created.noticeId })

        // History shows the run.
        val history = HistoryModel(repo, scope)
        history.refresh().await()
        history.ok()
        assertEquals(runId, history.runs.value.first().runId)
        assertTrue(repo.revision.value > 0)
    }

    @Test
    fun `background sync without a sign-in stops instead of retrying`() {
        assertEquals(BackgroundOutcome.STOP, backgroundSync(repo("nobody")))
    }
}
