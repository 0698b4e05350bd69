// A notice opened from its message link on the head's phone, against the real server:
// the link arrives before the background pull has brought the notice, the router takes
// it, and the inbox model syncs once and shows it. A link to a notice that does not exist
// ends in the core's not-found error, not a crash or an empty screen.
package app.patrol.logic

import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import org.junit.jupiter.api.Test
import uniffi.patrol_core.NoticeDraft
import uniffi.patrol_protocol.DepartmentKind
import uniffi.patrol_protocol.Severity

class DeepLinkStoryTest : ServerStory() {
    @Test
    fun `a message link opens a notice the phone has not pulled yet`() {
        // The officer raises a notice to engineering and syncs it.
        val officer = kept(Fixtures.signedInPhone(server, "patrol"))
        officer.sync(null, null)
        val site = officer.sites().first()
        val eng = officer.departments(site.id).first { it.kind == DepartmentKind.ENGINEERING }
        val raised = officer.createNotice(
            NoticeDraft(
                siteId = site.id, departmentId = eng.id, checkpointId = null, location = "5号楼大堂", runId = null,
                description = "电梯按钮失灵", severity = Severity.GENERAL, dueMs = System.currentTimeMillis() + 86_400_000L,
                photos = emptyList(),
            ),
        )
        officer.sync(null, null)

        // The head's phone, signed in and synced before the notice existed.
        val headCore = kept(Fixtures.signedInPhone(server, "eng.head"))
        val head = PatrolRepository(headCore)
        val link = "${server.url}/notices/${raised.noticeId.uppercase()}?from=wecom"
        val host = server.url.substringAfter("://").substringBefore('/').substringBefore(':')
        // The test server speaks plain HTTP on a port: the router takes https links for the
        // console host, so the link is given as the server would write it behind TLS.
        val httpsLink = "https://$host/notices/${raised.noticeId.uppercase()}?from=wecom"
        assertNull(DeepLinkRouter(listOf(host)).route(link), "plain http on a port is not an App Link: $link")
        val target = assertIs<DeepLink.Notice>(DeepLinkRouter(listOf(host)).route(httpsLink))
        assertEquals(raised.noticeId, target.noticeId)

        val inbox = NoticesModel(head, scope)
        inbox.open(target.noticeId).await()
        assertNull(inbox.error.value, "unexpected error: ${inbox.error.value}")
        val shown = assertNotNull(inbox.selected.value)
        assertEquals(raised.noticeId, shown.noticeId)
        assertEquals("电梯按钮失灵", shown.description)
        assertNotNull(shown.number, "numbered by the server")

        inbox.open(UUID.randomUUID().toString()).await()
        assertEquals(ErrorKind.NOT_FOUND, inbox.error.value?.kind, "${inbox.error.value}")
        assertNull(inbox.selected.value)
    }
}
