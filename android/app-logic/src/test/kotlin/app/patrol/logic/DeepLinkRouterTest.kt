// The link router over a generated table: every good notice link (both forms, any case
// of host and id, default port, appended query) opens that notice; every mutation of one
// (wrong host or scheme, userinfo, other port, extra or missing path, malformed id)
// opens nothing. No server, no core.
package app.patrol.logic

import java.util.UUID
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test

class DeepLinkRouterTest {
    private val host = "patrol.jade-garden.cn"
    private val router = DeepLinkRouter(listOf(host, "Console.Example.COM."))

    private fun ids(rng: Random, n: Int) = List(n) { UUID(rng.nextLong(), rng.nextLong()).toString() }

    /** (url, the notice id it must open). */
    private fun goodLinks(rng: Random): List<Pair<String, String>> = ids(rng, 40).flatMap { id ->
        val upper = id.uppercase()
        listOf(
            "https://$host/notices/$id" to id,
            "https://${host.uppercase()}/notices/$id" to id,
            "HTTPS://$host/notices/$upper" to id,
            "https://$host:443/notices/$id" to id,
            "https://$host./notices/$id" to id,
            "https://$host/notices/$id?from=wecom&share=1" to id,
            "https://$host/notices/$id#top" to id,
            "https://console.example.com/notices/$id" to id,
            "patrol://notice/$id" to id,
            "PATROL://NOTICE/$upper" to id,
            "patrol://notice/$id?x=1" to id,
            DeepLinkRouter.customLink(upper) to id,
        )
    }

    private fun badLinks(rng: Random): List<String> = ids(rng, 20).flatMap { id ->
        val cut = id.dropLast(1)
        listOf(
            // hosts that are not ours, or only look like it
            "https://evil.cn/notices/$id",
            "https://$host.evil.cn/notices/$id",
            "https://m.$host/notices/$id",
            "https://patrol-jade-garden.cn/notices/$id",
            "https://$host@evil.cn/notices/$id",
            "https://evil.cn@$host/notices/$id",
            "https://user:pw@$host/notices/$id",
            "https://$host:8443/notices/$id",
            "https://$host:/notices/$id",
            "https:///notices/$id",
            "https://$host%2eevil.cn/notices/$id",
            // schemes
            "http://$host/notices/$id",
            "ftp://$host/notices/$id",
            "javascript://$host/notices/$id",
            "intent://$host/notices/$id",
            "//$host/notices/$id",
            "$host/notices/$id",
            "patrol:notice/$id",
            "patrol:/notice/$id",
            // paths
            "https://$host/notices/$id/",
            "https://$host/notices/$id/actions",
            "https://$host/notices/$id/notice.pdf",
            "https://$host//notices/$id",
            "https://$host/notices//$id",
            "https://$host/api/v1/notices/$id",
            "https://$host/notice/$id",
            "https://$host/Notices/$id",
            "https://$host/notices/",
            "https://$host/notices",
            "https://$host/",
            "https://$host",
            "https://$host/notices/../runs/$id",
            "patrol://notices/$id",
            "patrol://notice/$id/",
            "patrol://notice/$id/edit",
            "patrol://notice//$id",
            "patrol://run/$id",
            "patrol://notice",
            "patrol://evil.cn/notice/$id",
            "patrol://user@notice/$id",
            "patrol://notice:80/$id",
            // ids
            "https://$host/notices/$cut",
            "https://$host/notices/${id}0",
            "https://$host/notices/${id.replace("-", "")}",
            "https://$host/notices/{$id}",
            "https://$host/notices/${id.replaceRange(0, 1, "g")}",
            "https://$host/notices/${id.replace("-", "%2D")}",
            "https://$host/notices/%20$id",
            "https://$host/notices/new",
            "https://$host/notices/${id.replaceFirst("-", "_")}",
            "patrol://notice/$cut",
            "patrol://notice/new",
            // whitespace, controls, non-ASCII
            " https://$host/notices/$id",
            "https://$host/notices/$id ",
            "https://$host/notices/$id\n",
            "https://$host/notices/\u0000$id",
            "https://巡检.cn/notices/$id",
            "https://$host/notices/${id.replaceRange(1, 2, "а")}", // Cyrillic а
            "",
        )
    }

    @Test
    fun `every good notice link opens that notice, in canonical form`() {
        for (seed in 1..5) {
            val table = goodLinks(Random(seed))
            for ((url, id) in table) {
                val link = router.route(url)
                assertEquals(DeepLink.Notice(id), link, url)
                assertEquals("notice/$id", link!!.route, url)
            }
        }
    }

    @Test
    fun `every mutation of a good link opens nothing`() {
        var checked = 0
        for (seed in 1..5) {
            for (url in badLinks(Random(seed))) {
                assertNull(router.route(url), "refused: ${url.replace("\n", "\\n").replace("\u0000", "\\0")}")
                checked++
            }
        }
        assertNull(router.route(null))
        assertNull(router.route("https://$host/notices/" + "a".repeat(3000)))
        assertTrue(checked > 1000, "$checked bad links checked")
    }

    @Test
    fun `a router for no host takes only the app's own scheme`() {
        val id = UUID.randomUUID().toString()
        val none = DeepLinkRouter(emptyList())
        assertNull(none.route("https://$host/notices/$id"))
        assertEquals(DeepLink.Notice(id), none.route("patrol://notice/$id"))
    }

    @Test
    fun `a link that arrives before sign-in is followed once, after it`() {
        val pending = PendingLink()
        val a = DeepLink.Notice(UUID.randomUUID().toString())
        val b = DeepLink.Notice(UUID.randomUUID().toString())
        pending.offer(a)
        assertNull(pending.take(signedIn = false), "not before sign-in")
        pending.offer(null)
        pending.offer(b)
        assertEquals(b, pending.take(signedIn = true), "the newer link wins")
        assertNull(pending.take(signedIn = true), "only once")
    }
}
