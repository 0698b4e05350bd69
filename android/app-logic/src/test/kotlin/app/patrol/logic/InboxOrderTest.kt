// The inbox order and the formats, without a server: overdue first, closed last.
package app.patrol.logic

import kotlin.test.assertEquals
import org.junit.jupiter.api.Test
import uniffi.patrol_core.NoticeView
import uniffi.patrol_protocol.NoticeAction
import uniffi.patrol_protocol.NoticeState
import uniffi.patrol_protocol.Severity

class InboxOrderTest {
    private fun notice(id: String, due: Long, overdue: Boolean, state: NoticeState, actions: List<NoticeAction>) = NoticeView(
        noticeId = id, number = null, siteId = "s", siteNameZh = "锦园", departmentId = "d", departmentNameZh = "工程部",
        checkpointId = null, checkpointNameZh = null, location = "", runId = null, description = id, severity = Severity.GENERAL,
        dueMs = due, overdue = overdue, state = state, stateZh = "", issuerId = "p", raisedMs = 0, photos = emptyList(),
        actions = emptyList(), allowedActions = actions, queued = false,
    )

    @Test
    fun `overdue notices come first, then those waiting for me by due time, closed ones last`() {
        val list = listOf(
            notice("closed", 1, false, NoticeState.CLOSED, emptyList()),
            notice("later", 300, false, NoticeState.ISSUED, listOf(NoticeAction.ACKNOWLEDGE)),
            notice("watching", 100, false, NoticeState.ACKNOWLEDGED, emptyList()),
            notice("soon", 200, false, NoticeState.ISSUED, listOf(NoticeAction.ACKNOWLEDGE)),
            notice("overdue", 500, true, NoticeState.ACKNOWLEDGED, listOf(NoticeAction.REPORT_FIX)),
        )
        assertEquals(listOf("overdue", "soon", "later", "watching", "closed"), list.inbox(InboxFilter.ALL).map { it.noticeId })
        assertEquals(listOf("overdue", "soon", "later"), list.inbox(InboxFilter.TO_DO).map { it.noticeId })
        assertEquals(listOf("overdue", "soon", "later", "watching"), list.inbox(InboxFilter.OPEN).map { it.noticeId })
    }

    @Test
    fun `windows are shown in the site's time, not the phone's`() {
        val eightAmShanghai = 1_767_225_600_000L // 2026-01-01T00:00Z = 08:00 at UTC+8
        assertEquals("08:00–10:00", Formats.window(eightAmShanghai, eightAmShanghai + 7_200_000, 480))
        assertEquals("00:00–02:00", Formats.window(eightAmShanghai, eightAmShanghai + 7_200_000, 0))
        assertEquals("1.5 MB", Formats.bytes(1_572_864uL))
    }

    @Test
    fun `names follow the chosen language and fall back to Chinese`() {
        assertEquals("东门", Lang.ZH.pick("东门", "East gate"))
        assertEquals("East gate", Lang.EN.pick("东门", "East gate"))
        assertEquals("东门", Lang.EN.pick("东门", ""))
    }
}
