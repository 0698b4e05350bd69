// The one activity: Compose content, NFC reader mode while the app is in front, the app
// lock (app-logic's AppLock, carried out by StoreKeyLock), and links that open a notice:
// the App Link https://<console host>/notices/<id> from a WeCom / DingTalk / e-mail
// message and patrol://notice/<id>, routed by app-logic's DeepLinkRouter. A FragmentActivity
// because BiometricPrompt needs one (it is a ComponentActivity too: setContent works).
package app.patrol.android

import android.content.Intent
import android.os.Bundle
import android.os.SystemClock
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.fragment.app.FragmentActivity
import app.patrol.android.platform.NfcTags
import app.patrol.android.platform.StoreKeyLock
import app.patrol.android.ui.PatrolNav
import app.patrol.android.ui.PatrolTheme
import app.patrol.logic.AppLock
import app.patrol.logic.BiometricFailure
import app.patrol.logic.DeepLinkRouter
import app.patrol.logic.Lang
import app.patrol.logic.LockScreen
import kotlinx.coroutines.flow.MutableStateFlow

class MainActivity : FragmentActivity() {
    private val app get() = application as PatrolApp
    private val lockScreen = MutableStateFlow<LockScreen>(LockScreen.Open)

    /** A prompt is up. The screen-lock prompt is an activity of its own: this one stops and
     *  starts again around it, which must neither count as time away nor ask twice. */
    private var prompting = false
    private val lang get() = if (resources.configuration.locales[0].language == "en") Lang.EN else Lang.ZH

    /** The hosts of the manifest's App Link filter (build.gradle.kts: patrol.linkHost). */
    private val router by lazy { DeepLinkRouter(listOf(getString(R.string.link_host))) }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        // Only a fresh start takes the launching intent; after a rotation it was taken already.
        if (savedInstanceState == null) app.pendingLink.offer(router.route(intent?.dataString))
        setContent {
            PatrolTheme {
                val screen by lockScreen.collectAsState()
                when (val s = screen) {
                    LockScreen.Open -> if (app.isOpen) PatrolNav(pendingLink = app.pendingLink)
                    is LockScreen.Ask -> Locked(s.text(lang), button = if (lang == Lang.EN) "Unlock" else "解锁") { unlock(s) }
                    LockScreen.KeyLost -> Locked(AppLock.keyLostText(lang), button = null) {}
                }
            }
        }
    }

    /** The activity is singleTop: a link tapped while the app runs arrives here. */
    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        setIntent(intent)
        app.pendingLink.offer(router.route(intent.dataString))
    }

    override fun onStart() {
        super.onStart()
        if (prompting) return
        val s = app.lock.cameToForeground(SystemClock.elapsedRealtime(), StoreKeyLock.deviceAuth(this))
        lockScreen.value = s
        if (s is LockScreen.Ask) unlock(s)
    }

    override fun onStop() {
        if (!prompting) app.lock.wentToBackground(SystemClock.elapsedRealtime())
        super.onStop()
    }

    override fun onResume() {
        super.onResume()
        NfcTags.enable(this)
    }

    override fun onPause() {
        NfcTags.disable(this)
        super.onPause()
    }

    private fun unlock(ask: LockScreen.Ask) {
        if (prompting) return
        prompting = true
        StoreKeyLock.unlock(this, ask.allowed, lang) { key, via, failure ->
            prompting = false
            val auth = StoreKeyLock.deviceAuth(this)
            if (key == null || via == null) {
                val next = app.lock.failed(failure ?: BiometricFailure.CANCELLED, auth)
                lockScreen.value = next
                // "Use screen lock" on the biometric prompt: straight on to that prompt.
                if (failure == BiometricFailure.CHOSE_SCREEN_LOCK && next is LockScreen.Ask) unlock(next)
                return@unlock
            }
            app.open(key)
            if (ask.rewrapAfter && auth.biometricEnrolled) {
                StoreKeyLock.wrapUnderBiometric(this, key, lang) { ok ->
                    app.lock.unlocked(via, rewrapped = ok)
                    lockScreen.value = app.lock.screen(auth)
                }
            } else {
                app.lock.unlocked(via)
                lockScreen.value = app.lock.screen(auth)
            }
        }
    }
}

@androidx.compose.runtime.Composable
private fun Locked(text: String, button: String?, onUnlock: () -> Unit) {
    Column(
        Modifier.fillMaxSize().padding(32.dp),
        verticalArrangement = Arrangement.spacedBy(16.dp, Alignment.CenterVertically),
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        Text(text)
        if (button != null) Button(onClick = onUnlock) { Text(button) }
    }
}
