// The one activity: Compose content, and NFC reader mode while the app is in front.
package app.patrol.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import app.patrol.android.platform.NfcTags
import app.patrol.android.ui.PatrolNav
import app.patrol.android.ui.PatrolTheme

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        setContent { PatrolTheme { PatrolNav() } }
    }

    override fun onResume() {
        super.onResume()
        NfcTags.enable(this)
    }

    override fun onPause() {
        NfcTags.disable(this)
        super.onPause()
    }
}
