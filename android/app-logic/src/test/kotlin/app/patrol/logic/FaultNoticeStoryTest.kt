// Staff fault notices (issue 19) through the generated bindings against the real demo
// server: the site supervisor issues one offline on their phone, the person named sees it
// numbered with the points of their month, appeals, and the one level up decides.
package app.patrol.logic

import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import uniffi.patrol_core.FaultDraft
import uniffi.patrol_core.PatrolException
import uniffi.patrol_protocol.AppealDecision
import uniffi.patrol_protocol.FaultAction
import uniffi.patrol_protocol.Role

class FaultNoticeStoryTest : ServerStory() {
    @Test
    fun `a fault notice issued offline reaches the person, who appeals, and the level above decides`() {
        // 张伟, the patrol officer, and where he works.
        val officer = kept(Fixtures.phone("fault-officer"))
        val zhang = officer.login(server.url, "patrol", server.password("patrol"))
        val siteId = zhang.roles.filterIsInstance<Role.PatrolStaff>().first().siteId
        officer.sync(null, null)

        // The site supervisor 王敏 issues a fault notice on her phone, offline.
        val supervisor = kept(Fixtures.signedInPhone(server, "supervisor"))
        supervisor.sync(null, null)
        val rule = supervisor.faultRules().first { it.code == "MN-01" }
        assertTrue(supervisor.faultRules().none { it.retired })
        val draft = FaultDraft(
            siteId = siteId, personId = zhang.personId, ruleId = rule.id, points = null,
            seen = "巡查时未佩戴工牌", location = "北门岗亭", runId = null, photos = emptyList(),
        )
        // Not to herself, not on a rule outside the catalogue: refused before anything is recorded.
        val self = assertFailsWith<PatrolException.InvalidInput> {
            supervisor.issueFault(draft.copy(personId = supervisor.signedInPerson()!!.personId))
        }
        assertEquals("person_id", self.field)
        assertEquals("rule_id", assertFailsWith<PatrolException.InvalidInput> {
            supervisor.issueFault(draft.copy(ruleId = "01890000-0000-7000-8000-000000000000"))
        }.field)
        assertEquals(0uL, supervisor.queueStatus().queuedRecords)
        val faultId = supervisor.issueFault(draft)
        assertEquals(1uL, supervisor.queueStatus().queuedRecords)
        val issued = supervisor.sync(null, null)
        assertTrue(issued.rejections.isEmpty(), "${issued.rejections}")
        val numbered = supervisor.fault(faultId)
        assertTrue(Regex("""[A-Z]+-F-\d{4}-\d{6}""").matches(numbered.number), numbered.number)
        assertEquals(rule.points, numbered.points, "the rule's points by default")

        // 张伟's phone brings it down: numbered, his, the month's points.
        val pulled = officer.sync(null, null)
        assertTrue(pulled.faultsReceived >= 1uL, "$pulled")
        val mine = officer.listFaults(null, 50u).single { it.id == faultId }
        assertEquals(numbered.number, mine.number)
        assertEquals(zhang.personId, mine.personId)
        assertEquals("MN-01", mine.ruleCode)
        assertEquals("pending", mine.receipt)
        assertNull(mine.appeal)
        assertEquals(listOf(faultId), officer.listFaults(mine.month, 50u).map { it.id })
        // The demo starts empty and no other story issues fault notices: this is his month.
        val month = officer.myFaultMonth(mine.month)
        assertEquals(1u, month.notices)
        assertEquals(rule.points, month.points)
        assertEquals(0u, month.openAppeals)

        // He appeals, offline first: shown at once, sent with the next sync.
        officer.actOnFault(faultId, FaultAction.APPEAL, "当时在处理业主报修，工牌放在工具包内")
        assertEquals("open", officer.fault(faultId).appeal)
        assertTrue(officer.fault(faultId).events.none { it.action == "appeal" }, "not on the server's timeline yet")
        assertFailsWith<PatrolException.Conflict> { officer.actOnFault(faultId, FaultAction.APPEAL, "再申诉一次") }
        val appealed = officer.sync(null, null)
        assertTrue(appealed.rejections.isEmpty(), "${appealed.rejections}")
        officer.sync(null, null)
        val open = officer.fault(faultId)
        assertEquals("open", open.appeal)
        assertTrue(open.events.any { it.action == "appeal" && it.applied }, "${open.events}")
        assertEquals(1u, officer.myFaultMonth(mine.month).openAppeals)
        // The issuer's phone sees the server's state (nothing of hers pending).
        supervisor.sync(null, null)
        assertEquals("open", supervisor.fault(faultId).appeal)

        // One level above the issuer decides: the organisation's supervisor 赵刚, whose
        // pull does not carry the notice (it carries one's own and those one issued), so
        // the server is the judge of his decision.
        val manager = kept(Fixtures.signedInPhone(server, "manager"))
        val zhao = assertNotNull(manager.signedInPerson()).personId
        assertContains(open.deciders, zhao)
        manager.sync(null, null)
        manager.decideAppeal(faultId, AppealDecision.REDUCED, 1u, "情况属实，酌情减为1分")
        val decided = manager.sync(null, null)
        assertTrue(decided.rejections.isEmpty(), "${decided.rejections}")
        officer.sync(null, null)
        val after = officer.fault(faultId)
        assertEquals("reduced", after.appeal)
        assertEquals(1u, after.pointsNow)
        val reduced = officer.myFaultMonth(mine.month)
        assertEquals(Triple(1u, 1u, 0u), Triple(reduced.notices, reduced.points, reduced.openAppeals))
        assertTrue(officer.verifyLog() > 0uL)
    }
}
