// The fault notices screen model (FaultsModel, what the Android screen calls) against the
// real server: the supervisor's model issues a notice to 张伟, his model lists it with its
// points in his month after a sync, he appeals and signs for it, and the model shows the
// appeal open; refusals come back as the core's reason in both languages.
//
// This story runs its own demo server: FaultNoticeStoryTest counts 张伟's month exactly on
// the shared one, and a notice issued to him here must not change its numbers. Its own
// counts are still taken as differences from what the month showed before.
package app.patrol.logic

import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test

class FaultsModelStoryTest : ServerStory() {
    override val server: DemoServer get() = own

    companion object {
        private val own: DemoServer by lazy { DemoServer.start().also { s -> Runtime.getRuntime().addShutdownHook(Thread { s.stop() }) } }
    }

    private fun ScreenModel.ok() = assertNull(error.value, "unexpected error: ${error.value}")

    private fun signedIn(tag: String, login: String): PatrolRepository {
        val repo = PatrolRepository(kept(Fixtures.phone(tag)))
        SessionModel(repo, scope).apply { signIn(server.url, login, server.password(login)).await(); ok() }
        return repo
    }

    @Test
    fun `the supervisor issues a fault notice from the model, 张伟's model lists it in his month, he appeals`() {
        // 张伟's screen before: his month as it stands (counted as differences below).
        val officerRepo = signedIn("faults-officer", "patrol")
        val officer = FaultsModel(officerRepo, scope)
        officer.refresh().await()
        officer.ok()
        val zhang = assertNotNull(officer.me.value)
        assertFalse(officer.canIssue.value, "a patrol officer issues no fault notices")
        assertTrue(Regex("""\d{4}-\d{2}""").matches(officer.month.value), officer.month.value)
        val before = assertNotNull(officer.summary.value)
        assertEquals(officer.month.value, before.month)

        // The site supervisor's form: the sites she may issue at, the rules in force.
        val supervisorRepo = signedIn("faults-supervisor", "supervisor")
        val supervisor = FaultsModel(supervisorRepo, scope)
        supervisor.refresh().await()
        supervisor.ok()
        assertTrue(supervisor.canIssue.value)
        supervisor.openForm(location = "北门岗亭").await()
        supervisor.ok()
        val form = supervisor.form.value
        assertNotNull(form.siteId, "a site to issue at")
        assertTrue(form.rules.isNotEmpty() && form.rules.none { it.retired }, "${form.rules}")
        val rule = form.rules.firstOrNull { it.code == "MN-01" } ?: form.rules.first()

        // Refused before anything is recorded: no rule; no person; nothing seen (the core's
        // reason, in Chinese and English, with the field).
        supervisor.submit().await()
        assertEquals("rule_id", supervisor.error.value?.field)
        supervisor.rule(rule.id)
        assertEquals(rule.points, supervisor.form.value.pointsShown)
        supervisor.submit().await()
        assertEquals("person_id", supervisor.error.value?.field)
        supervisor.person(zhang.personId, zhang.displayName)
        supervisor.submit().await()
        val empty = assertNotNull(supervisor.error.value)
        assertEquals(ErrorKind.INVALID_INPUT, empty.kind)
        assertEquals("seen", empty.field)
        assertTrue(empty.text(Lang.ZH).isNotBlank() && empty.text(Lang.EN).isNotBlank())
        assertNotEquals(empty.text(Lang.ZH), empty.text(Lang.EN), "the reason in each language")
        assertNull(supervisor.issuedId.value)

        supervisor.seen("巡查时未佩戴工牌")
        supervisor.submit().await()
        supervisor.ok()
        val faultId = assertNotNull(supervisor.issuedId.value)
        assertEquals("", supervisor.form.value.seen, "the form is cleared for the next notice")
        // Shown once the sync brings it back numbered (docs/mobile-core.md).
        assertTrue(supervisor.issued.value.none { it.id == faultId })
        val sent = SyncModel(supervisorRepo, scope)
        sent.syncNow().await()
        sent.ok()
        assertTrue(sent.lastReport.value!!.rejections.isEmpty(), "${sent.lastReport.value}")
        supervisor.refresh().await()
        supervisor.ok()
        val numbered = supervisor.issued.value.single { it.id == faultId }
        assertTrue(Regex("""[A-Z]+-F-\d{4}-\d{6}""").matches(numbered.number), numbered.number)
        assertEquals(rule.id, numbered.ruleId)
        assertEquals(Triple("北门岗亭", "巡查时未佩戴工牌", rule.points), Triple(numbered.location, numbered.seen, numbered.points))
        assertTrue(supervisor.mine.value.none { it.id == faultId }, "issued by her, not hers")
        assertTrue(supervisor.people.value.any { it.personId == zhang.personId }, "张伟 is now among the people she picks from")

        // 张伟's phone after a sync: the notice in his month, newest first, with its points.
        SyncModel(officerRepo, scope).syncNow().await()
        officer.refresh().await()
        officer.ok()
        val mine = officer.mine.value
        val listed = mine.single { it.id == faultId }
        assertEquals(officer.month.value, listed.month, "this month, in the site's time")
        assertEquals(numbered.number, listed.number)
        assertEquals(rule.points, listed.pointsNow)
        assertEquals(mine.sortedByDescending { it.seenMs }.map { it.id }, mine.map { it.id }, "newest first")
        assertTrue(mine.all { it.personId == zhang.personId })
        val month = assertNotNull(officer.summary.value)
        assertEquals(before.notices + 1u, month.notices)
        assertEquals(before.points + rule.points, month.points)
        assertEquals(before.openAppeals, month.openAppeals)

        // The supervisor cannot sign for it: the core's conflict, in the person's language.
        supervisor.select(faultId).await()
        supervisor.signFor().await()
        val notYours = assertNotNull(supervisor.error.value)
        assertEquals(ErrorKind.CONFLICT, notYours.kind)
        assertTrue(notYours.text(Lang.ZH).contains("本人"), notYours.text(Lang.ZH))

        // He opens it: his to answer and to appeal. An appeal without a reason is refused.
        officer.select(faultId).await()
        officer.ok()
        val open = assertNotNull(officer.selected.value)
        assertTrue(open.canAnswer(zhang.personId) && open.canAppeal(zhang.personId))
        officer.appeal("  ").await()
        assertEquals(ErrorKind.INVALID_INPUT, officer.error.value?.kind)
        assertEquals("reason", officer.error.value?.field)
        assertNull(officer.selected.value?.appeal)

        // He appeals (offline: shown at once) and signs for it.
        officer.appeal("当时在处理业主报修，工牌放在工具包内").await()
        officer.ok()
        assertEquals("open", officer.selected.value?.appeal)
        assertFalse(officer.selected.value!!.canAppeal(zhang.personId))
        assertEquals(before.openAppeals + 1u, officer.summary.value?.openAppeals)
        officer.appeal("再申诉一次").await()
        assertEquals(ErrorKind.CONFLICT, officer.error.value?.kind, "one appeal only")
        officer.signFor().await()
        officer.ok()
        assertEquals("signed", officer.selected.value?.receipt)
        assertFalse(officer.selected.value!!.canAnswer(zhang.personId))

        // Sent: the server's view says the same, the appeal still open; the points stand.
        val back = SyncModel(officerRepo, scope)
        back.syncNow().await()
        back.ok()
        assertTrue(back.lastReport.value!!.rejections.isEmpty(), "${back.lastReport.value}")
        back.syncNow().await()
        officer.refresh().await()
        officer.ok()
        val server = assertNotNull(officer.selected.value)
        assertEquals(faultId, server.id)
        assertEquals("open", server.appeal)
        assertEquals("signed", server.receipt)
        assertTrue(server.events.any { it.action == "appeal" && it.applied }, "${server.events}")
        val after = assertNotNull(officer.summary.value)
        assertEquals(before.openAppeals + 1u, after.openAppeals)
        assertEquals(before.points + rule.points, after.points)
        assertEquals(officer.mine.value.single { it.id == faultId }.appeal, "open")
    }
}
