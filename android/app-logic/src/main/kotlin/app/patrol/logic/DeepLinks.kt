// Links that open a screen: the notice link the server puts in its WeCom / DingTalk /
// e-mail messages (https://<console host>/notices/<uuid>, an Android App Link / iOS
// universal link) and the app's own scheme (patrol://notice/<uuid>). Anything else is
// refused, so a crafted link cannot reach another screen or smuggle text into a route.
// Plain Kotlin on purpose (no android.net.Uri, no java.net.URI, which decodes percent
// escapes in getPath): the activity hands the intent's data string here.
package app.patrol.logic

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** Where a link leads. [route] is the navigation route of PatrolNav. */
sealed interface DeepLink {
    val route: String

    data class Notice(val noticeId: String) : DeepLink {
        override val route: String get() = "notice/$noticeId"
    }
}

/**
 * Maps incoming URLs to screens. [hosts] are the console hosts the app answers for: the
 * host(s) in the manifest's App Link filter (a link for another host never reaches the
 * app, and is refused here too if it does).
 */
class DeepLinkRouter(hosts: Collection<String>) {
    private val hosts: Set<String> = hosts.map { it.lowercase().trimEnd('.') }.filter { it.isNotEmpty() }.toSet()

    fun route(url: String?): DeepLink? {
        if (url == null || url.isEmpty() || url.length > MAX_LENGTH) return null
        // No spaces, controls or non-ASCII anywhere: a real link has them percent-encoded,
        // and no valid notice link needs them.
        if (url.any { it <= ' ' || it.code >= 0x7f }) return null
        // Query and fragment are dropped (messengers append tracking parameters); they
        // never choose the screen.
        val bare = url.substringBefore('#').substringBefore('?')
        val sep = bare.indexOf("://")
        if (sep <= 0) return null
        val scheme = bare.substring(0, sep).lowercase()
        val rest = bare.substring(sep + 3)
        val slash = rest.indexOf('/')
        val authority = if (slash < 0) rest else rest.substring(0, slash)
        val path = if (slash < 0) "" else rest.substring(slash)
        if (authority.contains('@')) return null
        return when (scheme) {
            "https" -> {
                val host = hostOf(authority, defaultPort = "443") ?: return null
                if (host !in hosts) return null
                val parts = path.split('/')
                // "", "notices", "<id>": exactly, no trailing slash, no further segment.
                if (parts.size != 3 || parts[0] != "" || parts[1] != "notices") return null
                uuid(parts[2])?.let { DeepLink.Notice(it) }
            }
            SCHEME -> {
                if (authority.lowercase() != "notice") return null
                val parts = path.split('/')
                if (parts.size != 2 || parts[0] != "") return null
                uuid(parts[1])?.let { DeepLink.Notice(it) }
            }
            else -> null
        }
    }

    /** The lower-case host of `host[:port]`, or null if the port is not the default. */
    private fun hostOf(authority: String, defaultPort: String): String? {
        val colon = authority.lastIndexOf(':')
        val host = if (colon < 0) authority else authority.substring(0, colon)
        if (colon >= 0 && authority.substring(colon + 1) != defaultPort) return null
        if (host.isEmpty() || !host.all { it.isLetterOrDigit() || it == '-' || it == '.' }) return null
        return host.lowercase().trimEnd('.')
    }

    companion object {
        const val SCHEME = "patrol"
        private const val MAX_LENGTH = 2048
        private val UUID = Regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

        /** The canonical (lower-case) form of a UUID, or null if [s] is not one. */
        fun uuid(s: String): String? = if (UUID.matches(s)) s.lowercase() else null

        /** The app's own link to a notice. */
        fun customLink(noticeId: String): String = "$SCHEME://notice/${uuid(noticeId) ?: error("not a notice id: $noticeId")}"
    }
}

/**
 * A link that arrived before it could be followed (nobody signed in yet, or the app was
 * starting): kept until the navigation takes it, and taken once.
 */
class PendingLink {
    private val _link = MutableStateFlow<DeepLink?>(null)
    val link: StateFlow<DeepLink?> = _link.asStateFlow()

    /** A newer link replaces one not yet followed. */
    fun offer(link: DeepLink?) {
        if (link != null) _link.value = link
    }

    /** The link to follow now, or null; follows each link once. */
    fun take(signedIn: Boolean): DeepLink? {
        if (!signedIn) return null
        val l = _link.value ?: return null
        return if (_link.compareAndSet(l, null)) l else null
    }
}
